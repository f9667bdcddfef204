"""Home Assistant MQTT discovery against a real mosquitto: what HA would see, and never more."""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from agent.core.clock import SystemClock
from agent.faces.simulate import SimControls
from agent.gate.app import App
from agent.link.mqtt import Handlers, MqttConnection, MqttSettings
from agent.link.wiring import GateLink, attach
from agent.models.homeassistant import HomeAssistantConfig
from drivers.sim import SimCardReader
from tests.broker import Mosquitto
from tests.conftest import BASE, enroll, mqtt_table
from tests.mqtt_helpers import TOPICS, wait_for

PREFIX = "homeassistant"
NODE = "gate-agent_test-site_g1"
BIRTH = "homeassistant/status"
CARD = "uid:04A1B2C3"
EXPECTED = {
    f"{PREFIX}/binary_sensor/{NODE}/{object_id}/config": device_class
    for object_id, device_class in {
        "door_main_lock": "lock",
        "door_main_contact": "door",
        "door_main_forced": "safety",
        "door_main_held": "problem",
        "reader_main-in_tamper": "tamper",
        "door_side_lock": "lock",  # the side door has no contact: no door entity
        "door_side_forced": "safety",
        "door_side_held": "problem",
        "reader_side-in_tamper": "tamper",
        "fire": "smoke",
    }.items()
} | {f"{PREFIX}/sensor/{NODE}/mode/config": "enum", f"{PREFIX}/event/{NODE}/tag/config": None}


class Listener:
    """A plain MQTT client that records everything on its subscriptions (as HA would)."""

    def __init__(self, broker: Any, *patterns: str, **settings: Any) -> None:
        self._lock = threading.Lock()
        self.received: list[tuple[str, bytes]] = []
        self.conn = MqttConnection(
            MqttSettings(broker.host, broker.port, f"listener-{time.monotonic_ns()}", **settings),
            Handlers(message=self._record, subscriptions=[(p, 1) for p in patterns]),
        )
        self.conn.start()
        assert self.conn.wait_connected(10)

    def _record(self, topic: str, payload: bytes) -> None:
        with self._lock:
            self.received.append((topic, payload))

    def latest(self) -> dict[str, bytes]:
        """The newest payload on each topic (an empty one: the retained message was cleared)."""
        with self._lock:
            return dict(self.received)

    def configs(self) -> dict[str, dict[str, Any]]:
        return {t: json.loads(p) for t, p in self.latest().items() if t.endswith("/config") and p}

    def state(self) -> dict[str, str]:
        payload = self.latest().get(TOPICS.ha_state)
        return json.loads(payload) if payload else {}

    def tags(self) -> list[dict[str, str]]:
        with self._lock:
            return [json.loads(p) for t, p in self.received if t == TOPICS.ha_tag]

    def close(self) -> None:
        self.conn.stop()


@pytest.fixture
def listeners(broker: Any) -> Iterator[list[Listener]]:
    made: list[Listener] = []
    yield made
    for listener in made:
        listener.close()


def ha_config(make_config: Any, broker: Any, office_key: Any, **mqtt: Any) -> Any:
    doors = copy.deepcopy(BASE["doors"])
    doors[0]["pulse_s"] = 1.0  # the relock shows within a test's patience
    table = mqtt_table(broker, office_key, homeassistant={"enabled": True}, **mqtt)
    return make_config(mqtt=table, doors=doors)


def start(make_app: Any, config: Any) -> tuple[App, GateLink]:
    app = make_app(config, clock=SystemClock())
    link = attach(app)
    app.start(threaded=True)
    assert link.conn.wait_connected(10)
    return app, link


def announced(link: GateLink, times: int = 1) -> None:
    assert link.homeassistant is not None
    ha = link.homeassistant
    wait_for(lambda: ha.announcements >= times, what=f"announcement {times}")


def wait_state(listener: Listener, **want: str) -> dict[str, str]:
    def matches() -> dict[str, str] | None:
        state = listener.state()
        return state if all(state.get(k) == v for k, v in want.items()) else None

    found: dict[str, str] = wait_for(matches, timeout=10, what=f"state {want}")
    return found


def test_discovery_configs_are_retained_on_one_device_and_read_only(  # type: ignore[no-untyped-def]
    make_app, make_config, office_key, tmp_path: Path
) -> None:
    # through a gate account confined by the ACL that Topics.acl writes for discovery
    acl = TOPICS.acl("gate-g1", (PREFIX, BIRTH)) + "\nuser ha\ntopic readwrite #\n"
    broker = Mosquitto(tmp_path / "acl", users={"gate-g1": "pw1", "ha": "pw2"}, acl=acl)
    broker.start()
    try:
        (tmp_path / "g1.pw").write_text("pw1\n")
        config = ha_config(
            make_config,
            broker,
            office_key,
            username="gate-g1",
            password_file=str(tmp_path / "g1.pw"),
        )
        app, link = start(make_app, config)
        announced(link)
        # a client that arrives later still gets every config and the state: retained
        ha = Listener(broker, f"{PREFIX}/#", f"{TOPICS.root}/#", username="ha", password="pw2")
        try:
            wait_for(lambda: set(ha.configs()) == set(EXPECTED), what="every discovery config")
            configs = ha.configs()
            state = wait_state(ha, mode="normal", door_main_lock="OFF", door_main_contact="OFF")
            # the birth topic was readable: the gate's subscription was granted by the ACL
            ha.conn.publish(BIRTH, b"online")
            announced(link, 2)
            app.stop()
            wait_for(lambda: b'"online":false' in ha.latest()[TOPICS.status], what="last status")
        finally:
            ha.close()
    finally:
        broker.stop()

    unique_ids = [c["unique_id"] for c in configs.values()]
    assert len(set(unique_ids)) == len(EXPECTED)
    for topic, entity in configs.items():
        object_id = topic.split("/")[3]
        assert entity["unique_id"] == f"{NODE}_{object_id}"
        assert entity.get("device_class") == EXPECTED[topic]
        assert entity["device"]["identifiers"] == [NODE]
        assert entity["availability"] == [
            {
                "topic": TOPICS.status,
                "value_template": "{{ 'online' if value_json.online else 'offline' }}",
            }
        ]
        assert not any("command" in key for key in entity), f"{topic} can command the gate"
        if object_id != "tag":
            assert entity["state_topic"] == TOPICS.ha_state
            assert entity["value_template"] == f"{{{{ value_json['{object_id}'] }}}}"
            assert object_id in state
    mode = configs[f"{PREFIX}/sensor/{NODE}/mode/config"]
    assert mode["options"] == ["normal", "lockdown", "release"]
    tag = configs[f"{PREFIX}/event/{NODE}/tag/config"]
    assert tag["state_topic"] == TOPICS.ha_tag and tag["event_types"] == ["granted", "denied"]


def test_doors_alarms_and_taps_reach_home_assistant_without_card_numbers(  # type: ignore[no-untyped-def]
    make_app, make_config, broker, office_key, listeners
) -> None:
    ha = Listener(broker, f"{PREFIX}/#", f"{TOPICS.root}/ha/#")
    listeners.append(ha)
    app, _link = start(make_app, ha_config(make_config, broker, office_key))
    sim = SimControls(app)
    wait_state(ha, door_main_contact="OFF", door_main_forced="OFF", fire="OFF")

    sim.door("open", door="main")  # nobody was let in: forced open
    wait_state(ha, door_main_contact="ON", door_main_forced="ON", door_main_lock="OFF")
    sim.door("close", door="main")
    wait_state(ha, door_main_contact="OFF", door_main_forced="OFF")

    entry = app.loop.run_sync(lambda: enroll(app, CARD, holder_id="R-7"))
    assert sim.tap(CARD, door="main").granted
    wait_state(ha, door_main_lock="ON")  # unlocked for the pulse ...
    wait_state(ha, door_main_lock="OFF")  # ... and locked again without any event
    assert not sim.tap("uid:0BADCAFE", door="main").granted

    reader = app.devices.readers["main-in"]
    assert isinstance(reader, SimCardReader)
    reader.tamper(True)
    wait_state(ha, **{"reader_main-in_tamper": "ON"})
    sim.fire(True)
    state = wait_state(ha, fire="ON", mode="release", door_main_lock="ON")
    assert state["door_side_lock"] == "OFF"  # release_on_fire = false there

    tags = wait_for(lambda: ha.tags() if len(ha.tags()) >= 2 else None, what="two tag events")
    granted, denied = tags
    assert granted == {
        "event_type": "granted",
        "card": "uid:****B2C3",
        "reader": "main-in",
        "door": "main",
        "reason": "granted",
    }
    assert denied["event_type"] == "denied" and denied["reason"] == "unknown"
    everything = b"\n".join(topic.encode() + b" " + payload for topic, payload in ha.received)
    for secret in ("04A1B2C3", "0BADCAFE", "R-7", entry.credential, "holder"):
        assert secret.encode() not in everything, f"{secret} reached Home Assistant"


def test_birth_message_announces_again(  # type: ignore[no-untyped-def]
    make_app, make_config, broker, office_key, listeners
) -> None:
    app, link = start(make_app, ha_config(make_config, broker, office_key))
    announced(link)
    first = Listener(broker, f"{PREFIX}/#")
    listeners.append(first)
    wait_for(lambda: set(first.configs()) == set(EXPECTED), what="configs")
    for topic in EXPECTED:  # Home Assistant lost them (a wiped broker, a deleted device)
        first.conn.publish(topic, b"", retain=True)
    wait_for(lambda: not first.configs(), what="configs cleared")

    first.conn.publish(BIRTH, b"online")
    announced(link, 2)
    later = Listener(broker, f"{PREFIX}/#")  # retained again, for whoever comes next
    listeners.append(later)
    wait_for(lambda: set(later.configs()) == set(EXPECTED), what="configs announced again")
    # not an office message: no refusal, no alarm
    assert all(e.type.value != "security_alert" for e in app.events.recent(100))


def test_off_by_default_nothing_is_published_for_home_assistant(  # type: ignore[no-untyped-def]
    make_app, make_config, broker, office_key, listeners
) -> None:
    watcher = Listener(broker, f"{PREFIX}/#", f"{TOPICS.root}/#")
    listeners.append(watcher)
    app, link = start(make_app, make_config(mqtt=mqtt_table(broker, office_key)))
    assert link.homeassistant is None
    watcher.conn.publish(BIRTH, b"online")
    sim = SimControls(app)
    sim.door("open", door="main")
    sim.tap(CARD, door="main")
    wait_for(lambda: app.events.depth() == 0, what="the events to reach the broker")
    time.sleep(1.0)  # Home Assistant traffic, had there been any, is out within this
    topics = {topic for topic, _ in watcher.received}
    assert TOPICS.events in topics
    assert not [t for t in topics if t.startswith(f"{PREFIX}/") and t != BIRTH]
    assert not [t for t in topics if t.startswith(f"{TOPICS.root}/ha/")]


def test_config_is_off_by_default_and_refuses_wildcards_and_unknown_keys() -> None:
    default = HomeAssistantConfig()
    assert not default.enabled and default.discovery_prefix == PREFIX
    assert default.birth_topic == BIRTH
    for bad in ({"discovery_prefix": "ha/#"}, {"birth_topic": "ha/+/s"}, {"prefix": "x"}):
        with pytest.raises(ValidationError):
            HomeAssistantConfig.model_validate(bad)


def test_docs_show_what_the_code_announces() -> None:
    """docs/homeassistant.md's YAML examples and ACL lines are what the gate really sends."""
    import re
    import tomllib

    from agent.link.ha_discovery import entities
    from agent.link.topics import Topics
    from agent.models.config import GateConfig
    from tests.conftest import ROOT

    text = (ROOT / "docs" / "homeassistant.md").read_text()
    sim = GateConfig.model_validate(tomllib.loads((ROOT / "config" / "sim.toml").read_text()))
    topics = Topics("gate", "palm-grove", "main-gate")
    announced = entities(sim, topics, PREFIX, "0.1.0")
    blocks = re.findall(r"^# (homeassistant/\S+/config)\n((?:.+\n)+)", text, re.MULTILINE)
    assert len(blocks) >= 8
    for topic, body in blocks:
        assert topic in announced, f"docs show {topic}, which the gate does not announce"
        config = announced[topic].config
        for key, value in re.findall(r"^(\w+): (.+)$", body, re.MULTILINE):
            assert json.loads(value) == config[key], f"{topic}: {key}"
    acl = topics.acl("gate-palm-grove-main-gate", (PREFIX, BIRTH))
    extra = acl.removeprefix(topics.acl("gate-palm-grove-main-gate").removesuffix("\n"))
    assert extra.strip() and extra.strip() in text
