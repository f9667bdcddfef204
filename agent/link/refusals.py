"""Refused office messages, counted: one alarm, one log line and a few acks per interval.

A flood of forged or broken messages must not grow the outbox, the log or the
broker's traffic with it. The first refusal of each (message kind, reason) in an
interval is reported at once; the rest are counted and reported as one summary
when the interval is over.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

INTERVAL_S = 60.0
ACKS_PER_INTERVAL = 5


@dataclass
class _Tally:
    since: float
    count: int = 0  # refusals not yet reported
    acked: int = 0


class RefusalCounter:
    """Decides which refusals are reported and acked; thread-safe."""

    def __init__(
        self,
        monotonic: Callable[[], float],
        report: Callable[[str, str, int, float], None],
        interval_s: float = INTERVAL_S,
    ) -> None:
        self._monotonic = monotonic
        self._report = report  # (kind, reason, count, over seconds)
        self._interval_s = interval_s
        self._tallies: dict[tuple[str, str], _Tally] = {}
        self._lock = threading.Lock()
        self.total = 0

    def refused(self, kind: str, reason: str, detail: str) -> bool:
        """Count one refusal; True when it should get an error ack of its own."""
        now = self._monotonic()
        first = False
        with self._lock:
            self.total += 1
            tally = self._tallies.get((kind, reason))
            if tally is None:
                tally = self._tallies[(kind, reason)] = _Tally(now)
                first = True
            else:
                tally.count += 1
            ack = tally.acked < ACKS_PER_INTERVAL
            if ack:
                tally.acked += 1
        if first:
            log.warning("inbox: refused a %s message: %s", kind, detail)
            self._report(kind, reason, 1, 0.0)
        return ack

    def flush(self, force: bool = False) -> None:
        """Report what was counted in intervals that are over (all of it with ``force``)."""
        now = self._monotonic()
        due: list[tuple[str, str, int, float]] = []
        with self._lock:
            for key, tally in list(self._tallies.items()):
                if force or now - tally.since >= self._interval_s:
                    del self._tallies[key]
                    if tally.count:
                        due.append((*key, tally.count, now - tally.since))
        for kind, reason, count, over in due:
            log.warning("inbox: refused %d more %s message(s) (%s) in %.0fs", count, kind,
                        reason, over)  # fmt: skip
            self._report(kind, reason, count, over)
