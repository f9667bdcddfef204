"""``[mqtt.homeassistant]``: Home Assistant MQTT discovery, off unless asked for."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, StrictBool

from agent.models.base import Strict


def _plain_topic(value: str) -> str:
    # the gate publishes to and subscribes to these: no wildcards, no empty levels
    if not value or len(value) > 200:
        raise ValueError("a topic of 1 to 200 characters")
    if any(c in value for c in "+#\x00"):
        raise ValueError("no MQTT wildcards (+ #) in a topic")
    if value.startswith("/") or value.endswith("/") or "//" in value:
        raise ValueError("no empty topic levels (leading, trailing or double /)")
    return value


PlainTopic = Annotated[str, AfterValidator(_plain_topic)]


class HomeAssistantConfig(Strict):
    """Read-only entities for Home Assistant, announced by MQTT discovery."""

    enabled: StrictBool = False
    discovery_prefix: PlainTopic = "homeassistant"
    # Home Assistant says "online" here when it (re)starts: the gate announces again
    birth_topic: PlainTopic = "homeassistant/status"
