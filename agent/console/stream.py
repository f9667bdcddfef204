"""The live page's server-sent events: gate state, feed items and the alarm panel.

One stream per open live page, on its own runner thread (at most ``MAX_STREAMS``).
It ends when the page goes, the session ends, the console stops, or the page could
not keep up (the browser reconnects and starts from a fresh view).
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agent.console.auth import Session
from agent.console.web import Writer
from agent.console.words import door_words, link_words

if TYPE_CHECKING:
    from agent.console.routes import Console

STATE_EVERY_S = 2.0
HEARTBEAT_S = 15.0
WAIT_S = 0.5


def sse(kind: str, data: Any) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def state_of(console: Console) -> dict[str, Any]:
    status = console.gate.status(0)
    return {
        "mode": status.mode,
        "link": link_words(status.office_link),
        "doors": {door: door_words(d) for door, d in status.doors.items()},
    }


def live_stream(console: Console, session: Session) -> Callable[[Writer, threading.Event], None]:
    def run(write: Writer, stopping: threading.Event) -> None:
        desk, clock = console.desk, console.gate.clock
        stream = desk.subscribe()
        try:
            write(b"retry: 3000\n\n" + sse("panel", desk.panel()))
            last_state: dict[str, Any] | None = None
            next_state = heartbeat = 0.0
            while not stopping.is_set() and not stream.lagging:
                if console.sessions.get(session.token) is None:
                    return  # signed out or expired: the page reloads to the sign-in
                changed = False
                try:
                    kind, data = stream.queue.get(timeout=WAIT_S)
                    while True:  # all that is waiting, in one write
                        if kind != "tick":
                            write(sse(kind, data))
                        changed = True
                        kind, data = stream.queue.get_nowait()
                except queue.Empty:
                    pass
                now = clock.monotonic()
                if changed or now >= next_state:
                    state = state_of(console)
                    if state != last_state:
                        write(sse("state", state))
                        last_state = state
                    next_state = now + STATE_EVERY_S
                if now >= heartbeat:
                    write(b": still here\n\n")  # a dead peer shows as a failed write
                    heartbeat = now + HEARTBEAT_S
        finally:
            desk.unsubscribe(stream)

    return run
