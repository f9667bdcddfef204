"""Short-code guessing: wrong short codes from one source earn it growing delays.

A short code is short enough to guess: a scanner fed a list, or someone at the console
typing, could try hundreds a second. Each source (a scanner, a guard) may get a few
wrong before it has to wait; each wrong one after that doubles the wait, up to a
ceiling, and a right one (or a long quiet spell) starts it over. Pure: times are the
caller's monotonic seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

FREE_MISSES = 3  # wrong short codes a source may type before it waits
FIRST_WAIT_S = 1.0
MAX_WAIT_S = 60.0
FORGET_S = 600.0  # a source quiet this long starts over
ALARM_EVERY_S = 60.0  # one pass_guessing alarm a minute per source at most


@dataclass
class _Source:
    misses: int = 0
    last_miss: float = 0.0
    blocked_until: float = 0.0
    alarmed_at: float | None = None


class GuessWatch:
    """Per source: whether it must wait, and when a miss should raise the alarm."""

    def __init__(self) -> None:
        self._sources: dict[str, _Source] = {}

    def waiting(self, source: str, now: float) -> float:
        """Seconds ``source`` must still wait before its next short code is looked up."""
        state = self._sources.get(source)
        return max(0.0, state.blocked_until - now) if state else 0.0

    def missed(self, source: str, now: float) -> bool:
        """Count a wrong short code; True when it should raise the alarm now."""
        state = self._sources.get(source)
        if state is None or now - state.last_miss > FORGET_S:
            state = self._sources[source] = _Source()
        state.misses += 1
        state.last_miss = now
        over = state.misses - FREE_MISSES
        if over <= 0:
            return False
        state.blocked_until = now + min(MAX_WAIT_S, FIRST_WAIT_S * 2 ** (over - 1))
        if state.alarmed_at is None or now - state.alarmed_at >= ALARM_EVERY_S:
            state.alarmed_at = now
            return True
        return False

    def misses(self, source: str) -> int:
        state = self._sources.get(source)
        return state.misses if state else 0

    def matched(self, source: str) -> None:
        """A right short code: the source starts over."""
        self._sources.pop(source, None)

    def prune(self, now: float) -> None:
        """Forget sources quiet for ``FORGET_S`` (bounded memory)."""
        for source in [s for s, st in self._sources.items() if now - st.last_miss > FORGET_S]:
            del self._sources[source]
