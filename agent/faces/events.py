"""``gate-agent events``: the local event log, newest last, and ``--follow`` for new ones.

Following polls the event log by ``seq`` (it works whether or not the agent runs, and
sees events written by any process). It ends on Ctrl-C, and when whoever reads its
output goes away (``| head``), even while no event arrives.
"""

from __future__ import annotations

import argparse
import difflib
import json
import select
import sys
import time
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from agent.core.kinds import EventType
from agent.errors import ConfigError
from agent.faces.configs import config_of, open_stores
from agent.faces.times import local_iso, localized
from agent.models.wire import Event

FOLLOW_POLL_S = 0.25
PAGE = 500
DETAIL_KEYS = ("card", "holder_id", "reason", "count", "by")


def event_types(text: str) -> list[str]:
    """``--type a,b``: known event types only (argparse turns the error into a usage line)."""
    known = [t.value for t in EventType]
    chosen = [t.strip() for t in text.split(",") if t.strip()]
    for name in chosen:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise argparse.ArgumentTypeError(f"unknown event type {name!r}{hint}")
    return chosen


def event_line(e: dict[str, Any], zone: ZoneInfo) -> str:
    """One event as a text line; its time in the gate's zone, to the second."""
    d = e.get("details") or {}
    bits = [f"{k}={d[k]}" for k in DETAIL_KEYS if d.get(k)]
    mark = "!" if e["severity"] == "alarm" else " "
    when = local_iso(e["time"], zone, "seconds")
    line = f"{mark}#{e['seq']:<6} {when} {e['type']:<20} {e.get('door') or '':<11} "
    return (line + " ".join(bits)).rstrip()


def cmd_events(args: argparse.Namespace) -> int:
    config = config_of(args)
    zone = config.zone()
    types = [t for group in args.type or [] for t in group]
    doors = [d.id for d in config.doors]
    if args.door is not None and args.door not in doors:
        raise ConfigError(f"no door {args.door!r}; doors: {', '.join(doors)}")
    _, log = open_stores(config)
    high_water = log.last_seq()
    rows = log.matching(limit=max(args.limit, 0), types=types, door=args.door, newest=True)
    if args.json and not args.follow:
        print(json.dumps([localized(e.model_dump(), zone) for e in rows], indent=2))
        return 0
    show = _printer(zone, as_json=args.json)
    for event in rows:
        show(event)
    if not args.follow:
        return 0
    after = max([high_water, *(e.seq for e in rows)])
    try:
        while True:
            new = log.matching(after, PAGE, types, args.door)
            for event in new:
                show(event)
                after = event.seq
            if len(new) < PAGE:
                sys.stdout.flush()
                if reader_gone():
                    return 0
                time.sleep(FOLLOW_POLL_S)
    except KeyboardInterrupt:
        return 0  # Ctrl-C is how a follow ends


def _printer(zone: ZoneInfo, as_json: bool) -> Callable[[Event], None]:
    def show(event: Event) -> None:
        data = localized(event.model_dump(), zone)
        print(json.dumps(data) if as_json else event_line(data, zone))

    return show


def reader_gone() -> bool:
    """Whether stdout's reader has left (a pipe's read end closed, a terminal hung up)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):
        return False
    poller = select.poll()
    poller.register(fd, 0)  # error and hang-up are reported whatever the mask
    return any(mask & (select.POLLERR | select.POLLHUP) for _, mask in poller.poll(0))
