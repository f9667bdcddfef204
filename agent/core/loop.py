"""The core loop: one thread owns all gate state; everything else posts work to it.

Timers run on the injected clock's monotonic time. Tests drive a ``ManualClock``
and call ``pump()`` instead of starting the thread, so held-open timers and
lockouts are checked without sleeping.

Work posted with ``post_batch`` is gathered: when the loop takes such an item, every
item for the same handler queued right behind it goes to one call, and the call may
take those queued while it runs (``more``). Card reads use it so the reads that arrive
while the loop waits on one fsync share the next one.
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
MAX_BATCH = 64  # items per gathered call: bounds how long the first of them waits


class _Gathered:
    """An item for a handler that takes a list of them."""

    __slots__ = ("fn", "item")

    def __init__(self, fn: Callable[[list[Any]], Any], item: Any) -> None:
        self.fn = fn
        self.item = item


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
        self._held: Any = None  # taken from the queue while gathering; runs next
        self._gathering: Callable[[list[Any]], Any] | None = None  # the gathered call running
        self._gathered = 0  # items it has had
        # work posted and not yet done: bulk jobs on other threads wait while there is
        # any (``wait_idle``), so a card read never queues for the GIL behind them
        self._pending = 0
        self._idle = threading.Condition(threading.Lock())

    # -- any thread -------------------------------------------------------
    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        self._begin()
        self._queue.put((fn, args))

    def post_batch(self, fn: Callable[[list[T]], Any], item: T) -> None:
        """Queue ``item`` for ``fn``, which gets it in a list with the items for ``fn``
        queued right behind it (in order, up to ``MAX_BATCH``)."""
        self._begin()
        self._queue.put(_Gathered(fn, item))

    def wait_idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until no posted work is queued or running;
        True if none is. Bulk work on another thread (a snapshot's chunks) calls this
        between its pieces: with the GIL shared, a decision that has to win it back
        from a busy thread waits a switch interval each time, several times a read."""
        if self._thread is None or threading.current_thread() is self._thread:
            return True  # pumped by a test, or the loop's own work: nothing to wait for
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def _begin(self) -> None:
        with self._idle:
            self._pending += 1

    def _done(self, count: int) -> None:
        with self._idle:
            self._pending -= count
            if self._pending <= 0:
                self._idle.notify_all()

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
                item = self._take(None)
            except queue.Empty:
                return ran
            ran += self._dispatch(item)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._run_due()
            try:
                item = self._take(self._wait_time())
            except queue.Empty:
                continue
            self._dispatch(item)

    def _take(self, timeout: float | None) -> Any:
        """The next item (raises ``queue.Empty``); ``None`` means do not wait."""
        if self._held is not None:
            item, self._held = self._held, None
            return item
        return self._queue.get_nowait() if timeout is None else self._queue.get(timeout=timeout)

    def _dispatch(self, item: Any) -> int:
        if item is _WAKE:
            return 0
        if not isinstance(item, _Gathered):
            try:
                self._call(*item)
            finally:
                self._done(1)
            return 1
        items = [item.item]
        self._gathering, self._gathered = item.fn, 1
        try:
            items += self.more()
            self._call(item.fn, (items,))
        finally:
            self._gathering = None
            self._done(len(items))
        return 1

    def more(self) -> list[Any]:
        """Inside a gathered call, on the loop thread: the items for the same handler
        queued since (up to ``MAX_BATCH`` in all), so they can join the call in progress.
        None while other work waits in front of them: it keeps its place."""
        items: list[Any] = []
        while self._gathering is not None and self._held is None:
            if self._gathered >= MAX_BATCH:
                break
            try:
                after = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(after, _Gathered) and after.fn == self._gathering:
                items.append(after.item)
                self._gathered += 1
            elif after is not _WAKE:  # a wake-up carries no work: the loop re-checks timers
                self._held = after  # runs next, before anything queued behind it
        return items

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

    def report(self, exc: BaseException, where: str) -> None:
        """A fault in work run on the loop's behalf, to the loop's error handler."""
        self._on_error(exc, where)

    def _call(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            fn(*args)
        except Exception as exc:
            # the handler logs: only it knows which faults are expected (a full disk)
            self._on_error(exc, str(getattr(fn, "__qualname__", fn)))
