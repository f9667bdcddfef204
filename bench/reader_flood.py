"""A card tap at one door while a serial pass scanner at another floods the gate.

The gate runs in process with its core thread. Door "scan" has a scanner-serial reader
on a pty; a thread writes ``--lines`` distinct lines into it as fast as the pty takes
them. Meanwhile door "card" gets ``--taps`` taps on its simulated reader, one after
another (20 ms apart), for as long as the flood lasts and at least ``--taps``; each is
timed from the read to its relay moving. Also reported: the scans decided and dropped,
and the reader_flood alarms raised. JSON out.

    python bench/reader_flood.py [--lines 10000] [--taps 50]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.gate.assemble import build_app
from agent.models.config import validate_config
from agent.models.wire import AllowListEntry
from agent.store.credentials import write_new_key
from bench.common import machine, percentiles_ms
from drivers.cards import parse_card
from drivers.sim import SimCardReader, SimRelay

CARD = "uid:04A224B2"


def run(lines: int, taps: int) -> dict[str, Any]:
    sys.setswitchinterval(0.0005)  # as `gate-agent run` does
    master, slave = os.openpty()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_new_key(folder / "site.key")
        scanner = {"id": "qr", "driver": "scanner-serial", "port": os.ttyname(slave)}
        config = validate_config(
            {
                "gate": {"site": "bench", "gate_id": "g1", "simulated": True},
                "storage": {"dir": "state"},
                "security": {"credential_key_file": "site.key"},
                "clock": {"sync_marker": ""},
                "doors": [
                    {"id": "scan", "readers": [scanner], "relay": {"driver": "sim"}},
                    {"id": "card", "readers": [{"id": "in"}], "relay": {"driver": "sim"}},
                ],
                "alarms": {
                    "reader_denials": {"count": 10**9, "window_s": 1, "lockout_s": 0},
                    "card_denials": {"count": 10**9, "window_s": 1, "lockout_s": 0},
                },
            },
            folder,
        )
        app = build_app(config)
        number = parse_card(CARD)
        entry = AllowListEntry(credential=app.hasher.credential(number),
                               masked=app.hasher.masked(number), holder_id="R-1")  # fmt: skip
        app.allowlist.replace([entry], 1)
        app.start()
        try:
            deadline = time.monotonic() + 10
            while app.status(0).readers["qr"].state != "ok" and time.monotonic() < deadline:
                time.sleep(0.05)
            reader, door = app.devices.readers["in"], app.doors["card"]
            relay = door.relay
            assert isinstance(reader, SimCardReader) and isinstance(relay, SimRelay)
            flood = b"".join(b"GUESS-%06d\r\n" % n for n in range(lines))
            writer = threading.Thread(target=_write_all, args=(master, flood), daemon=True)
            started = time.monotonic()
            writer.start()
            waits: list[float] = []
            late = 0
            while len(waits) + late < taps or writer.is_alive():  # taps all through the flood
                app.loop.run_sync(door.lock, timeout=60)
                moves = len(relay.history)
                read = reader.present(CARD)
                end = time.monotonic() + 30
                while len(relay.history) == moves and time.monotonic() < end:
                    time.sleep(0.0005)
                if len(relay.history) == moves:
                    late += 1
                    continue
                waits.append(relay.history[moves][0] - read.at)
                time.sleep(0.02)
            writer.join(120)
            flood_s = time.monotonic() - started
            app.settle()
            events = app.events.recent(lines + 1000)
            scans = sum(1 for e in events if e.type.value == "pass_refused")
            alarms = [e.details for e in events if e.type.value == "reader_flood"]
        finally:
            app.stop()
            os.close(master)
    return {
        "bench": "reader_flood",
        "machine": machine(),
        "flood_lines": lines,
        "taps": len(waits) + late,
        "other_door_tap_to_relay": percentiles_ms(waits),
        "taps_not_decided_within_30s": late,
        "scans_decided": scans,
        "scans_dropped": lines - scans,
        "reader_flood_alarms": alarms,
        "flood_written_s": round(flood_s, 2),
    }


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view[:4096]) :]
        except OSError:
            return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--taps", type=int, default=50)
    args = parser.parse_args()
    print(json.dumps(run(args.lines, args.taps), indent=2))


if __name__ == "__main__":
    main()
