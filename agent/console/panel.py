"""What the live page shows of the desk's state: open alarms, visitors waiting (each in
the guard's language), and one live page's queue of what changed."""

from __future__ import annotations

import queue
from dataclasses import dataclass
from typing import Any

from agent.console.words import ALARM_LABELS, Gettext, event_text
from agent.models.wire import Event

STREAM_QUEUE = 200


@dataclass(frozen=True)
class OpenAlarm:
    seq: int
    kind: str  # forced, held, fire, tamper, security
    door: str | None
    time: str
    event: Event  # its words are made in each guard's language

    def view(self, _: Gettext) -> dict[str, Any]:
        return {"seq": self.seq, "kind": self.kind, "label": _(ALARM_LABELS[self.kind]),
                "time": self.time, "text": event_text(self.event, _)}  # fmt: skip


@dataclass(frozen=True)
class Pending:
    """A visitor-button press waiting for a guard to fill in who came."""

    seq: int
    door: str
    time: str
    opened: bool
    at: float  # monotonic, for expiry

    def view(self, _: Gettext) -> dict[str, Any]:
        words = {"door": self.door, "time": self.time,
                 "opened": _("door opened") if self.opened else _("door shut")}  # fmt: skip
        return {"seq": self.seq, "door": self.door, "time": self.time, "opened": self.opened,
                "text": _("Visitor button at %(door)s %(time)s (%(opened)s)") % words}  # fmt: skip


class Stream:
    """One live page's queue of messages; ``lagging`` once it could not keep up, ``ended``
    when a newer page of the same session took its place."""

    def __init__(self) -> None:
        self.queue: queue.Queue[tuple[str, Event | None]] = queue.Queue(STREAM_QUEUE)
        self.lagging = False
        self.ended = False

    def put(self, kind: str, data: Event | None) -> None:
        try:
            self.queue.put_nowait((kind, data))
        except queue.Full:
            self.lagging = True  # the page reconnects and starts from a fresh view
