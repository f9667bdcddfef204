"""Re-issue at the desk to the old card denied at a gate: p50/p99 over N re-issues (JSON).

The workplace's action (``lifecycle.reissue``, what the re-issue view calls) runs in this
process on a SQLite office database; the delivery worker (``delivery.run``, what
``gate-office web deliver`` runs) in a thread with ``--poll``; a real mosquitto and
``gate-agent run`` on the simulator's config. The clock starts at the re-issue call and
stops at the first tap of the old card (over the gate's control socket) that is denied.

    .venv/bin/python bench/office_reissue.py [--count 50] [--poll 0.25]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.faces.control import request
from agent.link.signing import public_key_text
from agent.office.parser import _connection as connection_flags
from agent.office.store import OfficeStore
from agent.store.paths import StatePaths
from bench.common import machine
from tests.broker import Mosquitto
from tests.helpers import AgentProcess, write_sim_config

ROOT = Path(__file__).resolve().parent.parent


def _workplace(folder: Path) -> None:
    os.environ["GATE_OFFICE_WEB_SITE_KEY"] = str(ROOT / "config" / "sim-site.key")
    os.environ["GATE_OFFICE_SITE"] = "palm-grove"
    from django.core.management import call_command

    from agent.office.web import boot

    boot.make_keys(folder / "web")
    boot.configure(
        str(folder / "web" / "office.sqlite3"), folder / "web", str(folder / "office.db")
    )
    call_command("migrate", verbosity=0, interactive=False)


def _resident() -> tuple[Any, Any]:
    from datetime import date

    from django.contrib.auth.models import User

    from agent.office.web.register.models import Household, Resident, Unit

    clerk = User.objects.create_user("clerk", password="bench bench bench 1")
    resident = Resident(
        household=Household.objects.create(unit=Unit.objects.create(building="1", room="101")),
        name="bench",
        id_type=Resident.IdType.OTHER,
        move_in=date(2026, 1, 1),
        tenure=Resident.Tenure.OWNER,
        proof_seen=Resident.Proof.OWNERSHIP,
    )
    resident.id_number = "X1"
    resident.save()
    return clerk, resident


def _tap(sock: Path, card: str) -> str:
    """The gate's reason: "granted", "unknown" (not on its list), ..."""
    return str(request(sock, "tap", card=card, door="pedestrian")["result"]["reason"])


def run(count: int, poll: float) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="office-reissue-"))
    broker = Mosquitto(folder / "broker", persistence=False)
    broker.start()
    key = Ed25519PrivateKey.generate()
    (folder / "office.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    mqtt = (
        f'[mqtt]\nenabled = true\nhost = "{broker.host}"\nport = {broker.port}\n'
        f'office_public_key = "{public_key_text(key)}"\nreconnect_max_s = 1\n'
    )
    config = write_sim_config(folder, mqtt=mqtt)
    # a denial per re-issue: the reader's and card's lockouts would end the run (alarms only)
    text = config.read_text().replace("lockout_s = 60 }", "lockout_s = 0 }")
    config.write_text(text.replace("lockout_s = 300 }", "lockout_s = 0 }"))
    store = OfficeStore(folder / "office.db")
    store.db.update_gate("palm-grove", "main-gate", online=True)
    store.close()
    _workplace(folder)
    from agent.office.web.cards import delivery, lifecycle
    from agent.office.web.cards.hashing import card_identity
    from agent.office.web.cards.models import Card

    parser = argparse.ArgumentParser()
    connection_flags(parser)
    args = parser.parse_args(
        ["--host", broker.host, "--port", str(broker.port), "--key", str(folder / "office.key"),
         "--db", str(folder / "office.db"), "--timeout", "15"]
    )  # fmt: skip
    agent = AgentProcess(config)
    sock = StatePaths(folder / "state").control_socket
    stop = threading.Event()
    worker = threading.Thread(target=delivery.run, args=(args, poll, 5.0, stop), daemon=True)
    times: list[float] = []
    try:
        clerk, resident = _resident()
        first = "uid:04B0000000"
        lifecycle.issue(resident, *card_identity(first), clerk)
        delivery.deliver_pending(args)
        assert _tap(sock, first) == "granted", "the first card is not granted"
        worker.start()
        old_number = first
        for n in range(1, count + 1):
            old = Card.objects.get(status=Card.Status.ISSUED)
            new_number = f"uid:04B{n:07X}"
            credential, masked = card_identity(new_number)
            start = time.perf_counter()
            lifecycle.reissue(old, credential, masked, clerk)
            while (reason := _tap(sock, old_number)) == "granted":
                time.sleep(0.002)
            times.append(time.perf_counter() - start)
            assert reason == "unknown", f"the old card is denied for {reason}"
            old_number = new_number
        assert _tap(sock, old_number) == "granted", "the last new card is not granted"
    finally:
        stop.set()
        agent.terminate(9)
        broker.stop()
    ms = sorted(t * 1000 for t in times)
    return {
        "bench": "office_reissue",
        "what": "re-issue action to the old card denied at a simulated gate (real mosquitto)",
        "reissues": len(ms),
        "worker_poll_s": poll,
        "p50_ms": round(statistics.median(ms), 1),
        "p99_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.99))], 1),
        "max_ms": round(ms[-1], 1),
        "machine": machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--poll", type=float, default=0.25, help="the worker's poll (default 0.25)")
    opts = parser.parse_args()
    print(json.dumps(run(opts.count, opts.poll), indent=2))


if __name__ == "__main__":
    main()
