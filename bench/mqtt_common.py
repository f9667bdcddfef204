"""A gate App wired to a private mosquitto, shared by the MQTT benchmarks."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.gate.app import App
from agent.link.signing import public_key_text
from bench.common import bench_gate
from tests.broker import Mosquitto

# No office takes the bench gate's events, so none is ever receipted: after 30 s the
# gate would send its whole backlog again (and again, doubling), a burst of publishing
# that no gate with an office behind it makes. A bench measuring something else sets
# the wait to its longest.
NO_RESEND = {"receipt_timeout_s": 3600}


def broker_and_gate(
    folder: Path, mqtt: dict[str, Any] | None = None
) -> tuple[Mosquitto, Ed25519PrivateKey, App]:
    """A started mosquitto, the office key, and a gate App (not started) pointing at it
    (``mqtt``: more of the gate's ``[mqtt]`` settings)."""
    broker = Mosquitto(folder / "broker", persistence=False)
    broker.start()
    key = Ed25519PrivateKey.generate()
    app = bench_gate(
        folder,
        {"events_max_rows": 1_000_000},
        {
            "host": broker.host,
            "port": broker.port,
            "office_public_key": public_key_text(key),
            **(mqtt or {}),
        },
    )
    return broker, key, app
