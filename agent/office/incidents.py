"""``gate-office incidents``: incidents reported by gate consoles, from the office's store."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from agent.models.incidents import INCIDENT_TYPES, Incident, fold_incidents
from agent.office.db import open_store
from agent.office.options import database
from agent.office.zone import local_text, offset_of, site_zone

ORDER = {"open": 0, "acknowledged": 1, "closed": 2}
MAX_EVENTS = 100_000


def incidents(args: argparse.Namespace) -> list[Incident]:
    """Every incident of the gates asked for (all by default), live ones first."""
    store = open_store(database(args))
    try:
        events = store.query_events(site=args.site, gate=args.gate, types=list(INCIDENT_TYPES),
                                    limit=MAX_EVENTS)  # fmt: skip
    finally:
        store.close()
    folded = fold_incidents(events).values()
    chosen = [i for i in folded if not args.status or i.status in args.status]
    chosen.sort(key=lambda i: i.opened_at, reverse=True)
    return sorted(chosen, key=lambda i: ORDER.get(i.status, 3))


def cmd_incidents(args: argparse.Namespace) -> int:
    found = incidents(args)
    if args.json:
        print(json.dumps([asdict(i) for i in found], default=str, indent=1))
        return 0
    if not found:
        print("no incidents")
        return 0
    zone = site_zone(args.timezone)
    for i in found:
        # the guard typed the police's time (HH:MM) on the site's clock: its offset is shown
        at = f"{i.police_called_at}{offset_of(i.opened_at, zone)}" if i.police_called_at else ""
        police = f"police called {at}".rstrip() if i.police_called else ""
        print(f"{i.status.upper():13} {i.site}/{i.gate} {i.id} {i.kind:10} opened "
              f"{local_text(i.opened_at, zone, 'minutes')} by {i.opened_by} "
              f"door {i.door or '-'} {police}".rstrip())  # fmt: skip
        for note in i.notes:
            text = f": {note.text}" if note.text else ""
            print(f"    {local_text(note.time, zone, 'minutes')} {note.what} by {note.guard}"
                  f"{text}")  # fmt: skip
    return 0
