"""Building a gate from its config: stores (behind the instance lock) and devices.

Running it is the App's business; this module only opens things, in the order that
keeps the door safe: the state folder's lock first, then every relay, driven locked
the moment it exists, then readers and inputs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field

from agent.core.clock import Clock
from agent.core.kinds import coil_energised
from agent.errors import DriverError, StorageError
from agent.models.barrier import barrier_inputs
from agent.models.config import GateConfig, InputSpec
from agent.models.lines import gpio_pins
from agent.store.allowlist import AllowListStore
from agent.store.eventlog import WAL_ROOM, EventLog
from agent.store.instance import InstanceLock
from agent.store.integrity import Recovery, check_state, probe_writable
from agent.store.passes import PassStore
from agent.store.paths import StatePaths
from agent.store.state import StateStore
from drivers import registry
from drivers.base import CardReader, Device, DigitalInput, DriverContext, Relay
from drivers.sign import TextSign


@dataclass
class Stores:
    """The databases of one gate, opened under its instance lock."""

    paths: StatePaths
    lock: InstanceLock
    allowlist: AllowListStore
    events: EventLog
    state: StateStore
    passes: PassStore
    recoveries: list[Recovery] = field(default_factory=list)  # databases set aside at start

    def close(self) -> None:
        self.passes.close()
        self.state.close()
        self.events.close()
        self.allowlist.close()
        self.lock.release()


def open_stores(config: GateConfig, clock: Clock) -> Stores:
    """Lock the state folder, check its databases (setting aside damaged ones) and open them.

    A folder that cannot be written or a database SQLite cannot open is a one-line
    ``StorageError``; what was set aside is listed in ``Stores.recoveries``.
    """
    paths = StatePaths(config.storage.dir)
    if paths.dir.exists() and not paths.dir.is_dir():
        raise StorageError(f"storage.dir {paths.dir} is a file, not a folder")
    probe_writable(paths.dir)
    lock = InstanceLock(paths.instance_lock)
    opened: list[AllowListStore | EventLog | StateStore | PassStore] = []
    try:
        recoveries = check_state(paths, clock.now())
        allowlist = AllowListStore.of(config)
        opened.append(allowlist)
        events = EventLog(
            paths.events_db,
            clock,
            config.gate.site,
            config.gate.gate_id,
            synchronous=config.storage.synchronous,
            upload=config.mqtt.enabled,
            recovered=any(r.database == "events" for r in recoveries),
            wal_room=WAL_ROOM,
        )
        opened.append(events)
        state = StateStore(paths.events_db, events.turns)
        opened.append(state)
        passes = PassStore(paths.passes_db)
    except BaseException as exc:
        for store in reversed(opened):
            store.close()
        lock.release()
        if isinstance(exc, sqlite3.Error):
            raise StorageError(f"cannot open the state in {paths.dir}: {exc}") from None
        raise
    return Stores(paths, lock, allowlist, events, state, passes, recoveries)


@dataclass
class Hardware:
    """Every device the config names, by its config id."""

    relays: dict[str, Relay] = field(default_factory=dict)  # by door id
    readers: dict[str, CardReader] = field(default_factory=dict)
    inputs: dict[str, DigitalInput] = field(default_factory=dict)  # "visitor", "main.exit", ...
    signs: dict[str, TextSign] = field(default_factory=dict)  # a barrier's LED sign, by door id
    context: DriverContext | None = None  # what they were made with

    def all(self) -> list[Device]:
        devices = [*self.readers.values(), *self.inputs.values(), *self.relays.values()]
        return [*devices, *self.signs.values()]


def build_hardware(config: GateConfig, context: DriverContext) -> Hardware:
    """Create the devices; relays are locked before any reader or input exists.

    If one device cannot be opened, those already made are closed again (relays
    locked) and the error goes up.
    """
    hardware = Hardware(context=context)

    def make(kind: str, spec_driver: str, name: str, options: dict[str, object]) -> Device:
        return registry.create(kind, spec_driver, name, options, context)

    try:
        for door in config.doors:
            relay = make("relay", door.relay.driver, f"{door.id}.relay", door.relay.options)
            assert isinstance(relay, Relay)
            relay.set_energised(coil_energised(door.fail_mode, locked=True))
            hardware.relays[door.id] = relay
        for door in config.doors:
            for spec in door.readers:
                reader = make("reader", spec.driver, spec.id, spec.options)
                assert isinstance(reader, CardReader)
                hardware.readers[spec.id] = reader
        for name, input_spec in input_specs(config).items():
            device = make("input", input_spec.driver, name, input_spec.options)
            assert isinstance(device, DigitalInput)
            hardware.inputs[name] = device
        for door in config.doors:
            if door.barrier is not None and (sign := door.barrier.sign) is not None:
                device = make("sign", sign.driver, f"{door.id}.sign", sign.options)
                assert isinstance(device, TextSign)
                hardware.signs[door.id] = device
    except BaseException:
        close_all(hardware.all())
        raise
    return hardware


def preflight(config: GateConfig, context: DriverContext) -> list[tuple[str, str]]:
    """(key path, why) for each device of ``config`` that could not be opened here,
    found without opening any (the running gate holds its own devices)."""
    pins = gpio_pins(config)
    if not pins:
        return []
    from drivers.gpio import unknown_pins

    try:
        return unknown_pins(pins, context.pin_factory)
    except DriverError as exc:
        return [(pins[0][0], str(exc))]


def input_specs(config: GateConfig) -> dict[str, InputSpec]:
    """Every input by the name the gate routes it under."""
    specs: dict[str, InputSpec] = {}
    for door in config.doors:
        if door.contact is not None:
            specs[f"{door.id}.contact"] = door.contact
        if door.exit_button is not None:
            specs[f"{door.id}.exit"] = door.exit_button
    if config.inputs.visitor_button is not None:
        specs["visitor"] = config.inputs.visitor_button
    if config.inputs.fire_alarm is not None:
        specs["fire"] = config.inputs.fire_alarm
    specs.update(barrier_inputs(config))
    return specs


def close_all(
    devices: list[Device], on_error: Callable[[Device, Exception], None] | None = None
) -> None:
    """Close each device; one that fails does not keep the others open."""
    for device in devices:
        try:
            device.close()
        except Exception as exc:
            if on_error is not None:
                on_error(device, exc)
