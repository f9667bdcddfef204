"""Reader lanes: each reader's reads and scans wait in a queue of their own, served in
turn.

One serial scanner sending thousands of lines must not hold up a card at another door. A
reader's lane holds at most ``LANE_DEPTH`` items; what comes while it is full is
dropped, counted, and reported as a ``reader_flood`` alarm (at most once a minute per
reader, with the drops of its first second and any since the last alarm). A lane with
work has exactly one token on the core loop; serving a token takes one item from that
lane and puts the token back at the end of the loop's queue, so every reader with work
is served once per round and a card read waits behind at most one item of each other
reader. Tokens queued together are gathered into one call, so card reads from several
readers still share one commit.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from agent.core.clock import Clock
from agent.core.kinds import EventType
from agent.core.loop import CoreLoop
from drivers.base import Scan
from drivers.cards import CardRead

LANE_DEPTH = 16  # items one reader may have waiting; a person never gets near it
FLOOD_REPORT_S = 60.0  # one reader_flood alarm a minute per reader at most
FLOOD_COUNT_S = 1.0  # drops counted this long before the alarm goes

ReadsHandler = Callable[[list[CardRead], Callable[[], list[CardRead]]], object]


@dataclass
class _Lane:
    """One reader's waiting items and what it has dropped since its last report."""

    items: deque[CardRead | Scan] = field(default_factory=deque)
    queued: bool = False  # its token is on the core loop
    accepted: int = 0  # items ever taken in (for ``settle``)
    served: int = 0  # items ever handed on
    dropped: int = 0  # since the last report
    reported_at: float | None = None


class ReaderLanes:
    """The bounded, fairly served queues between the readers' threads and the core loop."""

    def __init__(
        self,
        loop: CoreLoop,
        clock: Clock,
        places: dict[str, str],  # reader -> door
        emit: Callable[..., object],
        depth: int = LANE_DEPTH,
    ) -> None:
        self._loop = loop
        self._clock = clock
        self._places = places
        self._emit = emit
        self._depth = depth
        self._lock = threading.Lock()
        self._lanes = {name: _Lane() for name in places}
        self.on_reads: ReadsHandler | None = None
        self.on_scan: Callable[[Scan], object] | None = None

    # -- any thread (the readers') --------------------------------------------------
    def put(self, name: str, item: CardRead | Scan) -> None:
        """Queue one read or scan from reader ``name``; dropped if its lane is full."""
        report = False
        with self._lock:
            lane = self._lanes[name]
            if len(lane.items) >= self._depth:
                lane.dropped += 1
                now = self._clock.monotonic()
                if lane.reported_at is None or now - lane.reported_at >= FLOOD_REPORT_S:
                    lane.reported_at, report = now, True
            else:
                lane.items.append(item)
                lane.accepted += 1
                if not lane.queued:
                    lane.queued = True
                    self._loop.post_batch(self._serve, name)
        if report:  # counted for a second first, so the alarm says how hard it floods
            self._loop.post(self._loop.call_later, FLOOD_COUNT_S, self._flooded, name)

    def marks(self) -> dict[str, int]:
        """How many items each lane has taken in so far."""
        with self._lock:
            return {name: lane.accepted for name, lane in self._lanes.items()}

    def passed(self, marks: dict[str, int]) -> bool:
        """Whether every item counted in ``marks`` has been handed on."""
        with self._lock:
            return all(self._lanes[name].served >= n for name, n in marks.items())

    # -- core loop ------------------------------------------------------------------
    def _serve(self, names: list[str]) -> None:
        """One item from each lane named: reads together (one commit), then scans."""
        scans: list[Scan] = []
        taken: list[str] = []  # the lane of each item taken
        reads = self._take(names, scans, taken)
        try:
            if reads and self.on_reads is not None:
                # lanes whose tokens came meanwhile join the commit in progress
                self.on_reads(reads, lambda: self._take(self._loop.more(), scans, taken))
        finally:
            try:
                for scan in scans:
                    if self.on_scan is not None:
                        self._loop_call(self.on_scan, scan)
            finally:
                self._served(taken)

    def _served(self, taken: list[str]) -> None:
        """Count what was handed on (only now: ``settle`` waits for it), and put the
        token of each lane with more to do at the back of the queue: the others go first."""
        with self._lock:
            for name in taken:
                lane = self._lanes[name]
                lane.served += 1
                if lane.items:
                    self._loop.post_batch(self._serve, name)
                else:
                    lane.queued = False

    def _take(self, names: Iterable[str], scans: list[Scan], taken: list[str]) -> list[CardRead]:
        """The next item of each lane named; their tokens stay out until ``_served``."""
        reads: list[CardRead] = []
        with self._lock:
            for name in names:
                lane = self._lanes[name]
                if not lane.items:
                    lane.queued = False
                    continue
                item = lane.items.popleft()
                taken.append(name)
                if isinstance(item, Scan):
                    scans.append(item)
                else:
                    reads.append(item)
        return reads

    def _loop_call(self, fn: Callable[[Any], object], arg: Any) -> None:
        """One scan's fault is the loop's to log, and must not cost the scans after it."""
        try:
            fn(arg)
        except Exception as exc:
            self._loop.report(exc, str(getattr(fn, "__qualname__", fn)))

    def _flooded(self, name: str) -> None:
        with self._lock:
            dropped, self._lanes[name].dropped = self._lanes[name].dropped, 0
        self._emit(
            EventType.READER_FLOOD,
            self._places[name],
            reader=name,
            dropped=dropped,
            queue=self._depth,
        )
