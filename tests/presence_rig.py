"""Three gates of one site and the office, for presence across gates (issue 21).

Real mosquitto, the real office service on a SQLite store, three threaded Apps (east,
west, north) with the compound's anti-passback; north reaches the broker through a
``LinkCut`` so a test can partition it for real.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.core.clock import SystemClock
from agent.core.presence import Presence
from agent.gate.app import App
from agent.gate.ports import DecisionRecord
from agent.link.mqtt import MqttSettings
from agent.link.wiring import GateLink, attach
from agent.models.config import GateConfig
from agent.models.wire import AllowListEntry
from agent.office.db import OfficeDb, open_store
from agent.office.service import OfficeService, ServeOptions
from drivers.cards import parse_card
from drivers.sim import SimCardReader
from tests.conftest import mqtt_table
from tests.mqtt_helpers import wait_for

SITE = "test-site"
DOORS: list[dict[str, Any]] = [
    {
        "id": "main",
        "readers": [{"id": "in"}, {"id": "out", "direction": "out"}],
        "relay": {"driver": "sim"},
    }
]
PASSAGES = {
    "in": {"from": "outside", "to": "compound"},
    "out": {"from": "compound", "to": "outside"},
}
CARDS = {f"R-{n}": f"uid:0A0B0C{n:02X}" for n in range(1, 7)}


@dataclass
class Gate:
    """One gate of the rig: the App and its office link."""

    app: App
    link: GateLink
    decisions: list[DecisionRecord] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def name(self) -> str:
        return self.app.config.gate.gate_id

    def tap(self, holder: str, reader: str = "in") -> DecisionRecord:
        """Present the holder's card and wait for the gate's decision on it."""
        device = self.app.devices.readers[reader]
        assert isinstance(device, SimCardReader)
        read = device.present(CARDS[holder])

        def decided() -> DecisionRecord | None:
            with self.lock:
                return next((d for d in self.decisions if d.read_id == read.read_id), None)

        decision: DecisionRecord = wait_for(decided, timeout=10, what=f"{self.name} to decide")
        return decision

    def presence(self) -> list[Presence]:
        return self.app.presence_merge.all()

    def area(self, holder: str) -> str | None:
        record = self.app.loop.run_sync(self.app.events.presence.get, holder)
        return None if record is None else record.area

    def events(self, type_: str) -> list[dict[str, Any]]:
        return [e.details for e in self.app.events.recent(1000) if e.type == type_]

    @property
    def partitioned(self) -> bool:
        assert self.link.presence is not None
        return self.link.presence.partitioned


def office_service(broker: Any, key: Any, db: Path, heartbeat_s: float = 0.2) -> OfficeService:
    settings = MqttSettings(
        host=broker.host, port=broker.port, client_id="gate-office-serve", clean_session=False,
        reconnect_min_s=0.2, reconnect_max_s=1,
    )  # fmt: skip
    options = ServeOptions(presence_heartbeat_s=heartbeat_s)
    svc = OfficeService(settings, open_store(db), key, options)
    svc.start()
    assert svc.conn.wait_connected(10)
    return svc


def gate(
    make_app: Callable[..., App],
    make_config: Callable[..., GateConfig],
    broker: Any,
    key: Any,
    name: str,
    port: int | None = None,
    after_s: float = 3.0,
) -> Gate:
    mqtt = mqtt_table(broker, key, receipt_timeout_s=1, reconnect_max_s=1)
    if port is not None:
        mqtt["port"] = port
    config = make_config(
        gate={"site": SITE, "gate_id": name, "timezone": "UTC", "simulated": True},
        storage={"dir": f"state-{name}"},
        doors=DOORS,
        inputs={},
        mqtt=mqtt,
        presence={
            "areas": {"compound": {"passback": "hard"}},
            "passages": PASSAGES,
            "partitioned_after_s": after_s,
        },
    )
    app = make_app(config, clock=SystemClock())
    link = attach(app)
    rig = Gate(app, link)

    def heard(decision: DecisionRecord) -> None:
        with rig.lock:
            rig.decisions.append(decision)

    app.add_decision_listener(heard)
    entries = []
    for holder, card in CARDS.items():
        number = parse_card(card)
        credential, masked = app.hasher.credential(number), app.hasher.masked(number)
        entries.append(AllowListEntry(credential=credential, masked=masked, holder_id=holder))
    app.allowlist.replace(entries, 1)
    app.start(threaded=True)
    assert link.conn.wait_connected(10)
    return rig


def agreed(gates: list[Gate], office: OfficeDb) -> bool:
    """Whether every gate holds exactly the office's records."""
    want = office.presence.all(SITE)  # type: ignore[attr-defined]
    return all(g.presence() == want for g in gates)
