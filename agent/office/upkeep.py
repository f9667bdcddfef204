"""What the office service does between messages: busy notices and replay requests.

- While the service works through a queue (after an outage the broker holds every
  gate's backlog for it), it tells each known gate so in an empty ``busy`` receipt: a
  gate then waits for its receipts instead of sending its whole backlog again, which
  would multiply the queue just when the office is furthest behind.
- Once idle, it compares each gate's status (``last_seq``, ``unreceived``) with what its
  store holds. A gate with nothing unconfirmed whose newest events the store lacks lost
  them on the office's side (a database restored from an older backup): the service
  asks that gate to replay from the first missing seq.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)

BUSY_NOTICE_S = 10.0  # how often a busy office says so (gates check every 30 s or more)
AUDIT_S = 30.0  # how often an idle office compares the gates' statuses with its store
REPLAY_AGAIN_S = 300.0  # before asking the same gate for the same replay again
REPLAY_TRIES = 3  # then the events are taken as gone (the gate's retention dropped them)


class AuditStore(Protocol):
    """What the upkeep asks of the office store."""

    def highest_contiguous_seq(self, site: str, gate: str) -> int: ...


@dataclass
class _Seen:
    online: bool
    last_seq: int | None
    unreceived: int | None
    asked_from: int | None = None  # the replay last asked for, when, how many times
    asked_at: float = 0.0
    tries: int = 0


class Upkeep:
    """Busy notices and replay requests; ``tick`` runs on the service's wait loop."""

    def __init__(
        self,
        store: AuditStore,
        publish: Callable[[str, str, str, dict[str, Any]], object],
        behind: Callable[[], bool],
        busy: Callable[[], bool],
        monotonic: Callable[[], float],
        audit_s: float = AUDIT_S,
    ) -> None:
        self._audit_s = audit_s
        self._store = store
        self._publish = publish  # (site, gate, topic suffix, body): signed and sent
        self._behind = behind  # a queue of messages waits: busy notices go out
        self._busy = busy  # anything at all waits or is being worked on: no audit
        self._monotonic = monotonic
        self._gates: dict[tuple[str, str], _Seen] = {}
        self._next_notice = 0.0
        self._next_audit = 0.0
        self.replays_asked = 0

    def status(self, site: str, gate: str, data: Mapping[str, Any]) -> None:
        """A gate's status arrived (the store thread)."""
        seen = self._gates.get((site, gate))
        last_seq, unreceived = data.get("last_seq"), data.get("unreceived")
        fresh = _Seen(
            online=bool(data.get("online")),
            last_seq=last_seq if isinstance(last_seq, int) else None,
            unreceived=unreceived if isinstance(unreceived, int) else None,
        )
        if seen is not None:
            fresh.asked_from, fresh.asked_at, fresh.tries = (
                seen.asked_from,
                seen.asked_at,
                seen.tries,
            )
            if not fresh.online:  # an offline status carries no counts: keep the last
                fresh.last_seq, fresh.unreceived = seen.last_seq, seen.unreceived
        self._gates[site, gate] = fresh

    def tick(self) -> None:
        now = self._monotonic()
        if self._behind() and now >= self._next_notice:
            self._next_notice = now + BUSY_NOTICE_S
            for site, gate in [k for k, v in self._gates.items() if v.online]:
                self._publish(site, gate, "receipt", {"receipt_id": _rid(), "busy": True})
        if self._busy():
            self._next_audit = max(self._next_audit, now + 2.0)  # once quiet for a moment
        elif now >= self._next_audit:
            self._next_audit = now + self._audit_s
            self.audit(now)

    def audit(self, now: float) -> None:
        """Ask every gate whose confirmed events the store lacks to send them again."""
        for (site, gate), seen in list(self._gates.items()):
            if seen.unreceived != 0 or not seen.last_seq or not seen.online:
                continue  # unconfirmed events come again by themselves
            have = self._store.highest_contiguous_seq(site, gate)
            if have >= seen.last_seq:
                continue
            start = have + 1
            if seen.asked_from == start and (
                now - seen.asked_at < REPLAY_AGAIN_S or seen.tries >= REPLAY_TRIES
            ):
                continue
            seen.tries = seen.tries + 1 if seen.asked_from == start else 1
            seen.asked_from, seen.asked_at = start, now
            log.warning(
                "office: %s/%s confirmed events up to %d but the store holds them to %d: "
                "asking for them again",
                site, gate, seen.last_seq, have,
            )  # fmt: skip
            # counted before it goes out: the replayed events can be stored (on another
            # thread) before a count made after the publish, and a reader would miss it
            self.replays_asked += 1
            self._publish(site, gate, "replay", {"request_id": _rid(), "from_seq": start})


def _rid() -> str:
    return uuid.uuid4().hex
