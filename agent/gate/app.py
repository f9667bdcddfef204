"""The App: one gate. Builds every part from config, starts them in order, stops in reverse.

Nothing lives at module level, so a test or a fleet simulation runs many Apps in one
process. All gate state is touched only on the core loop's thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from agent import __version__
from agent.store.allowlist import AllowListStore
from agent.core.anomaly import DenialWatch, Trip
from agent.core.clock import Clock, SystemClock
from agent.store.credentials import CredentialHasher
from agent.core.decision import SUSPICIOUS, DecisionContext, GateMode, decide
from agent.core.door import Door
from agent.errors import FatalError
from agent.store.eventlog import EventLog
from agent.store.instance import InstanceLock
from agent.core.loop import CoreLoop
from agent.models.config import GateConfig, InputSpec
from agent.models.wire import Event, EventType
from agent.core.schedules import compile_all
from agent.store.state import StateStore
from agent.gate.systemd import Notifier
from drivers import registry
from drivers.base import CardReader, DigitalInput, DriverContext, Relay
from drivers.cards import CardRead

log = logging.getLogger(__name__)

PRUNE_INTERVAL_S = 300.0
HOUSEKEEPING_S = 2.0


class App:
    """One gate agent instance."""

    def __init__(
        self,
        config: GateConfig,
        *,
        clock: Clock | None = None,
        pin_factory: Any = None,
        control_socket: Path | None = None,
        notifier: Notifier | None = None,
        base_config: GateConfig | None = None,
        config_revision: int = 0,
    ) -> None:
        self.config = config
        self.base_config = base_config or config  # the installer's file, before office changes
        self.config_revision = config_revision
        self.restart_requested = False
        self.clock: Clock = clock or SystemClock(config.clock.sync_marker or None)
        self.zone = config.zone()
        self.loop = CoreLoop(self.clock, self._on_fault)
        self.notifier = notifier or Notifier("")
        self.hasher = CredentialHasher.from_file(
            config.security.credential_key_file, config.security.prox_bits
        )
        self.state_dir = config.storage.dir
        self._instance = InstanceLock(self.state_dir)
        self.control_path = control_socket or self.state_dir / "control.sock"
        self.allowlist = AllowListStore(self.state_dir / "allowlist.db", self.zone)
        self.events = EventLog(
            self.state_dir / "events.db",
            self.clock,
            config.gate.site,
            config.gate.gate_id,
            synchronous=config.storage.synchronous,
            upload=config.mqtt.enabled,
        )
        self.state = StateStore(self.state_dir / "events.db")
        self.schedules = compile_all(config.schedules, config.holidays)
        self.watch = DenialWatch(config.alarms)
        self.event_listeners: list[Callable[[Event], None]] = []
        self.last_decisions: dict[str, dict[str, Any]] = {}
        self.started_at = self.clock.monotonic()
        self._lockdown = self.state.get_bool("lockdown")
        self._remote_release = self.state.get_bool("remote_release")
        self._fire = False
        self._stopped = threading.Event()
        self._stopping = threading.Event()
        self._stop_lock = threading.Lock()
        self._running = False
        self._extra_parts: list[Any] = []  # started after the core, stopped before it
        self._housekeeper: threading.Thread | None = None

        context = DriverContext(self.clock, pin_factory)
        self.doors: dict[str, Door] = {}
        self.readers: dict[str, CardReader] = {}
        self.reader_door: dict[str, str] = {}
        self.inputs: dict[str, DigitalInput] = {}
        for door_cfg in config.doors:
            relay = registry.create(
                "relay",
                door_cfg.relay.driver,
                f"{door_cfg.id}.relay",
                door_cfg.relay.options,
                context,
            )
            assert isinstance(relay, Relay)
            self.doors[door_cfg.id] = Door(door_cfg, relay, self.loop, self.clock, self.emit)
            for spec in door_cfg.readers:
                reader = registry.create("reader", spec.driver, spec.id, spec.options, context)
                assert isinstance(reader, CardReader)
                self.readers[spec.id] = reader
                self.reader_door[spec.id] = door_cfg.id
            for role, spec_ in (("contact", door_cfg.contact), ("exit", door_cfg.exit_button)):
                if spec_ is not None:
                    self._add_input(f"{door_cfg.id}.{role}", spec_, context)
        if config.inputs.visitor_button:
            self._add_input("visitor", config.inputs.visitor_button, context)
        if config.inputs.fire_alarm:
            self._add_input("fire", config.inputs.fire_alarm, context)

    def _add_input(self, name: str, spec: InputSpec, context: DriverContext) -> None:
        device = registry.create("input", spec.driver, name, spec.options, context)
        assert isinstance(device, DigitalInput)
        self.inputs[name] = device

    # -- lifecycle ----------------------------------------------------------
    def add_part(self, part: Any) -> None:
        """Register a part with start()/stop() (uplink, control socket) to run with the App."""
        self._extra_parts.append(part)

    def start(self, threaded: bool = True) -> None:
        """Lock every door first, then inputs, readers, the loop and the extra parts."""
        self.lock_all()
        self.emit(EventType.AGENT_STARTED, version=__version__, mode=self.mode.value)
        self._enforce_retention()
        self._forget_idle_windows()
        for name, device in self.inputs.items():
            device.start(self._input_callback(name))
        self._sync_inputs()
        for reader in self.readers.values():
            reader.start(self._on_read)
        if threaded:
            self.loop.start()
            self._housekeeper = threading.Thread(
                target=self._housekeeping, name="gate-housekeeping", daemon=True
            )
            self._housekeeper.start()
        self._running = True
        for part in self._extra_parts:
            part.start()
        if self.notifier.watchdog_interval:
            self._schedule_watchdog()
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
            self._stop()

    def _stop(self) -> None:
        if not self._running:
            self.lock_all()
            if not self._stopped.is_set():
                self._close_stores()
            return
        self._running = False
        self.notifier.stopping()
        try:
            for reader in self.readers.values():
                _quietly(reader.close)
            # recorded while the uplink is still up, so it can go out before the link closes
            self.loop.run_sync(self._final_lock)
            for part in reversed(self._extra_parts):
                _quietly(part.stop)
            self.loop.stop()
            self._stopping.set()
            if self._housekeeper is not None:
                self._housekeeper.join(5)
        finally:
            self.lock_all()
            for device in self.inputs.values():
                _quietly(device.close)
            for door in self.doors.values():
                _quietly(door.relay.close)
            self._close_stores()
            log.info("gate stopped; doors locked")

    def _close_stores(self) -> None:
        self.state.close()
        self.events.close()
        self.allowlist.close()
        self._instance.release()
        self._stopped.set()

    def _housekeeping(self) -> None:
        """Database upkeep that must stay out of the decision path."""
        next_retention = self.clock.monotonic() + PRUNE_INTERVAL_S
        while not self._stopping.wait(HOUSEKEEPING_S):
            try:
                self.events.checkpoint()
                self.allowlist.checkpoint()
                if self.clock.monotonic() >= next_retention:
                    next_retention = self.clock.monotonic() + PRUNE_INTERVAL_S
                    self._enforce_retention()
            except Exception:
                log.exception("housekeeping failed")

    def _final_lock(self) -> None:
        for door in self.doors.values():
            door.released = False
            door.lock()
        self.emit(EventType.AGENT_STOPPED)

    def reconfigure(self, config: GateConfig, revision: int) -> None:
        """Apply a config whose devices are unchanged, on the core loop, without a restart."""
        self.config = config
        self.config_revision = revision
        self.schedules = compile_all(config.schedules, config.holidays)
        self.watch.reconfigure(config.alarms)
        for door_cfg in config.doors:
            self.doors[door_cfg.id].config = door_cfg

    def request_restart(self) -> None:
        """Stop soon so the runner starts a fresh App (devices changed)."""
        self.restart_requested = True
        threading.Timer(0.2, self.stop).start()

    def wait(self, timeout: float | None = None) -> bool:
        return self._stopped.wait(timeout)

    def lock_all(self) -> None:
        """Crash-safe: drive every relay to locked, from any thread, never raising."""
        for door in self.doors.values():
            door.safe_lock()

    def _on_fault(self, exc: BaseException) -> None:
        """A handler raised: the gate stays up, but no door stays unlocked by accident."""
        self.lock_all()
        try:
            self.emit(EventType.AGENT_FAULT, error=type(exc).__name__, message=str(exc)[:200])
        except Exception:
            log.exception("could not record the fault")
        if isinstance(exc, FatalError):
            threading.Thread(target=self.stop, name="gate-stop").start()

    def _schedule_watchdog(self) -> None:
        self.notifier.watchdog()
        assert self.notifier.watchdog_interval
        self.loop.call_later(self.notifier.watchdog_interval, self._schedule_watchdog)

    # -- events ---------------------------------------------------------------
    def emit(self, type_: EventType, door: str | None = None, **details: Any) -> Event:
        event = self.events.append(type_, door, **details)
        if event.severity == "alarm":
            log.warning("ALARM %s door=%s %s seq=%d", type_.value, door, details, event.seq)
        for listener in self.event_listeners:
            listener(event)
        return event

    def _enforce_retention(self) -> None:
        """Drop what retention says; an alarm counts events lost before upload. Any thread."""
        storage = self.config.storage
        lost = self.events.prune(
            storage.events_max_rows, timedelta(days=storage.events_max_age_days)
        )
        if lost:
            self.loop.post(partial(self.emit, EventType.EVENTS_DROPPED, count=lost))

    def _forget_idle_windows(self) -> None:
        self.watch.prune(self.clock.monotonic())
        self.loop.call_later(PRUNE_INTERVAL_S, self._forget_idle_windows)

    # -- modes ------------------------------------------------------------------
    @property
    def mode(self) -> GateMode:
        if self._fire or self._remote_release:
            return GateMode.RELEASE
        return GateMode.LOCKDOWN if self._lockdown else GateMode.NORMAL

    def _door_mode(self, door: Door) -> GateMode:
        if door.released:
            return GateMode.RELEASE
        return GateMode.LOCKDOWN if self._lockdown else GateMode.NORMAL

    def set_lockdown(self, on: bool, by: str = "local") -> None:
        self._change_mode(lambda: setattr(self, "_lockdown", on), by)
        self.state.set_bool("lockdown", on)

    def set_remote_release(self, on: bool, by: str = "office") -> None:
        self._change_mode(lambda: setattr(self, "_remote_release", on), by)
        self.state.set_bool("remote_release", on)

    def _change_mode(self, change: Callable[[], None], by: str) -> None:
        before = self.mode
        change()
        for door in self.doors.values():
            door.set_released(self._remote_release or (self._fire and door.config.release_on_fire))
        if self.mode is not before:
            self.emit(EventType.MODE_CHANGED, mode=self.mode.value, previous=before.value, by=by)

    # -- inputs -----------------------------------------------------------------
    def _input_callback(self, name: str) -> Callable[[bool], None]:
        def changed(active: bool) -> None:
            self.loop.post(self._input_changed, name, active)

        return changed

    def _sync_inputs(self) -> None:
        """Take the inputs' state at boot: a fire alarm already on releases the doors."""
        for name, device in self.inputs.items():
            if device.is_active and (name == "fire" or name.endswith(".contact")):
                self._input_changed(name, True)
            elif name.endswith(".contact"):
                self.doors[name.split(".")[0]].is_open = False

    def _input_changed(self, name: str, active: bool) -> None:
        if name == "fire":
            self._fire_changed(active)
        elif name == "visitor":
            if active:
                self._visitor_pressed()
        else:
            door_id, _, role = name.partition(".")
            door = self.doors[door_id]
            if role == "contact":
                door.contact_changed(active)
            elif role == "exit" and active:
                self.emit(EventType.EXIT_REQUEST, door_id)
                door.pulse("exit")  # egress works in every mode

    def _fire_changed(self, active: bool) -> None:
        if active == self._fire:
            return
        self.emit(EventType.FIRE_ALARM if active else EventType.FIRE_ALARM_CLEARED)
        self._change_mode(lambda: setattr(self, "_fire", active), "fire_input")

    def _visitor_pressed(self) -> None:
        spec = self.config.inputs.visitor_button
        assert spec is not None
        door_id = spec.door or self.config.doors[0].id
        door = self.doors[door_id]
        opens = spec.action == "log_and_open" and self._door_mode(door) is not GateMode.LOCKDOWN
        self.emit(EventType.VISITOR_REGISTERED, door_id, opened=opens, by="guard_button")
        if opens:
            door.pulse("visitor")

    def remote_open(self, door_id: str, by: str, request_id: str | None = None) -> None:
        door = self.doors[door_id]
        self.emit(EventType.REMOTE_OPEN, door_id, by=by, request_id=request_id)
        door.pulse("remote")

    # -- cards ------------------------------------------------------------------
    def _on_read(self, read: CardRead) -> None:
        self.loop.post(self.handle_read, read)

    def handle_read(self, read: CardRead) -> dict[str, Any]:
        """Decide one read, record it, then move the relay. Runs on the core loop."""
        door_id = self.reader_door[read.reader]
        door = self.doors[door_id]
        credential, masked = self.hasher.identify(read.card)
        entry = self.allowlist.lookup(credential)
        mono = self.clock.monotonic()
        now = self.clock.now()
        ctx = DecisionContext(
            door=door_id,
            now=now,
            local=now.astimezone(self.zone),
            mode=self._door_mode(door),
            clock_trusted=self.clock.is_trusted(),
            untrusted_policy=self.config.clock.untrusted_policy,
            reader_locked=self.watch.locked("reader", read.reader, mono),
            card_locked=self.watch.locked("card", credential, mono),
            schedules=self.schedules,
        )
        decision = decide(entry, ctx)
        summary: dict[str, Any] = {
            "granted": decision.granted,
            "reason": decision.reason.value,
            "reader": read.reader,
            "card": masked,
            "credential": credential,
            "holder_id": entry.holder_id if entry else None,
            "kind": entry.kind.value if entry else None,
            "unit": entry.unit if entry else None,
        }
        # the event is durable before the relay moves: no effect without its record
        kind = EventType.ACCESS_GRANTED if decision.granted else EventType.ACCESS_DENIED
        event = self.emit(kind, door_id, **summary)
        if decision.granted and not door.released:
            door.pulse("card")
        log.info(
            "%s door=%s reader=%s card=%s holder=%s reason=%s seq=%d",
            "GRANT" if decision.granted else "DENY",
            door_id,
            read.reader,
            masked,
            summary["holder_id"],
            decision.reason.value,
            event.seq,
        )
        if not decision.granted and decision.reason in SUSPICIOUS:
            for trip in self.watch.record(read.reader, credential, mono):
                self._tripped(trip, door_id, masked)
        summary["seq"] = event.seq
        self.last_decisions[read.reader] = summary
        return summary

    def _tripped(self, trip: Trip, door_id: str, masked: str) -> None:
        subject = trip.key if trip.scope == "reader" else masked
        self.emit(
            EventType.REPEATED_DENIALS,
            door_id,
            scope=trip.scope,
            subject=subject,
            count=trip.count,
            window_s=trip.window_s,
            lockout_s=trip.lockout_s,
        )
        if trip.lockout_s:
            ended = partial(
                self.emit, EventType.LOCKOUT_ENDED, door_id, scope=trip.scope, subject=subject
            )
            self.loop.call_later(trip.lockout_s, ended)

    # -- status -------------------------------------------------------------------
    def status(self, recent: int = 10) -> dict[str, Any]:
        """A snapshot for the CLI and the office, from any thread.

        Only the gate's live state is read on the core loop; database reads happen on
        the caller's thread so a status request never holds up a card.
        """
        live = self.loop.run_sync(self._live_status)
        return {
            **live,
            "allowlist": {"version": self.allowlist.version(), "size": self.allowlist.count()},
            "outbox_depth": self.events.depth(),
            "last_seq": self.events.last_seq(),
            "recent_events": [e.model_dump(mode="json") for e in self.events.recent(recent)],
        }

    def _live_status(self) -> dict[str, Any]:
        return {
            "site": self.config.gate.site,
            "gate": self.config.gate.gate_id,
            "version": __version__,
            "mode": self.mode.value,
            "lockdown": self._lockdown,
            "fire_alarm": self._fire,
            "clock_trusted": self.clock.is_trusted(),
            "doors": {d.id: d.snapshot() for d in self.doors.values()},
            "readers": {r.name: {"frame_errors": r.frame_errors} for r in self.readers.values()},
            "config_revision": self.config_revision,
            "uptime_s": round(self.clock.monotonic() - self.started_at, 1),
        }


def _quietly(fn: Callable[[], Any]) -> None:
    try:
        fn()
    except Exception:
        log.exception("while stopping: %s failed", getattr(fn, "__qualname__", fn))
