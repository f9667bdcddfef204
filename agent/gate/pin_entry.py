"""Card plus PIN at the gate (issue 21): the wait for a PIN after a card, its check off
the core loop, wrong-PIN lockouts and the silent duress alarm.

A card at a PIN door that would otherwise be granted is not decided yet (the engine
says ``pin_required``): the door's reader's keypad has ``[pin] timeout_s`` for the PIN.
``#`` ends it (or ``max_digits`` reached), ``*`` clears. The PIN is checked against the
holder's scrypt hash on the verifier's thread (a thread of the runner's; ``hashlib.scrypt``
lets go of the GIL, so other doors are decided meanwhile); the result comes back to the
core loop and the read is decided again with it, through the ordinary read path: its
event durable before the relay moves. Digits live only in the buffer and the verifier's
queue: no event, log line or exception carries them.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from agent.core.clock import Clock
from agent.core.decision import Decision
from agent.core.kinds import EventType
from agent.core.loop import CoreLoop, Timer
from agent.core.pin import CLEAR, DIGITS, ENTER, KeyVerdict, PinBuffer, PinResult
from agent.core.runner import Threads
from agent.models.config import GateConfig
from agent.store.pins import verify_pin
from drivers.cards import CardRead

log = logging.getLogger(__name__)

NICE = 10  # the verifier thread's scheduling priority: below the core loop's
MAX_TRACKED = 10_000  # cards with wrong PINs counted at once: the oldest go first
Done = Callable[[PinResult], None]


def check_pin(pin: str, encoded: str, duress: str) -> PinResult:
    """OK, DURESS or WRONG. With a duress rule both candidates are always hashed, so a
    duress PIN takes exactly as long as the right one."""
    matches = verify_pin(pin, encoded)
    if duress == "last_digit_plus_one":
        # the typed PIN is the duress variant of the real one if one digit down matches
        real = pin[:-1] + str((int(pin[-1]) - 1) % 10) if pin else ""
        under_duress = verify_pin(real, encoded) if real else False
        if under_duress and not matches:
            return PinResult.DURESS
    return PinResult.OK if matches else PinResult.WRONG


class PinVerifier:
    """The runner's part that hashes PINs on a thread of its own and posts each result
    to the core loop. Its thread starts with the first PIN (a gate without PIN doors, or a
    fleet simulation of many, has none); not started (tests pumping the loop), it checks
    inline."""

    name = "pin-verifier"

    def __init__(self, loop: CoreLoop) -> None:
        self._loop = loop
        self._queue: queue.SimpleQueue[tuple[str, str, str, Done] | None] = queue.SimpleQueue()
        self._threads: Threads | None = None
        self._running = False

    def start(self, threads: Threads) -> None:
        self._threads = threads

    def stop(self) -> None:
        if self._running:
            self._queue.put(None)  # the runner joins the thread after this

    def submit(self, pin: str, encoded: str, duress: str, done: Done) -> None:
        """Core loop: check ``pin`` against ``encoded``; ``done`` gets the result there."""
        if self._threads is None:
            done(check_pin(pin, encoded, duress))
            return
        if not self._running:
            self._running = True
            self._threads.spawn("gate-pin", self._run)
        self._queue.put((pin, encoded, duress, done))

    def _run(self) -> None:
        # Linux: a thread's own nice value. A core given to scrypt must not keep the
        # core loop (any door's card) waiting for the scheduler's next turn
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)
        while True:
            item = self._queue.get()
            if item is None:
                return
            pin, encoded, duress, done = item
            del item
            try:
                result = check_pin(pin, encoded, duress)
            except Exception as exc:  # never the PIN in a message: only the kind of fault
                log.error("PIN check failed: %s", type(exc).__name__)
                result = PinResult.WRONG
            del pin
            self._loop.post(done, result)


@dataclass
class _Waiting:
    """A card waiting for its PIN on one reader."""

    read: CardRead
    credential: str
    door: str
    pin_hash: str
    buffer: PinBuffer
    token: int
    timer: Timer | None = None


@dataclass
class _Stray:
    """Keys typed on a PIN door's reader with no card waiting."""

    keys: int = 0
    timer: Timer | None = None


@dataclass
class _Counts:
    wrong: dict[str, int] = field(default_factory=dict)  # credential -> wrong PINs in a row
    locked_until: dict[str, float] = field(default_factory=dict)  # credential -> monotonic


class PinDesk:
    """Runs on the core loop: waits, keys, results, lockouts and the duress alarm."""

    def __init__(
        self,
        config: GateConfig,
        *,
        loop: CoreLoop,
        clock: Clock,
        emit: Callable[..., object],
        reader_door: dict[str, str],
        verifier: PinVerifier,
    ) -> None:
        self._loop = loop
        self._clock = clock
        self._emit = emit
        self._reader_door = reader_door
        self.verifier = verifier
        self.decide: Callable[[Sequence[CardRead]], object] | None = None  # set by the App
        self._waiting: dict[str, _Waiting] = {}  # reader -> its card
        self._stray: dict[str, _Stray] = {}
        self._results: dict[tuple[str, int], PinResult] = {}
        self._counts = _Counts()
        self._tokens = itertools.count(1)
        self.stray_entries = 0  # PINs typed with no card, since start
        self.reconfigure(config)

    def reconfigure(self, config: GateConfig) -> None:
        self.settings = config.pin
        self.rules = {d.id: d.pin for d in config.doors}

    # -- what the read path asks --------------------------------------------------------
    def rule(self, door: str) -> str | None:
        return self.rules.get(door)

    def result_for(self, read: CardRead) -> PinResult | None:
        return self._results.get((read.reader, read.read_id))

    def locked(self, credential: str, mono: float) -> bool:
        until = self._counts.locked_until.get(credential)
        if until is not None and mono >= until:
            del self._counts.locked_until[credential]
            return False
        return until is not None

    def wait_for(self, read: CardRead, credential: str, door: str, pin_hash: str) -> None:
        """The engine said ``pin_required``: wait for keys on this card's reader."""
        before = self._waiting.pop(read.reader, None)
        if before is not None:
            self._cancel(before.timer)
            if before.credential != credential:  # someone else's card: the first one ends
                self._loop.post(self._finish, before, PinResult.ABANDONED)
        if read.reader in self._stray:  # keys typed before this card: with no card
            self._flush_stray(read.reader)
        token = next(self._tokens)
        waiting = _Waiting(read, credential, door, pin_hash, PinBuffer(self.settings.max_digits),
                           token)  # fmt: skip
        waiting.timer = self._loop.call_later(
            self.settings.timeout_s, self._timed_out, read.reader, token
        )
        self._waiting[read.reader] = waiting

    def settled(self, read: CardRead, decision: Decision, record: Callable[..., int],
                card: dict[str, Any], seq: int) -> None:  # fmt: skip
        """The read's final decision has been staged (``record``): the duress alarm in
        the same commit, wrong PINs counted, a lockout recorded."""
        result = self._results.pop((read.reader, read.read_id), None)
        if result is None:
            return
        door = self._reader_door[read.reader]
        now = self._clock.now()
        credential = card["credential"]
        if result is PinResult.DURESS and decision.granted:
            details = {k: card.get(k) for k in ("card", "credential", "holder_id", "kind", "unit")}
            details |= {"reader": read.reader, "direction": card.get("direction"),
                        "access_seq": seq}  # fmt: skip
            record(EventType.DURESS, door, details, now)
        if decision.granted:
            self._counts.wrong.pop(credential, None)
        elif result is PinResult.WRONG:
            self._wrong_pin(credential, door, card, record, now)

    # -- keys ---------------------------------------------------------------------------
    def keys(self, reader: str, keys: str) -> bool:
        """Keys from a reader's keypad (core loop). False: not a PIN door, the caller
        records them as before (``keypad_entry`` with their count)."""
        if self.rules.get(self._reader_door[reader]) is None and reader not in self._waiting:
            return False
        for key in keys:
            waiting = self._waiting.get(reader)
            if waiting is None:
                self._stray_key(reader, key)
            elif waiting.buffer.feed(key) is KeyVerdict.DONE:
                self._entered(waiting)
        return True

    def _entered(self, waiting: _Waiting) -> None:
        self._cancel(waiting.timer)
        del self._waiting[waiting.read.reader]
        pin = waiting.buffer.take()
        if len(pin) < self.settings.min_digits:
            self._finish(waiting, PinResult.WRONG)  # too short to be anyone's PIN
            return
        done = partial(self._finish, waiting)
        self.verifier.submit(pin, waiting.pin_hash, self.settings.duress, done)

    def _timed_out(self, reader: str, token: int) -> None:
        waiting = self._waiting.get(reader)
        if waiting is not None and waiting.token == token:
            del self._waiting[reader]
            waiting.buffer.take()
            self._finish(waiting, PinResult.TIMEOUT)

    def _finish(self, waiting: _Waiting, result: PinResult) -> None:
        """Decide the read again, now with its PIN's result."""
        read = waiting.read
        self._results[(read.reader, read.read_id)] = result
        try:
            if self.decide is not None:
                self.decide([read])
        finally:
            self._results.pop((read.reader, read.read_id), None)

    def _wrong_pin(self, credential: str, door: str, card: dict[str, Any],
                   record: Callable[..., int], now: Any) -> None:  # fmt: skip
        counts = self._counts
        count = counts.wrong.pop(credential, 0) + 1  # re-inserted: newest last
        if count < self.settings.attempts:
            counts.wrong[credential] = count
            while len(counts.wrong) > MAX_TRACKED:
                del counts.wrong[next(iter(counts.wrong))]
            return
        lockout_s = self.settings.lockout_s
        counts.locked_until[credential] = self._clock.monotonic() + lockout_s
        masked = card["card"]
        details = {"card": masked, "credential": credential, "holder_id": card.get("holder_id"),
                   "attempts": count, "lockout_s": lockout_s}  # fmt: skip
        record(EventType.PIN_LOCKOUT, door, details, now)
        ended = partial(self._emit, EventType.LOCKOUT_ENDED, door, scope="pin", subject=masked)
        self._loop.call_later(lockout_s, ended)

    def _stray_key(self, reader: str, key: str) -> None:
        stray = self._stray.setdefault(reader, _Stray())
        if key in DIGITS or key == CLEAR:
            stray.keys += 1
        if key == ENTER:
            self._flush_stray(reader)
        elif stray.timer is None:
            stray.timer = self._loop.call_later(self.settings.timeout_s, self._flush_stray, reader)

    def _flush_stray(self, reader: str) -> None:
        """One ``keypad_entry`` for keys typed with no card: how many, never which."""
        stray = self._stray.pop(reader, None)
        if stray is None:
            return
        self._cancel(stray.timer)
        self.stray_entries += 1
        door = self._reader_door[reader]
        self._emit(EventType.KEYPAD_ENTRY, door, reader=reader, length=stray.keys, card=None)

    @staticmethod
    def _cancel(timer: Timer | None) -> None:
        if timer is not None:
            timer.cancel()
