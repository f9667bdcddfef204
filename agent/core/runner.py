"""Parts started in order and stopped in reverse, and every thread they run.

A part never creates a thread itself: it asks the runner's ``Threads`` for one, so
the runner knows every thread of the gate, tells each to stop through one event per
part, and joins them after that part's ``stop``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

log = logging.getLogger(__name__)

JOIN_S = 10.0


class Threads:
    """The threads of one part and the event that tells them to stop."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.stopping = threading.Event()
        # set by anyone with work for a thread that sleeps between rounds (the
        # housekeeping), and by ``stop`` after ``stopping``: a thread waiting on it
        # hears both
        self.wake = threading.Event()
        self._threads: list[threading.Thread] = []

    def spawn(self, name: str, target: Callable[[], None]) -> threading.Thread:
        """Start ``target`` on a new (daemon) thread that the runner will join."""
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()]
        self._threads.append(thread)
        thread.start()
        return thread

    def stop(self, timeout: float = JOIN_S) -> None:
        self.stopping.set()
        self.wake.set()
        me = threading.current_thread()
        for thread in self._threads:
            if thread is not me:
                thread.join(timeout)
                if thread.is_alive():
                    log.warning("thread %s did not stop within %.0fs", thread.name, timeout)
        self._threads = [t for t in self._threads if t.is_alive()]


class Part(Protocol):
    """Something with a lifecycle: the core loop, the devices, the office link, a socket."""

    name: str

    def start(self, threads: Threads) -> None: ...

    def stop(self) -> None: ...


class Runner:
    """Starts parts in the given order, stops the started ones in reverse."""

    def __init__(self, parts: Sequence[Part]) -> None:
        self._parts = list(parts)
        self._started: list[tuple[Part, Threads]] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start every part; if one fails, stop those already started and re-raise."""
        for part in self._parts:
            threads = Threads(part.name)
            try:
                part.start(threads)
            except BaseException:
                threads.stop()
                self.stop()
                raise
            self._started.append((part, threads))

    def stop(self) -> None:
        """Stop in reverse order; a part that fails to stop does not keep the rest running."""
        with self._lock:
            while self._started:
                part, threads = self._started.pop()
                try:
                    part.stop()
                except Exception:
                    log.exception("while stopping %s", part.name)
                threads.stop()

    @property
    def running(self) -> bool:
        return bool(self._started)
