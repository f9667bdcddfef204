"""What the reader-driver tests share: real time, polling waits, and a started reader's reports.

Each driver's own test file keeps what is particular to it (the pty, pipe, emulator, PD or
mock pins the reader talks to); this module only starts a reader as the agent starts one
and keeps what its hooks delivered.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from agent.core.runner import Threads
from drivers.base import CardReader, Condition, ReaderHooks
from drivers.cards import CardNumber, CardRead

R = TypeVar("R", bound=CardReader)


class RealClock:
    """The machine's monotonic time, for readers whose timing the test does not steer."""

    def monotonic(self) -> float:
        return time.monotonic()


def _poll(condition: Callable[[], Any], within: float, step: float) -> Any:
    """``condition``'s first truthy value within ``within`` seconds, else None."""
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            return None
        time.sleep(step)


def wait_until(predicate: Callable[[], Any], within: float = 5.0) -> bool:
    """Whether ``predicate`` came true within ``within`` seconds (for ``assert`` or a retry)."""
    return bool(_poll(predicate, within, 0.001))


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 5.0) -> Any:
    """``condition``'s first truthy value; an AssertionError naming ``what`` on a timeout."""
    value = _poll(condition, timeout, 0.005)
    if not value:
        raise AssertionError(f"timed out waiting for {what}")
    return value


class Reports:
    """What started readers' hooks delivered: reads, health, conditions and keypad keys.

    ``on_read`` takes each read; it appends to ``reads`` unless a test passes (or later
    sets) a callback of its own, say one that fails or answers with feedback.
    """

    def __init__(self, read: Callable[[CardRead], None] | None = None, owner: str = "test") -> None:
        self.reads: list[CardRead] = []
        self.health: list[tuple[bool, str]] = []  # (ok, detail)
        self.conditions: list[tuple[Condition, bool]] = []  # (condition, active)
        self.keys: list[str] = []
        self.on_read: Callable[[CardRead], None] = read or self.reads.append
        self.threads = Threads(owner)
        self.readers: list[CardReader] = []

    def hooks(self) -> ReaderHooks:
        return ReaderHooks(
            read=lambda read: self.on_read(read),
            health=lambda ok, detail: self.health.append((ok, detail)),
            condition=lambda condition, active, _detail: self.conditions.append(
                (condition, active)
            ),
            keypad=self.keys.append,
        )

    def start(self, reader: R) -> R:
        """Start ``reader`` on these hooks and threads, as the agent starts one."""
        reader.start(self.hooks(), self.threads)
        self.readers.append(reader)
        return reader

    def cards(self) -> list[CardNumber]:
        return [read.card for read in self.reads]

    def stop(self) -> None:
        """Stop the threads, then close every reader started here."""
        self.threads.stop()
        for reader in self.readers:
            reader.close()
