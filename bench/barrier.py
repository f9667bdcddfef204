"""A card at a vehicle barrier (arming loop required and occupied) to the arm's relay, and
at a plain door beside it, while the barrier's LED sign is stalled: a sign on a pty that
nobody reads, so its writer blocks until its write timeout, again and again. The arm's
relay and the door's strike are gpiozero outputs on mock pins stamped at every change;
the clock starts when the read is handed to the reader's hook. JSON out.

    python bench/barrier.py [--taps 300]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gpiozero.pins.mock import MockFactory

from agent.gate.assemble import build_app
from agent.models.config import validate_config
from agent.models.wire import AllowListEntry
from agent.store.credentials import write_new_key
from bench.common import machine, percentiles_ms
from bench.tap_to_relay import StampedPin
from drivers.cards import parse_card
from drivers.sign import SerialSign
from drivers.sim import SimCardReader, SimInput

ARM, STRIKE = 17, 18
CARD = "uid:04A1B2C3"


def config(folder: Path, sign_port: str) -> dict[str, Any]:
    return {
        "gate": {"site": "bench", "gate_id": "g1", "simulated": True},
        "storage": {"dir": str(folder / "state")},
        "security": {"credential_key_file": str(folder / "site.key")},
        "clock": {"sync_marker": ""},
        "doors": [
            {"id": "car", "kind": "barrier", "readers": [{"id": "car-in"}],
             "relay": {"driver": "gpio", "pin": ARM},
             "barrier": {"presence_loop": {"driver": "sim"}, "arming_loop": {"driver": "sim"},
                         "require_arming": True,
                         "sign": {"driver": "serial", "port": sign_port, "write_timeout_s": 0.2,
                                  "retry_s": 0.05}}},
            {"id": "main", "readers": [{"id": "main-in"}],
             "relay": {"driver": "gpio", "pin": STRIKE}},
        ],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--taps", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_new_key(folder / "site.key")
        master, slave = os.openpty()  # the sign's port; the master is never read
        factory = MockFactory(pin_class=StampedPin)
        app = build_app(validate_config(config(folder, os.ttyname(slave))), pin_factory=factory)
        number = parse_card(CARD)
        entry = AllowListEntry(credential=app.hasher.credential(number),
                               masked=app.hasher.masked(number), holder_id="R-1")  # fmt: skip
        app.allowlist.replace([entry], 1)
        app.start()
        try:
            arming = app.devices.inputs["car.arming"]
            assert isinstance(arming, SimInput)
            arming.set(True)
            sign = app.hardware.signs["car"]
            assert isinstance(sign, SerialSign)
            deadline, n = time.monotonic() + 30, 0
            while not sign.last_error and time.monotonic() < deadline:  # fill the pty
                n += 1
                sign.show((f"{n:016d}", f"{n:016d}"))
                time.sleep(0.0005)
            filled = sign.sent
            samples: dict[str, list[float]] = {"car": [], "main": []}
            for n in range(args.taps):
                door, pin = ("car", ARM) if n % 2 == 0 else ("main", STRIKE)
                relay: Any = factory.pin(pin)
                relay.energised.clear()
                reader = app.devices.readers[f"{door}-in"]
                assert isinstance(reader, SimCardReader)
                start = time.perf_counter()
                reader.present(CARD)
                assert relay.energised.wait(5), f"{door}: the relay never moved"
                samples[door].append(relay.stamps[-1][0] - start)
                app.loop.run_sync(app.doors[door].lock)  # the arm down, the strike locked
            result = {
                "bench": "barrier",
                "taps": args.taps,
                "barrier_tap_to_relay_ms": percentiles_ms(samples["car"]),
                "plain_door_tap_to_relay_ms": percentiles_ms(samples["main"]),
                "sign_updates_before_it_stalled": filled,
                "sign_updates_written_during_taps": sign.sent - filled,
                "sign_stalled": bool(sign.last_error),
                "sign_last_error": sign.last_error[:80],
                "machine": machine(),
            }
        finally:
            app.stop()
            os.close(master)
            os.close(slave)
            factory.close()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
