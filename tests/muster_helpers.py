"""A gate with areas, a muster reader and a fire input, and holders to tap in and out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agent.gate.app import App
from agent.models.config import GateConfig
from agent.models.wire import AllowListEntry
from drivers.cards import parse_card
from drivers.sim import SimInput

DOORS: list[dict[str, Any]] = [
    {
        "id": "main",
        "readers": [{"id": "main-in"}, {"id": "main-out", "direction": "out"}],
        "relay": {"driver": "sim"},
        "contact": {"driver": "sim"},
    },
    {"id": "side", "readers": [{"id": "assembly"}], "relay": {"driver": "sim"}},
]
PRESENCE: dict[str, Any] = {
    "areas": {"compound": {}},
    "passages": {
        "main-in": {"from": "outside", "to": "compound"},
        "main-out": {"from": "compound", "to": "outside"},
    },
    "muster_readers": ["assembly"],
}
# card, holder id, unit
HOLDERS = [
    ("uid:0A0B0C0D", "R-1", "A-101"),
    ("uid:01020304", "R-2", "B-202"),
    ("uid:05060708", "R-3", None),
]
CARD = {holder: card for card, holder, _ in HOLDERS}


def muster_config(make_config: Callable[..., GateConfig], **more: Any) -> GateConfig:
    return make_config(doors=DOORS, inputs={"fire_alarm": {"driver": "sim"}},
                       presence=PRESENCE, **more)  # fmt: skip


def enrol_holders(app: App) -> None:
    rows = []
    for card, holder, unit in HOLDERS:
        number = parse_card(card)
        rows.append(AllowListEntry(credential=app.hasher.credential(number),
                                   masked=app.hasher.masked(number), holder_id=holder,
                                   unit=unit))  # fmt: skip
    app.allowlist.replace(rows, 1)


def set_fire(app: App, active: bool) -> None:
    """The fire input changes; the caller pumps the loop (or a threaded App runs it)."""
    device = app.devices.inputs["fire"]
    assert isinstance(device, SimInput)
    device.set(active)


def details_of(app: App, type_: str) -> list[dict[str, Any]]:
    return [e.details for e in app.events.recent(1000) if e.type.value == type_]
