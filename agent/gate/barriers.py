"""The gate's vehicle barriers: their loops routed, reads filtered by the arming loop,
the LED sign fed, the guard's raise recorded. Built by the App with ``BarrierDesk(app)``.

A read at a barrier whose arming loop is required and empty (a camera reading a plate
on the street, a card waved with no car) is ignored: no decision, no denial feeding a
lockout, one ``barrier_read_ignored`` event (at most one per door each
``IGNORED_EVERY_S``, carrying how many were ignored) and a count in status.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from agent.core.clock import Clock
from agent.core.door import Door, Emit
from agent.core.kinds import EventType
from agent.core.loop import CoreLoop
from agent.core.passes import PassReason
from agent.core.runner import Threads
from agent.errors import GateError
from agent.gate.barrier_door import BarrierDoor
from agent.gate.barrier_sign import CapacitySource, SignBoard, outcome_words
from agent.gate.inputs import Route
from agent.gate.lanes import ReadsHandler
from agent.gate.ports import DecisionRecord, PassOutcome
from agent.models.barrier import BarrierStatus
from agent.models.config import DoorConfig
from drivers.base import Relay
from drivers.cards import CardRead
from drivers.plates import mask_plate, normalise_plate

if TYPE_CHECKING:
    from agent.gate.app import App

log = logging.getLogger(__name__)

IGNORED_EVERY_S = 10.0


class BarrierRefused(GateError):
    """A guard's raise that cannot be done: not a barrier, or not a plate."""


def make_door(config: DoorConfig, relay: Relay, loop: CoreLoop, clock: Clock, emit: Emit) -> Door:
    """A ``Door``, or a ``BarrierDoor`` for ``kind = "barrier"``."""
    if config.kind == "barrier" and config.barrier is not None:
        return BarrierDoor(config, relay, loop, clock, emit, config.barrier.timings())
    return Door(config, relay, loop, clock, emit)


class SignPart:
    """Starts the signs' writer threads with the gate (after its devices)."""

    name = "signs"

    def __init__(self, boards: dict[str, SignBoard]) -> None:
        self.boards = boards

    def start(self, threads: Threads) -> None:
        for board in self.boards.values():
            board.sign.start(threads)

    def stop(self) -> None:
        return None  # the App closes the signs with the other devices


class BarrierDesk:
    """Every barrier of one gate; all of it runs on the core loop."""

    def __init__(self, app: App, capacity: CapacitySource | None = None) -> None:
        self._loop = app.loop
        self._clock = app.clock
        self._emit = app.emit
        self.doors = {i: d for i, d in app.doors.items() if isinstance(d, BarrierDoor)}
        self._reader_door = {r: p.door for r, p in app.reads.places.items()}
        self._learning = app.reads.learning  # an installer enrolling a card needs no car
        self._require = {
            d.id for d in app.config.doors if d.barrier is not None and d.barrier.require_arming
        }
        self.ignored = dict.fromkeys(self.doors, 0)
        self.guard_raises = dict.fromkeys(self.doors, 0)
        self._unreported = dict.fromkeys(self.doors, 0)
        self._last_report: dict[str, float] = {}
        for door_id, door in self.doors.items():
            for suffix, handler in (("loop", door.safety_loop), ("arming", door.arming_loop),
                                    ("loop_fault", door.detector_fault)):  # fmt: skip
                if f"{door_id}.{suffix}" in app.hardware.inputs:
                    app.inputs.routes[f"{door_id}.{suffix}"] = Route(handler, handler)
        self._has_arming = {d for d in self.doors if f"{d}.arming" in app.hardware.inputs}
        self.boards = {
            door_id: SignBoard(door_id, sign, spec, app.loop, capacity)
            for door_id, sign in app.hardware.signs.items()
            if (barrier := app.config.door(door_id).barrier) and (spec := barrier.sign)
        }
        if self._require and app.lanes.on_reads is not None:
            app.lanes.on_reads = self.filtered(app.lanes.on_reads)
        if self.boards:
            app.reads.listeners.append(self._decided)
            app.passes.listeners.append(self._pass_decided)  # a pass's car, or its QR
            app.add_part(SignPart(self.boards), after_devices=True)
            # free spaces from the car park's count (issue 22 item 5), kept fresh as it moves
            self.feed_capacity(capacity if capacity is not None else app.occupancy)
            app.occupancy.listeners.append(self._count_moved)

    # -- reads ------------------------------------------------------------------------
    def filtered(self, handle: ReadsHandler) -> ReadsHandler:
        """``handle`` for the reads a barrier's arming loop lets through."""

        def on_reads(reads: list[CardRead], more: Callable[[], list[CardRead]]) -> object:
            kept = [r for r in reads if self._wanted(r, self._ignore)]
            if not kept:
                return None

            def more_kept() -> list[CardRead]:  # inside the commit: report after it
                return [r for r in more() if self._wanted(r, self._ignore_later)]

            return handle(kept, more_kept)

        return on_reads

    def _wanted(self, read: CardRead, ignore: Callable[[str, CardRead], None]) -> bool:
        door = self._reader_door.get(read.reader)
        if door is None or read.reader in self._learning or self.vehicle_waiting(door):
            return True
        ignore(door, read)
        return False

    def _ignore_later(self, door: str, read: CardRead) -> None:
        self._loop.post(self._ignore, door, read)

    def _ignore(self, door: str, read: CardRead) -> None:
        self.ignored[door] += 1
        self._unreported[door] += 1
        now = self._clock.monotonic()
        if now - self._last_report.get(door, -IGNORED_EVERY_S) < IGNORED_EVERY_S:
            return  # counted; the next event carries it
        self._last_report[door] = now
        count, self._unreported[door] = self._unreported[door], 0
        self._emit(EventType.BARRIER_READ_IGNORED, door, reader=read.reader,
                   reason="no_vehicle", count=count)  # fmt: skip

    def _decided(self, record: DecisionRecord) -> None:
        self.show_outcome(record.door, record.granted, record.reason, record.kind)

    def _pass_decided(self, outcome: PassOutcome) -> None:
        # a visitor's pass (its car's plate, or its code scanned in the lane): 欢迎来访,
        # or why not; a full car park in the sign's own words
        reason = "car_park_full" if outcome.reason == PassReason.AREA_FULL else outcome.reason
        self.show_outcome(outcome.door, outcome.granted, reason, "visitor")

    def show_outcome(self, door: str, granted: bool, reason: str, kind: str | None) -> None:
        """A vehicle's outcome on ``door``'s sign, after its event's commit: card and plate
        reads (the read handler's records) and passes (the pass desk's outcomes)."""
        if (board := self.boards.get(door)) is not None:
            board.announce(outcome_words(granted, reason, kind, board.spec.language))

    def vehicle_waiting(self, door: str) -> bool:
        """Whether a read at ``door`` is wanted: not a barrier that requires its arming loop,
        or a vehicle is on it (for a read path that does not come through the lanes)."""
        barrier = self.doors.get(door)
        return door not in self._require or barrier is None or barrier.barrier.armed

    # -- the guard's raise -------------------------------------------------------------
    def raise_by_guard(self, door: str, guard: str, plate: str, request_id: str | None) -> str:
        """Record who raised it for which plate (masked), then raise. Returns the mask."""
        barrier = self.doors.get(door)
        if barrier is None:
            raise BarrierRefused(f"{door!r} is not a barrier")
        normal = normalise_plate(plate)
        if normal is None:
            raise BarrierRefused("not a licence plate")
        masked = mask_plate(normal)
        self._emit(EventType.BARRIER_RAISED_BY_GUARD, door, guard=guard, by=f"guard:{guard}",
                   plate=masked, request_id=request_id)  # fmt: skip
        barrier.pulse("guard")
        self.guard_raises[door] += 1
        if (board := self.boards.get(door)) is not None:
            board.announce(board.words["granted"])
        return masked

    def _count_moved(self) -> None:
        for board in self.boards.values():
            board.refresh()

    def feed_capacity(self, source: CapacitySource | None) -> None:
        """Where the signs read free spaces from (the car park's occupancy count)."""
        for board in self.boards.values():
            board.capacity = source
            board.refresh()

    # -- status ---------------------------------------------------------------------------
    def status(self) -> dict[str, BarrierStatus]:
        out = {}
        for door_id, door in self.doors.items():
            b = door.barrier
            board = self.boards.get(door_id)
            out[door_id] = BarrierStatus(
                phase=b.phase.value,
                vehicle_present=b.present,
                arming_present=b.armed if door_id in self._has_arming else None,
                loop_fault=b.fault,
                vehicle_tailgates=b.tailgates,
                reads_ignored=self.ignored[door_id],
                guard_raises=self.guard_raises[door_id],
                sign=list(board.sign.showing) if board is not None else None,
            )
        return out


class BarrierMethods:
    """``GatePort``'s barrier methods, for the App: each runs on the core loop."""

    loop: CoreLoop
    barriers: BarrierDesk

    def raise_barrier(self, door: str, guard: str, plate: str, request_id: str | None = None
                      ) -> str:  # fmt: skip
        return self.loop.run_sync(
            partial(self.barriers.raise_by_guard, door, guard, plate, request_id)
        )
