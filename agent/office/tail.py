"""``gate-office events tail``: print and store events, each once, until told to stop.

Ctrl-C is how a person stops it (exit 0, with the count); a reader that goes away
(``| head``) ends it quietly too. The session is described in ``places``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.errors import ConfigError
from agent.office import options
from agent.office.client import OfficeLink
from agent.office.db import is_postgres
from agent.office.places import session_lock, tail_client_id
from agent.office.store import OfficeStore

SHOWN_MAX = 100_000  # ids a live-only run remembers (a few MB)


def event_line(event: dict[str, Any]) -> str:
    d = event.get("details", {})
    return (
        f"{event['site']}/{event['gate']} #{event['seq']} "
        f"{event['time'][:19]} {event['type']} {event.get('door') or ''} "
        f"{d.get('card', '')} {d.get('holder_id') or ''} {d.get('reason', '')}"
    )


def _client(args: argparse.Namespace, pattern: str, stack: ExitStack) -> tuple[str, bool]:
    """(client id, persistent) for this run, holding the id's lock while it lasts."""
    db = options.database(args)
    identity = db if is_postgres(db) else str(Path(db).resolve())
    client_id = args.client_id or tail_client_id(pattern, identity)
    if stack.enter_context(session_lock(client_id)):
        return client_id, True
    if args.client_id:
        raise ConfigError(f"another events tail on this computer uses client id {client_id}")
    return f"gate-office-{uuid.uuid4().hex[:11]}", False


@dataclass
class Progress:
    """Events new to this run so far (kept when Ctrl-C ends the loop)."""

    new: int = 0
    # a live-only run stores nothing (the persistent session does): it remembers what it
    # showed, so a repeat delivery is not shown twice
    shown: dict[str, None] | None = None


def _is_new(event: dict[str, Any], store: OfficeStore, done: Progress) -> bool:
    if done.shown is None:
        return store.add_event(event)
    if event.get("id") in done.shown:
        return False
    done.shown[str(event.get("id"))] = None
    if len(done.shown) > SHOWN_MAX:
        del done.shown[next(iter(done.shown))]
    return True


def _follow(
    args: argparse.Namespace, link: OfficeLink, pattern: str, store: OfficeStore, done: Progress
) -> None:
    while args.count is None or done.new < args.count:
        message = link.expect(pattern, timeout=args.idle)
        if message is None:
            return
        # the backlog comes several to a message: {"events": [...]}
        for event in message.get("events", [message]):
            if _is_new(event, store, done):
                done.new += 1
                print(json.dumps(event) if args.json else event_line(event), flush=True)


def cmd_events_tail(args: argparse.Namespace) -> int:
    pattern = f"{args.prefix}/{args.site or '+'}/{args.gate or '+'}/events"
    store = options.store(args)
    done = Progress()
    with ExitStack() as stack:
        client_id, persistent = _client(args, pattern, stack)
        done.shown = None if persistent else {}
        link = stack.enter_context(
            options.link(args, [pattern], signed=False, client_id=client_id, clean=not persistent)
        )
        note = (
            "persistent session: the broker keeps events for it while it is away"
            if persistent
            else "live only, stores nothing: another events tail on this computer holds "
            "this database's session; --client-id gives one of its own"
        )
        print(f"events tail: {pattern} as {client_id} ({note}); Ctrl-C ends", file=sys.stderr,
              flush=True)  # fmt: skip
        try:
            _follow(args, link, pattern, store, done)
        except KeyboardInterrupt:
            pass  # how a person ends it
        except BrokenPipeError:  # the reader of our output went away: nothing more to say
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    store.close()
    where = options.database(args)
    if done.shown is None:
        print(f"{done.new} new event(s) stored in {where}", file=sys.stderr)
    else:
        print(f"{done.new} event(s) shown; {where} is the other tail's to store", file=sys.stderr)
    return 0
