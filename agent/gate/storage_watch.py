"""A failing event log (disk full, I/O error) told once, and reported once it works again.

While the log cannot be written every card is refused (no effect without its record),
and each refused read would otherwise log a traceback. This keeps it to one error
line when the fault starts and one ``agent_fault`` alarm, with how many writes
failed and since when, as soon as an event can be stored again; a timer probes for
that even when no card is shown.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from agent.core.clock import Clock
from agent.core.kinds import EventType
from agent.errors import StorageFault

log = logging.getLogger(__name__)

PROBE_INTERVAL_S = 5.0


class Scheduler(Protocol):
    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> object: ...


class StorageWatch:
    """Tracks one outage of the event log; all calls on the core loop."""

    def __init__(self, clock: Clock, loop: Scheduler, emit: Callable[..., object]) -> None:
        self._clock = clock
        self._loop = loop
        self._emit = emit
        self.since: datetime | None = None
        self.error = ""
        self.failed_writes = 0
        self._reporting = False

    @property
    def down(self) -> bool:
        return self.since is not None

    def failed(self, exc: StorageFault) -> None:
        if self._reporting:
            return  # the probe's own write: not a refused event
        self.failed_writes += 1
        if self.since is not None:
            log.debug("event log still unwritable (%d failed writes)", self.failed_writes)
            return
        self.since = self._clock.now()
        self.error = str(exc)
        log.error("%s; cards are refused until events can be stored again", exc)
        self._loop.call_later(PROBE_INTERVAL_S, self._probe)

    def stored(self) -> None:
        """An event was written: if the log was down, say it is back."""
        if self.since is not None and not self._reporting:
            self.report()

    def report(self) -> bool:
        """Record the outage as an ``agent_fault`` alarm; True once that worked."""
        assert self.since is not None
        self._reporting = True
        try:
            self._emit(
                EventType.AGENT_FAULT,
                None,
                error="StorageFault",
                message=self.error[:200],
                failed_writes=self.failed_writes,
                since=self.since.isoformat(),
            )
        except StorageFault:
            return False
        finally:
            self._reporting = False
        log.warning(
            "event log writable again after %d failed write(s) since %s",
            self.failed_writes,
            self.since.isoformat(),
        )
        self.since, self.error, self.failed_writes = None, "", 0
        return True

    def _probe(self) -> None:
        if self.since is not None and not self.report():
            self._loop.call_later(PROBE_INTERVAL_S, self._probe)
