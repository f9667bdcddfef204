"""Office-to-gate messages about event delivery: receipts and replay requests."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field, model_validator

from agent.models.base import Strict
from agent.models.messages import MAX_VERSION
from agent.models.wire import Event

Seq = int
MAX_RANGES = 1000


class Receipt(Strict):
    """``<root>/receipt``: the office has committed these events (inclusive seq ranges).

    Only after a receipt does a gate count an event delivered; a broker's PUBACK says
    the broker has it, not the office. Receipts are idempotent and never answered.
    """

    receipt_id: str = Field(min_length=1, max_length=64)
    ranges: list[tuple[Seq, Seq]] = Field(default=[], max_length=MAX_RANGES)
    # the office is working through a queue of messages (after an outage): events with
    # no receipt yet are probably in it, so the gate waits rather than sending them again
    busy: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> Receipt:
        if not self.ranges and not self.busy:
            raise ValueError("a receipt names at least one range")
        for low, high in self.ranges:
            if not 1 <= low <= high <= MAX_VERSION:
                raise ValueError(f"range [{low}, {high}] is not 1 <= from <= to")
        return self


class ReplayRequest(Strict):
    """``<root>/replay``: the office lost events (a restored database): send from ``from_seq``."""

    request_id: str = Field(min_length=1, max_length=64)
    from_seq: Seq = Field(ge=1, le=MAX_VERSION)


class ReplayAck(Strict):
    """``<root>/replay/ack``: what the gate will send again, and what it no longer has."""

    request_id: str | None
    ok: bool
    error: str | None = None
    from_seq: Seq | None = None
    queued: int = 0
    oldest_held: Seq | None = None
    gone: tuple[Seq, Seq] | None = Field(
        None, description="seqs asked for that retention already dropped (inclusive)"
    )


class EventBatch(Strict):
    """``<root>/events`` when the backlog drains: several events in one message (live
    events go one to a message, as an ``event``). PUBACKed and receipted per event."""

    events: list[Event] = Field(min_length=1, max_length=1000)


class OfficeOnline(Strict):
    """``<prefix>/office/online`` (signed, not retained): the office service has started,
    or come back to a broker that had lost its session, and its subscriptions are in
    place. Events in flight before may be lost (taken from the broker and never
    committed, or dropped for want of a subscriber): each gate sends at once what has
    no receipt, instead of waiting for its receipt timeout."""

    office_id: str = Field(min_length=1, max_length=64, description="the service's client id")
    started: AwareDatetime = Field(description="when this office process started")
    reason: Literal["started", "session_lost"]
