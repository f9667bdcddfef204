"""Other gates' moves, merged into this gate's presence on the core loop.

The office link hands over what the office relayed; the records go into the same table
as the gate's own moves, by the same last-writer-wins rule (in SQL), inside a journal
group: durable with one fsync, and never interleaved with a card's decision. The relay
revision merged is written in that same commit, so after a crash the gate asks again
from exactly what it holds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from agent.core.loop import CoreLoop
from agent.core.presence import Presence
from agent.gate.journal import Journal
from agent.gate.presence import PresenceKeeper


class PresenceMerge:
    """The link's way into the gate's presence; every method is safe from any thread."""

    def __init__(self, loop: CoreLoop, journal: Journal, keeper: PresenceKeeper) -> None:
        self._loop = loop
        self._journal = journal
        self.keeper = keeper
        self._cut_off = False
        keeper.partitioned = lambda: self._cut_off
        # called on the core loop after each merge's commit with the records that won
        # (a bench's propagation clock, occupancy's refresh)
        self.listeners: list[Callable[[list[Presence]], None]] = []

    def revision(self) -> tuple[str | None, int]:
        """The (epoch, revision) of the office relay merged so far."""
        return self._loop.run_sync(self.keeper.store.revision)

    def merge(
        self,
        moves: Sequence[Presence],
        forget: Sequence[str] = (),
        revision: tuple[str, int] | None = None,
    ) -> int:
        """Forget ``forget``, then merge ``moves`` (and record ``revision``); how many won."""
        return self._loop.run_sync(self._merge, list(moves), list(forget), revision)

    def _merge(
        self, moves: list[Presence], forget: list[str], revision: tuple[str, int] | None
    ) -> int:
        store = self.keeper.store
        with self._journal.group():
            forgot = store.forget_holders(forget) if forget else 0
            won = store.put_all(moves)
            if revision is not None:
                store.set_revision(*revision)
        if won or forgot:
            self.keeper.changed()  # many holders at once: occupancy counts again
        for listener in self.listeners:
            listener(won)
        return len(won)

    def all(self) -> list[Presence]:
        """Every record this gate holds (for comparisons across gates)."""
        return self._loop.run_sync(self.keeper.store.all)

    @property
    def partitioned(self) -> bool:
        return self._cut_off

    def set_partitioned(self, cut_off: bool) -> None:
        """The link says whether this gate is cut off from the others (read by verdicts)."""
        self._cut_off = cut_off
