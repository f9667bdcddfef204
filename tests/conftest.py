"""Shared fixtures: configs in temp folders, Apps on a manual clock, a helper to drive them."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agent.core.clock import ManualClock
from agent.gate.app import App
from agent.gate.assemble import build_app
from agent.models.config import GateConfig, validate_config
from agent.models.wire import AllowListEntry
from agent.store.credentials import write_new_key

ROOT = Path(__file__).resolve().parent.parent

BASE: dict[str, Any] = {
    "gate": {"site": "test-site", "gate_id": "g1", "timezone": "Africa/Cairo", "simulated": True},
    "storage": {"dir": "state", "events_max_rows": 1000, "events_max_age_days": 30},
    "security": {"credential_key_file": "site.key"},
    # the console's tests read English; tests/test_console_language.py covers zh-Hans
    "console": {"language": "en"},
    "clock": {"sync_marker": "", "untrusted_policy": "residents_only"},
    "doors": [
        {
            "id": "main",
            "pulse_s": 5.0,
            "held_open_s": 30.0,
            "readers": [{"id": "main-in"}],
            "relay": {"driver": "sim"},
            "contact": {"driver": "sim"},
            "exit_button": {"driver": "sim"},
        },
        {
            "id": "side",
            "pulse_s": 3.0,
            "fail_mode": "safe",
            "release_on_fire": False,
            "release_on_fire_waived": True,  # a bench door the fire input leaves locked
            "readers": [{"id": "side-in"}],
            "relay": {"driver": "sim"},
        },
    ],
    "inputs": {
        "visitor_button": {"driver": "sim", "action": "log_and_open", "door": "main"},
        "fire_alarm": {"driver": "sim"},
    },
    "holidays": {"public": ["2026-06-03"]},
    "schedules": {
        "day": {
            "holidays": "public",
            "windows": [
                {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "18:00"}
            ],
        },
        "night": {"windows": [{"days": ["fri"], "start": "22:00", "end": "06:00"}]},
    },
    "alarms": {
        "reader_denials": {"count": 5, "window_s": 60, "lockout_s": 30},
        "card_denials": {"count": 3, "window_s": 60, "lockout_s": 120},
    },
}


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., GateConfig]:
    key = tmp_path / "site.key"
    if not key.exists():
        write_new_key(key)

    def make(**override: Any) -> GateConfig:
        return validate_config(merge(BASE, override), tmp_path)

    return make


@pytest.fixture
def clock() -> ManualClock:
    # Wednesday 2026-06-10 10:00 in Cairo (UTC+3 in summer)
    return ManualClock(datetime(2026, 6, 10, 7, 0, tzinfo=UTC))


@pytest.fixture
def make_app(
    make_config: Callable[..., GateConfig], clock: ManualClock, request: pytest.FixtureRequest
) -> Iterator[Callable[..., App]]:
    if "broker" in request.fixturenames:
        # the test's broker starts first so it stops last: a gate whose broker is gone
        # sits out paho's reconnect wait (up to a second) before its link can stop
        request.getfixturevalue("broker")
    apps: list[App] = []

    def make(config: GateConfig | None = None, **kwargs: Any) -> App:
        app = build_app(config or make_config(), clock=kwargs.pop("clock", clock), **kwargs)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.stop()


@pytest.fixture
def app(make_app: Callable[..., App]) -> App:
    """An App started without its thread: tests pump the loop on a manual clock."""
    gate = make_app()
    gate.start(threaded=False)
    gate.loop.pump()
    return gate


def enroll(app: App, card: str, version: int = 1, **fields: Any) -> AllowListEntry:
    """Put one card on the app's list (replacing the list)."""
    from drivers.cards import parse_card

    number = parse_card(card)
    entry = AllowListEntry(
        credential=app.hasher.credential(number),
        masked=app.hasher.masked(number),
        **{"holder_id": "R-1", **fields},
    )
    app.allowlist.replace([entry], version)
    return entry


def tap(app: App, card: str, reader: str = "main-in") -> dict[str, Any]:
    """Present ``card`` on a sim reader, pump the loop, return the decision for that read."""
    from dataclasses import asdict

    from drivers.sim import SimCardReader

    device = app.devices.readers[reader]
    assert isinstance(device, SimCardReader)
    decided: list[Any] = []
    app.add_decision_listener(decided.append)
    try:
        read = device.present(card)
        app.loop.pump()
    finally:
        app.reads.listeners.remove(decided.append)
    (record,) = [r for r in decided if r.read_id == read.read_id]
    return asdict(record)


def types(app: App, since: int = 0) -> list[str]:
    return [e.type.value for e in app.events.recent(1000) if e.seq > since]


# -- brokers and the office --------------------------------------------------------------
@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Any]:
    from tests.broker import Mosquitto

    server = Mosquitto(tmp_path / "broker")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def office_key(tmp_path: Path) -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    (tmp_path / "office.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return key


def mqtt_table(broker: Any, office_key: Any, **extra: Any) -> dict[str, Any]:
    from agent.link.signing import public_key_text

    return {
        "enabled": True,
        "host": broker.host,
        "port": broker.port,
        "office_public_key": public_key_text(office_key),
        "reconnect_max_s": 2,
        "status_interval_s": 5,
        **extra,
    }
