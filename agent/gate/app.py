"""The App: one running gate. Built by ``agent.gate.assemble.build_app``; run by a ``Runner``.

Nothing lives at module level, so a test or a fleet simulation runs many Apps in one
process. All gate state is touched only on the core loop's thread; the methods of
``GatePort`` hop onto it, so the office link and the control socket may call them
from theirs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

from agent.core.clock import Clock
from agent.core.decision import GateMode
from agent.core.kinds import EventType
from agent.core.loop import CoreLoop
from agent.core.runner import Part, Runner
from agent.errors import FatalError, GateError, StorageFault
from agent.gate.attachments import Attachments
from agent.gate.barriers import BarrierDesk, BarrierMethods, make_door
from agent.gate.build import Hardware, Stores, close_all, preflight
from agent.gate.drills import DrillDesk, DrillMethods
from agent.gate.inputs import InputRouter
from agent.gate.journal import Journal
from agent.gate.lanes import LANE_DEPTH, ReaderLanes
from agent.gate.learning import learn_card
from agent.gate.muster import MusterDesk
from agent.gate.occupancy import PresenceMethods
from agent.gate.parts import CorePart, DevicePart, log_close_error
from agent.gate.passes import PassDesk, PassMethods
from agent.gate.picture_requests import PictureMethods
from agent.gate.ports import ConfigState, DecisionRecord, DeviceMap, LearnedCard
from agent.gate.readers import ReaderMonitor
from agent.gate.reads import ReadHandler
from agent.gate.status import live_status, with_stores
from agent.gate.systemd import Notifier
from agent.gate.tailgating import watch_tailgating
from agent.models.config import GateConfig
from agent.models.messages import GateStatus, OfficeLinkStatus
from agent.models.wire import Event
from agent.store.allowlist import AllowListStore
from agent.store.credentials import CredentialHasher
from agent.store.eventlog import EventLog
from drivers.base import DriverContext
from drivers.cards import CardRead

log = logging.getLogger(__name__)


class App(PassMethods, DrillMethods, PresenceMethods, Attachments, BarrierMethods,
          PictureMethods):  # fmt: skip
    """One gate agent instance: implements ``GatePort`` for the parts around it."""

    def __init__(
        self,
        config: GateConfig,
        *,
        stores: Stores,
        hardware: Hardware,
        hasher: CredentialHasher,
        clock: Clock,
        notifier: Notifier | None = None,
        base_config: GateConfig | None = None,
        config_revision: int = 0,
    ) -> None:
        self.config = config
        self.base_config = base_config or config  # the installer's file, before office changes
        self.config_revision = config_revision
        self.clock = clock
        self.hasher = hasher
        self.stores = stores
        self.paths = stores.paths
        self.allowlist: AllowListStore = stores.allowlist
        self.events: EventLog = stores.events
        self.hardware = hardware
        self.notifier = notifier or Notifier("")
        self.loop = CoreLoop(clock, self._on_fault)
        self.event_listeners: list[Callable[[Event], None]] = []
        self.journal = Journal(stores.events, clock, self.loop, self.event_listeners)
        self.storage = self.journal.storage
        self.link_status: Callable[[], OfficeLinkStatus] | None = None  # set by the link
        self.restart_requested = False
        self.started_at = clock.monotonic()
        self._end = threading.Event()  # stopped, or asking its supervisor to stop it
        self.devices_ready = threading.Event()  # every reader and input attached
        self._extra_parts: list[Part] = []
        self._late_parts: list[Part] = []
        self._runner: Runner | None = None
        self._stop_lock = threading.Lock()
        self._closed = False
        self.doors = {
            d.id: make_door(d, hardware.relays[d.id], self.loop, clock, self.emit)
            for d in config.doors
        }
        self.inputs = InputRouter(config, self.doors, stores.state, self.emit)
        self.reads = ReadHandler(
            config,
            clock=clock,
            loop=self.loop,
            hasher=hasher,
            allowlist=stores.allowlist,
            doors=self.doors,
            readers=hardware.readers,
            modes=self.inputs.modes,
            events=self.journal,
            counters=stores.events.counters,
            presence=stores.events.presence,
        )
        self.tailgating = watch_tailgating(self)  # door cycles against grants; exits
        reader_door = {r: p.door for r, p in self.reads.places.items()}
        self.monitor = ReaderMonitor(hardware.readers, reader_door, self.loop, clock, self.emit)
        self.passes = PassDesk(config, clock=clock, loop=self.loop, store=stores.passes,
                               doors=self.doors, readers=hardware.readers, reader_door=reader_door,
                               modes=self.inputs.modes, emit=self.emit)  # fmt: skip
        self._attach(config, reader_door)  # PIN, occupancy, other gates' moves
        self.lanes = ReaderLanes(self.loop, clock, reader_door, self.emit)
        self.lanes.on_reads = self.reads.handle_all
        self.lanes.on_scan = self.passes.scanned
        self.barriers = BarrierDesk(self)  # loops, the arming filter, the LED sign
        self.drills = DrillDesk(config, clock=clock, loop=self.loop, state=stores.state,
                                doors=self.doors, inputs=self.inputs,
                                journal=self.journal)  # fmt: skip
        self.muster = MusterDesk.attach(self)  # after the drills: it reads their reports
        self.devices = DeviceMap(readers=dict(hardware.readers), reader_door=reader_door,
                                 inputs=dict(hardware.inputs), doors=tuple(self.doors))  # fmt: skip

    # -- lifecycle ----------------------------------------------------------
    def add_part(self, part: Part, *, after_devices: bool = False) -> None:
        """A part (office link, control socket) to start after the core and before the
        devices, or after them (the demo scene)."""
        (self._late_parts if after_devices else self._extra_parts).append(part)

    def parts(self) -> list[Part]:
        """Start order: core loop, the extra parts, then devices (so the link is up to
        carry ``agent_started``); stop order is the reverse, so ``agent_stopped`` is
        recorded while the link can still send it."""
        core: list[Part] = [CorePart(self), self.pins.verifier]
        return [*core, *self._extra_parts, DevicePart(self), *self._late_parts]

    def start(self, threaded: bool = True) -> None:
        """Run every part; ``threaded=False`` (tests) starts only the devices and lets the
        caller ``loop.pump()``."""
        self._runner = Runner(self.parts() if threaded else [DevicePart(self)])
        self._runner.start()
        self.notifier.ready(f"mode={self.mode.value}")
        log.info(
            "gate %s/%s started: %d door(s), allow-list v%s with %d entries, mode %s",
            self.config.gate.site,
            self.config.gate.gate_id,
            len(self.doors),
            self.allowlist.version(),
            self.allowlist.count(),
            self.mode.value,
        )

    def stop(self) -> None:
        """Stop in reverse order; doors end locked whatever happens on the way."""
        with self._stop_lock:
            try:
                if self._runner is not None and self._runner.running:
                    self.notifier.stopping()
                    self._runner.stop()
            finally:
                self.lock_all()
                if not self._closed:
                    self._closed = True
                    close_all(self.hardware.all(), log_close_error)
                    self.stores.close()
                    log.info("gate stopped; doors locked")
                self._end.set()

    def wait(self, timeout: float | None = None) -> bool:
        """True once the gate stopped or asked to be stopped (fatal fault, restart)."""
        return self._end.wait(timeout)

    def request_restart(self) -> None:
        """Ask the supervisor for a fresh App (devices changed)."""
        self.restart_requested = True
        self._end.set()

    def lock_all(self) -> None:
        """Crash-safe: drive every relay to locked, from any thread, never raising."""
        for door in self.doors.values():
            door.safe_lock()

    def _on_fault(self, exc: BaseException, where: str) -> None:
        """A handler raised: the gate stays up, but no door stays unlocked by accident."""
        self.lock_all()
        if isinstance(exc, StorageFault):
            return  # told once by the storage watch, reported when the log is back
        if isinstance(exc, GateError):
            log.error("%s: %s", where, exc)
        else:
            log.error("%s failed", where, exc_info=exc)
        try:
            self.emit(EventType.AGENT_FAULT, error=type(exc).__name__, message=str(exc)[:200])
        except Exception:
            log.exception("could not record the fault")
        if isinstance(exc, FatalError):
            self._end.set()

    # -- events (core loop) ---------------------------------------------------
    def emit(self, type_: EventType, door: str | None = None, /, **details: Any) -> Event:
        """Record an event durably, then announce it (``Journal``). Core loop."""
        return self.journal.emit(type_, door, **details)

    def enforce_retention(self) -> None:
        """Drop what retention says; an alarm counts events lost before upload. Any thread."""
        storage = self.config.storage
        lost = self.events.prune(
            storage.events_max_rows, timedelta(days=storage.events_max_age_days)
        )
        if lost:
            self.loop.post(partial(self.emit, EventType.EVENTS_DROPPED, count=lost))
        self.loop.post(self.occupancy.forget_old)  # presence: on the loop, its connection's

    @property
    def mode(self) -> GateMode:
        return self.inputs.modes.mode

    def handle_read(self, read: CardRead) -> DecisionRecord | None:
        """Decide one read, record it, then move the relay. Runs on the core loop."""
        return self.reads.handle(read)

    def handle_reads(self, reads: list[CardRead]) -> None:
        """Reads that waited together: one commit for their events, then their relays."""
        self.reads.handle_all(reads)

    def reconfigure(self, config: GateConfig, revision: int) -> None:
        """Apply a config whose devices are unchanged, on the core loop, without a restart."""
        self.config = config
        self.config_revision = revision
        self.reads.reconfigure(config)
        self._reconfigure_attached(config)
        self.inputs.config = config
        for door_cfg in config.doors:
            self.doors[door_cfg.id].config = door_cfg

    # -- GatePort: safe from any thread ----------------------------------------
    def config_state(self) -> ConfigState:
        return self.loop.run_sync(
            lambda: ConfigState(self.config, self.base_config, self.config_revision)
        )

    def record(self, type_: EventType, door: str | None = None, /, **details: Any) -> Event:
        return self.loop.run_sync(partial(self.emit, type_, door, **details))

    def add_event_listener(self, listener: Callable[[Event], None]) -> None:
        self.event_listeners.append(listener)

    def add_decision_listener(self, listener: Callable[[DecisionRecord], None]) -> None:
        self.reads.listeners.append(listener)

    def set_lockdown(self, on: bool, by: str = "local", request_id: str | None = None) -> GateMode:
        return self.loop.run_sync(self.inputs.set_lockdown, on, by, request_id)

    def set_release(self, on: bool, by: str = "local", request_id: str | None = None) -> GateMode:
        return self.loop.run_sync(self.inputs.set_release, on, by, request_id)

    def open_door(self, door: str, by: str, request_id: str | None = None) -> None:
        def open_now() -> None:
            self.emit(EventType.REMOTE_OPEN, door, by=by, request_id=request_id)
            self.doors[door].pulse("remote")

        self.loop.run_sync(open_now)

    def apply_config(self, config: GateConfig, revision: int, restart: bool) -> None:
        if restart:
            self.loop.run_sync(setattr, self, "config_revision", revision)
            self.request_restart()
        else:
            self.loop.run_sync(self.reconfigure, config, revision)

    def preflight(self, config: GateConfig) -> list[tuple[str, str]]:
        return preflight(config, self.hardware.context or DriverContext(self.clock))

    def settle(self) -> None:
        # a reader's lane hands on one item a round: go round until what waited has gone
        marks = self.lanes.marks()
        for _ in range(LANE_DEPTH + 1):
            self.loop.run_sync(lambda: None)
            if self.lanes.passed(marks):
                return

    def learn(self, reader: str, timeout: float = 30.0) -> LearnedCard:
        return learn_card(reader, timeout, loop=self.loop, readers=self.hardware.readers,
                          reads=self.reads, hasher=self.hasher, record=self.record)  # fmt: skip

    def status(self, recent: int = 10) -> GateStatus:
        """A snapshot from any thread: live state read on the core loop, the databases on
        the caller's thread so a status request never holds up a card."""
        live = self.loop.run_sync(live_status, self)
        return with_stores(live, self, recent)
