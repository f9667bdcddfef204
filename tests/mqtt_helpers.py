"""The office end of MQTT tests: a real paho client through the project's OfficeLink."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from agent.link.mqtt import MqttSettings
from agent.link.topics import Topics
from agent.office.client import OfficeLink

TOPICS = Topics("gate", "test-site", "g1")


def office(
    broker: Any,
    key: Any = None,
    client_id: str = "office-test",
    clean: bool = False,
    topics: Topics = TOPICS,
    **settings: Any,
) -> OfficeLink:
    """Subscribed to every gate-to-office topic of one gate (persistent session)."""
    subs = topics.outbound
    return OfficeLink(
        MqttSettings(
            host=broker.host,
            port=broker.port,
            client_id=client_id,
            clean_session=clean,
            reconnect_max_s=1,
            **settings,
        ),
        subs,
        key,
    )


def wait_for(check: Callable[[], Any], timeout: float = 20, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def collect_events(
    link: OfficeLink, want: int, timeout: float = 30, topics: Topics = TOPICS
) -> dict[str, dict[str, Any]]:
    """Events by id, in arrival order, until ``want`` distinct ones arrived."""
    seen: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    while len(seen) < want and time.monotonic() < deadline:
        message = link.expect(topics.events, timeout=max(0.1, deadline - time.monotonic()))
        if message is not None:
            # the backlog comes several to a message: {"events": [...]}
            for event in message.get("events", [message]):
                seen[event["id"]] = event
    return seen
