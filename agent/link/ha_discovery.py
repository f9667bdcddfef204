"""Home Assistant MQTT discovery payloads and entity states, built from config and status.

Pure functions: what Home Assistant is told, not when. Every entity is read-only. A
lock is a ``binary_sensor`` of device class ``lock``, not a ``lock`` entity: Home
Assistant cannot sign office commands, and an unsigned broker message must never
open a door, so there is nothing for it to command.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agent.core.decision import GateMode
from agent.gate.ports import DecisionRecord
from agent.link.topics import Topics
from agent.models.config import GateConfig
from agent.models.messages import GateStatus

ON, OFF, UNKNOWN = "ON", "OFF", "None"  # "None" is Home Assistant's "unknown"
TAG_EVENT_TYPES = ("granted", "denied")
MODES = [m.value for m in GateMode]
# the gate's retained status (and its last will) says whether the entities are there
AVAILABLE = "{{ 'online' if value_json.online else 'offline' }}"


@dataclass(frozen=True)
class Entity:
    """One discovery config: where it is published and what it says."""

    component: str
    object_id: str
    config: dict[str, Any]


def _flag(value: bool | None) -> str:
    return UNKNOWN if value is None else ON if value else OFF


def entities(config: GateConfig, topics: Topics, prefix: str, version: str) -> dict[str, Entity]:
    """Every entity of the gate by its discovery topic, all on one device."""
    device = {
        "identifiers": [topics.ha_node],
        "name": f"{topics.site} {topics.gate}",
        "manufacturer": "gate-agent",
        "model": "gate-agent",
        "sw_version": version,
    }
    shared = {
        "device": device,
        "origin": {"name": "gate-agent", "sw_version": version},
        "availability": [{"topic": topics.status, "value_template": AVAILABLE}],
        "qos": 1,
    }
    made: list[Entity] = []

    def add(component: str, object_id: str, name: str, **fields: Any) -> None:
        entity_config = {
            "name": name,
            "unique_id": f"{topics.ha_node}_{object_id}",
            **fields,
            **shared,
        }
        made.append(Entity(component, object_id, entity_config))

    def sensor(object_id: str, name: str, device_class: str, **fields: Any) -> None:
        add(
            "binary_sensor",
            object_id,
            name,
            device_class=device_class,
            state_topic=topics.ha_state,
            value_template=f"{{{{ value_json['{object_id}'] }}}}",
            **fields,
        )

    for door in config.doors:
        label = door.name or door.id
        key = f"door_{door.id}"
        sensor(f"{key}_lock", f"{label} lock", "lock")  # on = unlocked
        if door.contact is not None:
            sensor(f"{key}_contact", f"{label} contact", "door")
        sensor(f"{key}_forced", f"{label} forced open", "safety")
        sensor(f"{key}_held", f"{label} held open", "problem")
        for reader in door.readers:
            sensor(f"reader_{reader.id}_tamper", f"Reader {reader.id} tamper", "tamper")
    if config.inputs.fire_alarm is not None:
        sensor("fire", "Fire alarm", "smoke")
    add(
        "sensor",
        "mode",
        "Mode",
        device_class="enum",
        options=MODES,
        state_topic=topics.ha_state,
        value_template="{{ value_json['mode'] }}",
    )
    add("event", "tag", "Tag scanned", state_topic=topics.ha_tag, event_types=list(TAG_EVENT_TYPES))
    return {topics.ha_config(prefix, e.component, e.object_id): e for e in made}


def entity_states(status: GateStatus, tamper: Mapping[str, bool]) -> dict[str, str]:
    """The value of every state entity, keyed as the discovery templates read them."""
    states = {"mode": status.mode or GateMode.NORMAL.value, "fire": _flag(status.fire_alarm)}
    for door_id, door in status.doors.items():
        key = f"door_{door_id}"
        states[f"{key}_lock"] = _flag(not door.locked)
        states[f"{key}_contact"] = _flag(door.open)
        states[f"{key}_forced"] = _flag(door.forced)
        states[f"{key}_held"] = _flag(door.held)
    for reader in status.readers:
        states[f"reader_{reader}_tamper"] = _flag(tamper.get(reader, False))
    return states


def tag_event(record: DecisionRecord) -> dict[str, str]:
    """A card read as Home Assistant sees it: the masked card only, never the number,
    the credential or who holds it."""
    return {
        "event_type": "granted" if record.granted else "denied",
        "card": record.card,
        "reader": record.reader,
        "door": record.door,
        "reason": record.reason,
    }
