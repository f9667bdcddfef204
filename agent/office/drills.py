"""Drills from the office: ``cmd drill`` (start or stop) and ``drills`` (the reports).

``gate-office cmd drill --kind fire --minutes 10`` starts one, ``--stop`` ends it early
and prints its report; ``gate-office drills`` prints each ``drill_ended`` report the
office has stored, newest first.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from agent.errors import ConfigError
from agent.models.drills import DrillCommand, drill_lines
from agent.models.problems import error_list
from agent.office.db import open_store
from agent.office.options import database
from agent.office.passes import parse_when
from agent.office.zone import local_text, site_zone


def drill_body(args: argparse.Namespace, request_id: str) -> dict[str, Any]:
    """The ``cmd/drill`` body from the flags; ConfigError (one line) when they do not fit."""
    until = parse_when("--until", args.until, datetime.now(UTC)) if args.until else None
    try:
        command = DrillCommand(request_id=request_id, kind=args.kind, minutes=args.minutes,
                               until=until, note=args.note or "", stop=args.stop)  # fmt: skip
    except ValidationError as exc:
        path, why = error_list(exc)[0]
        flag = "" if path == "(top level)" else f"--{path}: "
        raise ConfigError(f"cmd drill: {flag}{why}") from None
    return command.model_dump(mode="json", exclude_none=True, exclude_defaults=True)


def drill_ack_text(gate: str, ack: dict[str, Any]) -> str:
    """A drill's ok ack in words: the drill started, or the report of the one stopped."""
    result = ack.get("result") or {}
    if "doors" in result:  # a stop answers with the report
        return "\n".join([f"ok: drill stopped at gate {gate}", *drill_lines(result)])
    return (f"ok: {result.get('kind')} drill {result.get('id')} started at gate {gate}, "
            f"until {result.get('ends_at')}; mode {result.get('mode')}")  # fmt: skip


def cmd_drills(args: argparse.Namespace) -> int:
    """Each drill report the office holds (``drill_ended``), newest first."""
    store = open_store(database(args))
    try:
        events = store.query_events(site=args.site, gate=args.gate, types=["drill_ended"],
                                    limit=args.limit)  # fmt: skip
    finally:
        store.close()
    events.reverse()  # the store gives them newest last
    if args.json:
        print(json.dumps(events, default=str, indent=1))
        return 0
    if not events:
        print("no drills")
        return 0
    zone = site_zone(args.timezone)
    for ev in events:
        when = local_text(ev["time"], zone)
        lines = drill_lines(ev.get("details") or {})
        print(f"{ev['site']}/{ev['gate']} {when} {lines[0]}")
        for line in lines[1:]:
            print(line)
    return 0
