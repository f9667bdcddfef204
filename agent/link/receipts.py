"""The office's receipts and replay requests, applied to the gate's outbox.

A receipt (signed, like every office message) names the seq ranges the office has
committed; those events are done. A replay request asks for everything from a seq
again, after the office lost events (its database restored from an older backup):
the gate sends what it still holds and says which part retention already dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from agent.errors import Rejected
from agent.models.delivery import Receipt, ReplayAck, ReplayRequest
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
