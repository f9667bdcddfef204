"""Stimuli for a running gate's simulated devices; each waits for the core to act on it."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import asdict
from typing import Any, Protocol, runtime_checkable

from agent.errors import GateError
from agent.gate.ports import DecisionRecord, GatePort, PassOutcome
from drivers.anpr import PlateStimulus
from drivers.base import CardStimulus, InputStimulus, ScanStimulus

KEEP_DECISIONS = 256
MAX_KEYS = 32  # keys typed in one go
PIN_WAIT_S = 3.0  # how long ``keys`` waits for a PIN's decision (it is hashed on a thread)


@runtime_checkable
class KeyStimulus(Protocol):
    """A reader whose keypad software can type on (the simulator's)."""

    name: str

    def keys(self, typed: str) -> None: ...


class SimError(GateError):
    """A stimulus that cannot be given (unknown door, device not simulated)."""


class SimControls:
    """Taps, presses and door contacts for simulated devices, answered with the outcome."""

    def __init__(self, gate: GatePort) -> None:
        self.gate = gate
        self._lock = threading.Lock()
        self._decisions: OrderedDict[tuple[str, int], DecisionRecord] = OrderedDict()
        if any(isinstance(r, CardStimulus | PlateStimulus) for r in gate.devices.readers.values()):
            # only simulated readers take taps; a real gate's decisions need no record here
            gate.add_decision_listener(self._decided)
        self._passes: OrderedDict[tuple[str, int], PassOutcome] = OrderedDict()
        if any(isinstance(r, ScanStimulus) for r in gate.devices.readers.values()):
            gate.add_pass_listener(self._passed)

    def _decided(self, record: DecisionRecord) -> None:
        with self._lock:
            self._decisions[(record.reader, record.read_id)] = record
            while len(self._decisions) > KEEP_DECISIONS:
                self._decisions.popitem(last=False)

    def _passed(self, outcome: PassOutcome) -> None:
        if outcome.scan_id is None or outcome.reader is None:
            return  # typed at the console: not a scan of ours
        with self._lock:
            self._passes[(outcome.reader, outcome.scan_id)] = outcome
            while len(self._passes) > KEEP_DECISIONS:
                self._passes.popitem(last=False)

    def _door(self, door: str | None) -> str:
        """The door named, or the only one; a gate with several doors must be told which."""
        _text(door, "door", optional=True)
        doors = self.gate.devices.doors
        if door is None:
            if len(doors) == 1:
                return doors[0]
            raise SimError(f"which door? give --door; this gate has {', '.join(doors)}")
        if door not in doors:
            raise SimError(f"no door {door!r}; doors: {', '.join(doors)}")
        return door

    def _sim_input(self, name: str) -> InputStimulus:
        device = self.gate.devices.inputs.get(name)
        if device is None:
            raise SimError(f"no input {name!r} is configured")
        if not isinstance(device, InputStimulus):
            raise SimError(f"input {name!r} is not simulated")
        return device

    def tap(self, card: str, door: str | None = None, reader: str | None = None) -> DecisionRecord:
        """Present ``card``; the answer is the decision made for this very read."""
        _text(card, "card")
        _text(reader, "reader", optional=True)
        devices = self.gate.devices
        if door is None and reader is not None:  # a reader names its door
            if reader not in devices.reader_door:
                raise SimError(f"no reader {reader!r}; readers: {', '.join(devices.reader_door)}")
            door = devices.reader_door[reader]
        door_id = self._door(door)
        sims = [
            device
            for r_id, device in devices.readers.items()
            if devices.reader_door[r_id] == door_id
            and reader in (None, r_id)
            and isinstance(device, CardStimulus)
        ]
        if not sims:
            raise SimError(f"door {door_id!r} has no simulated reader")
        read = sims[0].present(card)
        self.gate.settle()  # the read was posted before this barrier: it has been decided
        with self._lock:
            record = self._decisions.pop((read.reader, read.read_id), None)
        if record is None:
            raise SimError(
                "no decision was recorded for this read: at a PIN door it waits for the PIN "
                "(gate-agent sim keys 1234# --door D); else see the agent's log"
            )
        return record

    def keys(self, keys: str, door: str | None = None) -> dict[str, Any]:
        """Type ``keys`` on a door's simulated keypad; the answer is the decision they
        brought (a PIN for a card waiting there), or None. The keys are never echoed."""
        _text(keys, "keys")
        if not 0 < len(keys) <= MAX_KEYS:
            raise SimError(f"type 1 to {MAX_KEYS} keys at a time")
        door_id = self._door(door)
        devices = self.gate.devices
        pads = [d for r_id, d in devices.readers.items()
                if devices.reader_door[r_id] == door_id and isinstance(d, KeyStimulus)]  # fmt: skip
        if not pads:
            raise SimError(f"door {door_id!r} has no simulated keypad")
        pad = pads[0]
        with self._lock:
            before = set(self._decisions)
        pad.keys(keys)
        self.gate.settle()
        deadline = time.monotonic() + PIN_WAIT_S
        while True:
            with self._lock:
                new = [k for k in self._decisions if k[0] == pad.name and k not in before]
                record = self._decisions.pop(new[-1]) if new else None
            if record is not None or time.monotonic() > deadline or "#" not in keys:
                break
            time.sleep(0.01)
        return {"typed": len(keys), "decision": asdict(record) if record else None}

    def plate(self, door: str | None, plate: str, confidence: float = 1.0) -> dict[str, Any]:
        """Show ``plate`` to a simulated ANPR camera at ``door`` (issue 22)."""
        from agent.faces.sim_plates import show_plate

        return show_plate(self, self._door(door), plate, confidence)

    def take_decision(self, reader: str, read_id: int) -> DecisionRecord | None:
        """The decision recorded for one read, taken out of the keep."""
        with self._lock:
            return self._decisions.pop((reader, read_id), None)

    def scan(self, door: str | None, code: str) -> PassOutcome:
        """Show ``code`` to a simulated scanner at ``door``; the answer is this scan's outcome."""
        _text(code, "code")
        door_id = self._door(door)
        devices = self.gate.devices
        sims = [
            device
            for r_id, device in devices.readers.items()
            if devices.reader_door[r_id] == door_id and isinstance(device, ScanStimulus)
        ]
        if not sims:
            raise SimError(f"door {door_id!r} has no simulated scanner (driver scanner-sim)")
        scan = sims[0].scan(code)
        self.gate.settle()  # the scan was posted before this barrier: it has been decided
        with self._lock:
            outcome = self._passes.pop((scan.reader, scan.scan_id), None)
        if outcome is None:
            raise SimError("no outcome was recorded for this scan; see the agent's log")
        return outcome

    def press(self, button: str, door: str | None = None) -> dict[str, Any]:
        _text(button, "button")
        if button == "visitor":
            self._sim_input("visitor").press()
        elif button == "exit":
            self._sim_input(f"{self._door(door)}.exit").press()
        else:
            raise SimError("button is visitor or exit")
        return self._settled()

    def door(self, state: str, door: str | None = None) -> dict[str, Any]:
        _text(state, "state")
        if state not in ("open", "close"):
            raise SimError("door state is open or close")
        self._sim_input(f"{self._door(door)}.contact").set(state == "open")
        return self._settled()

    def fire(self, on: bool) -> dict[str, Any]:
        if not isinstance(on, bool):
            raise SimError("on is true or false")
        self._sim_input("fire").set(on)
        return self._settled()

    def loop(self, on: bool, door: str | None = None, which: str = "loop") -> dict[str, Any]:
        """A vehicle on or off a barrier's safety loop (``loop``) or arming loop."""
        if not isinstance(on, bool) or which not in ("loop", "arming"):
            raise SimError("on is true or false; which is loop or arming")
        self._sim_input(f"{self._door(door)}.{which}").set(on)
        return self._settled()

    def _settled(self) -> dict[str, Any]:
        status = self.gate.status(recent=5).model_dump(mode="json")
        return {"mode": status["mode"], "doors": status["doors"], "events": status["recent_events"]}


def _text(value: object, name: str, optional: bool = False) -> None:
    if not (isinstance(value, str) or (optional and value is None)):
        raise SimError(f"{name} must be text")
