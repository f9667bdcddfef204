"""Frame in to relay on, through the real reader drivers: EM4100 serial and Wiegand-26.

The gate runs in process with its core thread. A serial reader reads a pty; a Wiegand
reader watches two gpiozero mock pins; the door's relay is a gpiozero output on a mock
pin whose every change is stamped. For serial, the clock starts when the last byte of
the frame is written (a pty has no baud rate: the wire time of a real RDM6300 frame is
reported beside it). For Wiegand, it starts at the last bit's edge, so the figure
includes the inter-bit timeout that ends a frame; the decode-and-decide part is
reported without it too. JSON out.

    python bench/tap_to_relay.py [--taps 300] [--entries 10000] [--synchronous full]
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

from gpiozero.pins.mock import MockFactory, MockPin

from agent.gate.app import App
from agent.gate.assemble import build_app
from agent.models.config import validate_config
from agent.models.wire import AllowListEntry
from agent.store.credentials import write_new_key
from bench.common import machine, peak_rss_mb, percentiles_ms
from drivers.cards import CardNumber

BAUD = 9600
FRAME_BYTES = 14  # STX, 10 hex digits, 2 checksum digits, ETX
FRAME_TIMEOUT_S = 0.025
D0, D1, RELAY = 5, 6, 17


class StampedPin(MockPin):  # type: ignore[misc]
    """A mock pin that records (perf_counter, state) on every change."""

    def __init__(self, factory: Any, info: Any) -> None:
        super().__init__(factory, info)
        self.stamps: list[tuple[float, bool]] = []
        self.energised = threading.Event()  # the waiter blocks instead of polling the GIL

    def _change_state(self, value: bool) -> bool:
        changed = bool(super()._change_state(value))
        if changed:
            self.stamps.append((time.perf_counter(), value))
            if value:
                self.energised.set()
        return changed


def em4100_frame(value: int) -> bytes:
    digits = f"{value:010X}"
    checksum = 0
    for i in range(0, 10, 2):
        checksum ^= int(digits[i : i + 2], 16)
    return b"\x02" + digits.encode() + f"{checksum:02X}".encode() + b"\x03"


def wiegand26_bits(facility: int, card: int) -> list[int]:
    payload = [(facility << 16 | card) >> (23 - i) & 1 for i in range(24)]
    even = sum(payload[:12]) % 2
    odd = 1 - sum(payload[12:]) % 2
    return [even, *payload, odd]


def build(folder: Path, port: str, factory: MockFactory, entries: int, synchronous: str) -> App:
    write_new_key(folder / "site.key")
    config = validate_config(
        {
            "gate": {"site": "bench", "gate_id": "g1", "simulated": True},
            "storage": {"dir": "state", "synchronous": synchronous},
            "security": {"credential_key_file": "site.key"},
            "clock": {"sync_marker": ""},
            "doors": [
                {
                    "id": "main",
                    "readers": [
                        {"id": "em", "driver": "serial", "port": port, "hold_s": 0},
                        {
                            "id": "wg",
                            "driver": "wiegand",
                            "d0": D0,
                            "d1": D1,
                            "frame_timeout_s": FRAME_TIMEOUT_S,
                        },
                    ],
                    "relay": {"driver": "gpio", "pin": RELAY},
                }
            ],
            "alarms": {
                "reader_denials": {"count": 10**9, "window_s": 1, "lockout_s": 0},
                "card_denials": {"count": 10**9, "window_s": 1, "lockout_s": 0},
            },
        },
        folder,
    )
    app = build_app(config, pin_factory=factory)

    def rows() -> Any:
        for i in range(entries):
            number = CardNumber.from_prox(i, 24)
            yield AllowListEntry(
                credential=app.hasher.credential(number),
                masked=app.hasher.masked(number),
                holder_id=f"R-{i}",
            )

    app.allowlist.replace(rows(), 1)
    return app


def wait_relay(pin: StampedPin, before: int, timeout: float = 2.0) -> float | None:
    pin.energised.wait(timeout)
    return next((stamp for stamp, state in pin.stamps[before:] if state), None)


def pulse(pin: MockPin) -> None:
    pin.drive_low()
    end = time.perf_counter() + 50e-6  # a 50 us pulse
    while time.perf_counter() < end:
        pass
    pin.drive_high()


def run(taps: int, entries: int, synchronous: str) -> dict[str, Any]:
    sys.setswitchinterval(0.0005)  # as `gate-agent run` does
    factory = MockFactory(pin_class=StampedPin)
    master, slave = os.openpty()
    with tempfile.TemporaryDirectory() as tmp:
        app = build(Path(tmp), os.ttyname(slave), factory, entries, synchronous)
        app.start()
        relay: StampedPin = factory.pin(RELAY)
        door = app.doors["main"]
        deadline = time.monotonic() + 10
        while app.status(0).readers["em"].state != "ok" and time.monotonic() < deadline:
            time.sleep(0.05)
        serial_s: list[float] = []
        for i in range(taps + 20):
            app.loop.run_sync(door.lock)
            relay.energised.clear()
            before = len(relay.stamps)
            os.write(master, em4100_frame(i % entries))
            written = time.perf_counter()
            on = wait_relay(relay, before)
            if on is None:
                raise RuntimeError("a serial frame never moved the relay")
            if i >= 20:
                serial_s.append(on - written)
        wiegand_s: list[float] = []
        bit_trains: list[float] = []
        stalls = 0
        d0, d1 = factory.pin(D0), factory.pin(D1)
        for i in range(taps + 20):
            app.loop.run_sync(door.lock)
            time.sleep(FRAME_TIMEOUT_S * 2)  # the line is quiet between cards
            relay.energised.clear()
            before = len(relay.stamps)
            value = i % entries
            start = time.perf_counter()
            for n, bit in enumerate(wiegand26_bits(value >> 16, value & 0xFFFF)):
                if n:
                    time.sleep(0.0015)  # 1.5 ms between bits
                pulse(d1 if bit else d0)
            last_edge = time.perf_counter()
            on = wait_relay(relay, before, 0.5)
            if on is None or last_edge - start > 0.1:
                # this process stalled between two bits for longer than the frame timeout,
                # so the reader rightly saw two short frames: not a sample of the gate
                stalls += 1
                continue
            if i >= 20:
                wiegand_s.append(on - last_edge)
                bit_trains.append(last_edge - start)
        frame_errors = {r: app.status(0).readers[r].frame_errors for r in ("em", "wg")}
        app.stop()
    os.close(master)
    os.close(slave)
    decode = [max(0.0, s - FRAME_TIMEOUT_S) for s in wiegand_s]
    return {
        "benchmark": "tap_to_relay",
        "entries": entries,
        "synchronous": synchronous,
        "serial_em4100": {
            "frame_in_to_relay": percentiles_ms(serial_s),
            "wire_time_ms_at_9600": round(FRAME_BYTES * 10 / BAUD * 1000, 2),
        },
        "wiegand26": {
            "last_bit_to_relay": percentiles_ms(wiegand_s),
            "frame_timeout_ms": FRAME_TIMEOUT_S * 1000,
            "after_frame_timeout": percentiles_ms(decode),
            "bit_train_ms_p50": round(sorted(bit_trains)[len(bit_trains) // 2] * 1000, 2),
            "sender_stalls_skipped": stalls,
        },
        "frame_errors": frame_errors,
        "peak_rss_mb": peak_rss_mb(),
        "machine": machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--taps", type=int, default=300)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--synchronous", choices=["full", "normal"], default="full")
    args = parser.parse_args()
    print(json.dumps(run(args.taps, args.entries, args.synchronous), indent=2))


if __name__ == "__main__":
    main()
