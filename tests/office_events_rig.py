"""A real event store (agent.office.db on SQLite) beside the workplace under test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from agent.office.db import OfficeDb, open_store


def event(
    site: str, gate: str, seq: int, when: datetime, kind: str, **extra: Any
) -> dict[str, Any]:
    """One gate event as the gate sends it (details: holder_id, card, reason, ...)."""
    door = extra.pop("door", "main")
    severity = extra.pop("severity", "info")
    return {
        "id": uuid.uuid4().hex, "site": site, "gate": gate, "seq": seq, "time": when.isoformat(),
        "type": kind, "severity": severity, "door": door, "details": extra,
    }  # fmt: skip


@contextmanager
def event_store_at(path: Path, **settings: Any) -> Iterator[OfficeDb]:
    """The store at ``path``, with the workplace's settings pointing at it meanwhile."""
    from django.test import override_settings

    store = open_store(path)
    try:
        with override_settings(GATE_OFFICE_EVENTS_DB=str(path), **settings):
            yield store
    finally:
        store.close()


def gate_with_doors(store: OfficeDb, site: str, gate: str, *doors: str, **fields: Any) -> None:
    """The gate's row as the office service keeps it: its last status names its doors."""
    status = {"online": True, "doors": {d: {"locked": True} for d in doors}}
    store.update_gate(site, gate, last_status=status, **fields)
