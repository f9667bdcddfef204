"""Holders' units from the live allow-list, for a muster's list.

A presence record carries a holder's kind but not their unit, and the allow-list is
indexed by credential only. A muster asks once, at its start, for everybody inside:
one pass over the list on a connection of its own (measured in
``bench/muster_units.py``), so the decision path's connection and its lock are not held
for it, and no list build pays for a holder index that only this rare call would use.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from agent.errors import StorageFault
from agent.store.catalog_reader import CatalogReader

_UNITS = (
    "SELECT holder_id, unit FROM cur.allowlist WHERE holder_id IN (SELECT value FROM json_each(?))"
)


def holder_units(catalog: Path, holder_ids: Iterable[str]) -> dict[str, str | None]:
    """The unit of each of ``holder_ids`` on the live list (absent: not on it; a holder
    with several cards: the first that names a unit)."""
    wanted = sorted(set(holder_ids))
    if not wanted:
        return {}
    try:
        reader = CatalogReader(catalog, 2 * 1024, 0)
    except sqlite3.Error as exc:
        raise StorageFault(f"cannot read the allow-list: {exc}") from None
    try:
        found: dict[str, str | None] = {}
        for holder, unit in reader.conn.execute(_UNITS, (json.dumps(wanted),)):
            if found.get(holder) is None:
                found[holder] = unit
        return found
    except sqlite3.Error as exc:
        raise StorageFault(f"cannot read the allow-list: {exc}") from None
    finally:
        reader.close()
