"""The office's receipts and replay requests, applied to the gate's outbox.

A receipt (signed, like every office message) names the seq ranges the office has
committed; those events are done. An office that announces it is online (started, or
back on a broker that lost its session) gets everything without a receipt at once. A
replay request asks for everything from a seq again, after the office lost events (its
database restored from an older backup): the gate sends what it still holds and says
which part retention already dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from agent.errors import Rejected
from agent.models.delivery import OfficeOnline, Receipt, ReplayAck, ReplayRequest
from agent.store.eventlog import EventLog

log = logging.getLogger(__name__)


class Deliveries:
    """Receipts and replays from the office; called on the inbox worker."""

    def __init__(
        self,
        outbox: EventLog,
        received: Callable[[int, bool], None],
        resend: Callable[[], None],
    ) -> None:
        self._outbox = outbox
        self._received = received
        self._resend = resend

    def receipt(self, body: object) -> None:
        receipt = Receipt.model_validate(body)
        changed = self._outbox.mark_received(list(receipt.ranges)) if receipt.ranges else 0
        self._received(changed, receipt.busy)

    def office_online(self, body: object) -> None:
        """The office (re)started or lost its session: what it took and never committed,
        or what the broker dropped for want of it, has no receipt. Send it all now."""
        notice = OfficeOnline.model_validate(body)
        waiting = self._outbox.unreceived()
        log.info(
            "office %s is online (%s): sending %d event(s) without a receipt again",
            notice.office_id,
            notice.reason.replace("_", " "),
            waiting,
        )
        if waiting:
            self._resend()

    def replay(self, body: object) -> ReplayAck:
        request = ReplayRequest.model_validate(body)
        queued, oldest = self._outbox.reopen_from(request.from_seq)
        gone = None
        if oldest is None or oldest > request.from_seq:
            top = (oldest - 1) if oldest is not None else self._outbox.last_seq()
            gone = (request.from_seq, top) if top >= request.from_seq else None
        log.info(
            "office asked for events from seq %d again: %d queued%s",
            request.from_seq,
            queued,
            f"; {gone[0]}..{gone[1]} no longer held" if gone else "",
        )
        self._resend()
        return ReplayAck(
            request_id=request.request_id,
            ok=True,
            from_seq=request.from_seq,
            queued=queued,
            oldest_held=oldest,
            gone=gone,
        )

    @staticmethod
    def refusal(request_id: str | None, exc: Rejected) -> ReplayAck:
        return ReplayAck(request_id=request_id, ok=False, error=exc.error)
