"""``gate-office plain-cards``: who still uses a plain card where a secure one is wanted.

During a migration to secure cards (a door or holder with ``credential =
"secure_preferred"``) a gate admits plain cards and records ``plain_card_used`` with
the holder's id, never a card number. This report counts those events per holder, so
the office knows whose cards are still to be exchanged before the door turns secure.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from agent.office.db import open_store
from agent.office.options import database
from agent.office.zone import local_text, site_zone

PLAIN_CARD_USED = "plain_card_used"


@dataclass
class PlainCardHolder:
    """One holder's plain-card uses in the report's span."""

    holder_id: str
    unit: str | None
    uses: int = 0
    last: datetime | None = None
    doors: list[str] = field(default_factory=list)  # site/gate/door, as first seen


def plain_card_holders(events: Iterable[dict[str, Any]]) -> list[PlainCardHolder]:
    """Per holder, most uses first (then by id), from ``plain_card_used`` events."""
    found: dict[str, PlainCardHolder] = {}
    for event in events:
        if event.get("type") != PLAIN_CARD_USED:
            continue
        details = event.get("details") or {}
        holder = str(details.get("holder_id") or "?")
        row = found.setdefault(holder, PlainCardHolder(holder, details.get("unit")))
        row.uses += 1
        when = event.get("time")
        if isinstance(when, datetime) and (row.last is None or when > row.last):
            row.last = when
        where = f"{event.get('site')}/{event.get('gate')}/{event.get('door') or '-'}"
        if where not in row.doors:
            row.doors.append(where)
    return sorted(found.values(), key=lambda r: (-r.uses, r.holder_id))


def cmd_plain_cards(args: argparse.Namespace) -> int:
    store = open_store(database(args))
    try:
        events = store.query_events(
            site=args.site, gate=args.gate, types=[PLAIN_CARD_USED], since=args.since, limit=None
        )
    finally:
        store.close()
    holders = plain_card_holders(events)
    if args.json:
        print(json.dumps([asdict(h) for h in holders], default=str, indent=1))
        return 0
    if not holders:
        print("no plain cards used where a secure card is wanted")
        return 0
    zone = site_zone(args.timezone)
    print(f"{'holder':16} {'unit':10} {'uses':>5}  {'last used':25} doors")
    for h in holders:
        print(
            f"{h.holder_id:16} {h.unit or '-':10} {h.uses:>5}  "
            f"{local_text(h.last, zone):25} {', '.join(h.doors)}"
        )
    return 0
