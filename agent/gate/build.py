"""Building a gate from its config: stores (behind the instance lock) and devices.

Running it is the App's business; this module only opens things, in the order that
keeps the door safe: the state folder's lock first, then every relay, driven locked
the moment it exists, then readers and inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from agent.core.clock import Clock
from agent.core.kinds import coil_energised
from agent.models.config import GateConfig, InputSpec
from agent.store.allowlist import AllowListStore
from agent.store.eventlog import EventLog
from agent.store.instance import InstanceLock
from agent.store.paths import StatePaths
from agent.store.state import StateStore
from drivers import registry
from drivers.base import CardReader, Device, DigitalInput, DriverContext, Relay


@dataclass
class Stores:
    """The databases of one gate, opened under its instance lock."""

    paths: StatePaths
    lock: InstanceLock
    allowlist: AllowListStore
    events: EventLog
    state: StateStore

    def close(self) -> None:
        self.state.close()
        self.events.close()
        self.allowlist.close()
        self.lock.release()


def open_stores(config: GateConfig, clock: Clock) -> Stores:
    paths = StatePaths(config.storage.dir)
    lock = InstanceLock(paths.instance_lock)
    return Stores(
        paths=paths,
        lock=lock,
        allowlist=AllowListStore(paths.allowlist_db, config.zone()),
        events=EventLog(
            paths.events_db,
            clock,
            config.gate.site,
            config.gate.gate_id,
            synchronous=config.storage.synchronous,
            upload=config.mqtt.enabled,
        ),
        state=StateStore(paths.events_db),
    )


@dataclass
class Hardware:
    """Every device the config names, by its config id."""

    relays: dict[str, Relay] = field(default_factory=dict)  # by door id
    readers: dict[str, CardReader] = field(default_factory=dict)
    inputs: dict[str, DigitalInput] = field(default_factory=dict)  # "visitor", "main.exit", ...

    def all(self) -> list[Device]:
        return [*self.readers.values(), *self.inputs.values(), *self.relays.values()]


def build_hardware(config: GateConfig, context: DriverContext) -> Hardware:
    """Create the devices; relays are locked before any reader or input exists.

    If one device cannot be opened, those already made are closed again (relays
    locked) and the error goes up.
    """
    hardware = Hardware()

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
    except BaseException:
        close_all(hardware.all())
        raise
    return hardware


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
