"""The live page's server-sent events: gate state, feed items and the alarm panel.

One stream per open live page, a coroutine on the console's event loop. Live views are
bounded per session (``PER_SESSION``: a newer page ends the oldest of that session, so
one session can never hold the others out) and in total (``MAX_STREAMS``). A stream
ends when the page goes, the session ends, the console stops, or the page could not
keep up (the browser reconnects and starts from a fresh view).
"""

from __future__ import annotations

import asyncio
import json
import queue
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool

from agent.console.auth import Session
from agent.console.panel import Stream
from agent.console.words import Gettext, door_alarm, door_words, link_words, mode_words

if TYPE_CHECKING:
    from agent.console.routes import Console

STATE_EVERY_S = 2.0
HEARTBEAT_S = 15.0
POLL_S = 0.25
PER_SESSION = 2
MAX_STREAMS = 32
BUSY = b"retry: 10000\n\n"  # too many live pages open: the page retries later


def sse(kind: str, data: Any) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def state_of(console: Console, _: Gettext) -> dict[str, Any]:
    status = console.gate.status(0)
    return {
        "mode": status.mode,
        "mode_words": _("mode %(mode)s") % {"mode": mode_words(status.mode, _)},
        "link": link_words(status.office_link, _),
        "doors": {door: door_words(d, _) for door, d in status.doors.items()},
        "alarm_doors": [door for door, d in status.doors.items() if door_alarm(d)],
        "banners": [line for banner in console.banners if (line := banner(_))],
    }


class LiveViews:
    """The open live views, by session (used from the console's event loop only)."""

    def __init__(self) -> None:
        self._by_session: dict[str, list[Stream]] = {}

    def open(self, console: Console, session: Session) -> Stream | None:
        """A new stream, ending the session's oldest past ``PER_SESSION``; None when full."""
        mine = self._by_session.setdefault(session.token, [])
        while len(mine) >= PER_SESSION:
            mine.pop(0).ended = True
        if sum(len(s) for s in self._by_session.values()) >= MAX_STREAMS:
            return None
        stream = console.desk.subscribe()
        mine.append(stream)
        return stream

    def close(self, console: Console, token: str, stream: Stream) -> None:
        console.desk.unsubscribe(stream)
        mine = self._by_session.get(token, [])
        if stream in mine:
            mine.remove(stream)
        if not mine:
            self._by_session.pop(token, None)

    def count(self) -> int:
        return sum(len(s) for s in self._by_session.values())


async def live_events(console: Console, session: Session, _: Gettext) -> AsyncIterator[bytes]:
    stream = console.views.open(console, session)
    if stream is None:
        yield BUSY
        return
    desk, clock = console.desk, console.gate.clock
    try:
        yield b"retry: 3000\n\n" + sse("panel", desk.panel(_))
        last_state: dict[str, Any] | None = None
        next_state = heartbeat = 0.0
        while not console.stopping.is_set() and not stream.lagging and not stream.ended:
            if console.session(session.token, touch=False) is None:
                return  # signed out, expired or revoked: the page reloads to the sign-in
            out, changed, panel = [], False, False
            while True:  # all that is waiting, in one write
                try:
                    kind, event = stream.queue.get_nowait()
                except queue.Empty:
                    break
                if kind == "feed" and event is not None:
                    out.append(sse("feed", desk.feed_item(event, _)))
                panel |= kind == "panel"
                changed = True
            if panel:
                out.append(sse("panel", desk.panel(_)))
            now = clock.monotonic()
            if changed or now >= next_state:
                state = await run_in_threadpool(state_of, console, _)
                if state != last_state:
                    out.append(sse("state", state))
                    last_state = state
                next_state = now + STATE_EVERY_S
            if now >= heartbeat:
                out.append(b": still here\n\n")  # a dead peer shows as a failed write
                heartbeat = now + HEARTBEAT_S
            if out:
                yield b"".join(out)
            if not changed:
                await asyncio.sleep(POLL_S)
    finally:
        console.views.close(console, session.token, stream)
