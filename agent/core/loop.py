"""The core loop: one thread owns all gate state; everything else posts work to it.

Timers run on the injected clock's monotonic time. Tests drive a ``ManualClock``
and call ``pump()`` instead of starting the thread, so held-open timers and
lockouts are checked without sleeping.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from agent.core.clock import Clock
from agent.core.runner import Threads

log = logging.getLogger(__name__)

_WAKE = object()
T = TypeVar("T")


class Timer:
    """A pending call; ``cancel()`` before it runs and it never will."""

    __slots__ = ("args", "cancelled", "deadline", "fn")

    def __init__(self, deadline: float, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.deadline = deadline
        self.fn = fn
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class CoreLoop:
    """A work queue plus a timer heap, run by one thread (or pumped by a test)."""

    def __init__(self, clock: Clock, on_error: Callable[[BaseException, str], None]) -> None:
        self._clock = clock
        self._on_error = on_error
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._timers: list[tuple[float, int, Timer]] = []
        self._order = itertools.count()
        self._timer_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()  # replaced by the runner's event on start

    # -- any thread -------------------------------------------------------
    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        self._queue.put((fn, args))

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> Timer:
        timer = Timer(self._clock.monotonic() + delay, fn, args)
        with self._timer_lock:
            heapq.heappush(self._timers, (timer.deadline, next(self._order), timer))
        self._queue.put(_WAKE)
        return timer

    def run_sync(self, fn: Callable[..., T], *args: Any, timeout: float = 5.0, **kwargs: Any) -> T:
        """Run ``fn`` on the loop and return its result (runs inline if not threaded)."""
        if kwargs:
            fn = functools.partial(fn, **kwargs)
        if self._thread is None or threading.current_thread() is self._thread:
            self.pump()
            return fn(*args)
        future: Future[T] = Future()

        def call() -> None:
            try:
                future.set_result(fn(*args))
            except BaseException as exc:
                future.set_exception(exc)

        self.post(call)
        return future.result(timeout)

    def start(self, threads: Threads) -> None:
        """Run the loop on a thread of the runner's until ``threads.stopping`` is set."""
        self._stopping = threads.stopping
        self._thread = threads.spawn("gate-core", self._run)

    def stop(self, timeout: float = 5.0) -> None:
        """Finish the call in hand and end the thread; later calls run inline."""
        self._stopping.set()
        self._queue.put(_WAKE)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._thread = None

    # -- loop thread ------------------------------------------------------
    def pump(self) -> int:
        """Run everything queued and every timer due now; returns how many calls ran."""
        ran = 0
        while True:
            ran += self._run_due()
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return ran
            if item is not _WAKE:
                self._call(*item)
                ran += 1

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._run_due()
            try:
                item = self._queue.get(timeout=self._wait_time())
            except queue.Empty:
                continue
            if item is not _WAKE:
                self._call(*item)

    def _wait_time(self) -> float:
        with self._timer_lock:
            if not self._timers:
                return 1.0
            return min(1.0, max(0.0, self._timers[0][0] - self._clock.monotonic()))

    def _run_due(self) -> int:
        ran = 0
        while True:
            with self._timer_lock:
                if not self._timers or self._timers[0][0] > self._clock.monotonic():
                    return ran
                _, _, timer = heapq.heappop(self._timers)
            if not timer.cancelled:
                self._call(timer.fn, timer.args)
                ran += 1

    def _call(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            fn(*args)
        except Exception as exc:
            # the handler logs: only it knows which faults are expected (a full disk)
            self._on_error(exc, str(getattr(fn, "__qualname__", fn)))
