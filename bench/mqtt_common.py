"""A gate App wired to a private mosquitto, shared by the MQTT benchmarks."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.app import App
from agent.credentials import write_new_key
from agent.models.config import validate_config
from agent.signing import public_key_text
from tests.broker import Mosquitto


def gate(folder: Path, broker: Mosquitto, office_key: Ed25519PrivateKey, **mqtt: Any) -> App:
    write_new_key(folder / "site.key")
    config = validate_config(
        {
            "gate": {"site": "bench", "gate_id": "g1", "timezone": "Africa/Cairo"},
            "storage": {"dir": "state", "events_max_rows": 1_000_000},
            "security": {"credential_key_file": "site.key"},
            "clock": {"sync_marker": ""},
            "doors": [{"id": "main", "readers": [{"id": "r1"}], "relay": {"driver": "sim"}}],
            "alarms": {
                "reader_denials": {"count": 10**9, "window_s": 1, "lockout_s": 0},
                "card_denials": {"count": 10**9, "window_s": 1, "lockout_s": 0},
            },
            "mqtt": {
                "enabled": True,
                "host": broker.host,
                "port": broker.port,
                "office_public_key": public_key_text(office_key),
                **mqtt,
            },
        },
        folder,
    )
    return App(config)
