"""A camera's plate push to the barrier's relay, beside a card read in the same run; then
the receiver under a burst of 50 cameras. Prints JSON.

The real App (sim relays, SQLite with synchronous=full) with its plate receiver served by
uvicorn on a free loopback port. A plate round: a Hikvision ``EventNotificationAlert``
(multipart, with a 2 kB picture) posted on a fresh connection with its token; timed
from just before the client connects to the moment the vehicle door's relay is
commanded (``SimRelay.history``); the camera is a process of its own
(``bench/plate_camera.py``), as a real one is a machine of its own. The span holds the
TCP connect, the HTTP parse, the token check, the multipart and XML parse, the hop onto
the core loop, the HMAC, the lookup, the fsynced event and the relay (the picture is
written after the read is handed on). A second figure starts where the request reaches
the receiver's app. A card round: a sim reader's read to the pedestrian door's relay,
as ``bench/decision.py`` times it.
Plate and card rounds alternate, so both see the same machine at the same moments.
The list holds ``--plates`` plates and as many cards.

"Barrier relay commanded" is the barrier's relay: the vehicle door is a barrier
(``kind = "barrier"``, sim loops, ``require_arming`` with the arming loop occupied, so
every read passes the arming filter; a sim LED sign showing each outcome and the free
spaces of a car park behind it, counted from the plates' moves as a gate counts them).

The burst: ``--cameras`` cameras (each a reader of the vehicle door, pinned to its own
loopback address) post ``--burst`` pushes each at once, a thread each in one process, while a
card is tapped at the pedestrian door every few ms: pushes answered per second, reads
decided, drops counted, and the card taps' latency during the burst.

    python bench/plate_to_barrier.py [--plates 100000] [--rounds 2000] [--cameras 50]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.console.anpr import PlateReceiverPart, attach_plates
from agent.gate.app import App
from agent.gate.assemble import build_app
from agent.models.config import validate_config
from agent.models.wire import AllowListEntry
from agent.store.credentials import write_new_key
from bench.common import machine, percentiles_ms
from bench.plate_camera import TOKEN, source
from drivers.cards import CardNumber, Technology
from drivers.plates import PlateNumber
from drivers.sim import SimCardReader, SimInput, SimRelay
from tests.test_plates import hik_alert, multipart

HERE = Path(__file__).resolve().parent
WARMUP = 100
PICTURE = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8 + b"\xff\xd9"


def plate(i: int) -> str:
    return f"京A{i:05d}" if i < 100_000 else f"粤B{i % 100_000:05d}"


def card(i: int) -> CardNumber:
    return CardNumber.from_uid((0x04000000000000 + i * 7919).to_bytes(7, "big"))


def gate(folder: Path, cameras: int) -> tuple[App, PlateReceiverPart]:
    write_new_key(folder / "site.key")
    (folder / "cam.secret").write_text(TOKEN + "\n")
    never = {"count": 10**9, "window_s": 1, "lockout_s": 0}
    camera = {"driver": "anpr-hikvision", "secret_file": "cam.secret",
              "repeat_s": 0, "rate": 1000, "min_confidence": 0.5}  # fmt: skip
    config = validate_config(
        {
            "gate": {
                "site": "bench",
                "gate_id": "g1",
                "timezone": "Asia/Shanghai",
                "simulated": True,
            },
            "storage": {"dir": "state", "synchronous": "full"},
            "security": {"credential_key_file": "site.key"},
            "clock": {"sync_marker": ""},
            "doors": [
                {"id": "pedestrian", "readers": [{"id": "card"}], "relay": {"driver": "sim"}},
                {
                    "id": "vehicle",
                    "kind": "barrier",
                    "relay": {"driver": "sim"},
                    "readers": [
                        {"id": f"cam{n}", "address": source(n), **camera} for n in range(cameras)
                    ],
                    "barrier": {
                        "presence_loop": {"driver": "sim"},
                        "arming_loop": {"driver": "sim"},
                        "require_arming": True,
                        "sign": {"driver": "sim"},
                    },
                },
            ],
            "alarms": {"reader_denials": never, "card_denials": never},
            "plates": {"enabled": True, "port": 0, "picture_days": 7},
            # the car park behind the barrier: every camera moves a car in (the count and
            # the sign's free spaces follow each grant, as on a gate)
            "presence": {
                "areas": {
                    "car-park": {"capacity": 10**6, "counts": ["vehicle"], "exit_elsewhere": True}
                },
                "passages": {
                    f"cam{n}": {"from": "outside", "to": "car-park"} for n in range(cameras)
                },
            },
        },
        folder,
    )
    app = build_app(config)
    part = attach_plates(app)
    assert part is not None
    app.start()
    arming = app.devices.inputs["vehicle.arming"]
    assert isinstance(arming, SimInput)
    arming.set(True)  # a car waits at the barrier: every read is decided
    return app, part


def enroll(app: App, count: int) -> None:
    def entries() -> Iterator[AllowListEntry]:
        for i in range(count):
            for number in (card(i), PlateNumber(Technology.PLATE, 0, 0, plate(i))):
                credential, masked = app.hasher.identify(number)
                yield AllowListEntry(credential=credential, masked=masked, holder_id=f"R-{i}")

    assert app.allowlist.replace(entries(), 1) == 2 * count


def camera_process(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(HERE / "plate_camera.py"), *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip


def alternate(app: App, part: PlateReceiverPart, entries: int, rounds: int) -> dict[str, Any]:
    port, receiver = part.port or 0, part.receiver
    reader = app.devices.readers["card"]
    plate_relay, card_relay = app.doors["vehicle"].relay, app.doors["pedestrian"].relay
    assert isinstance(reader, SimCardReader)
    assert isinstance(plate_relay, SimRelay) and isinstance(card_relay, SimRelay)
    rng = random.Random(5)
    plates_s: list[float] = []
    handled_s: list[float] = []
    cards_s: list[float] = []
    body_file = app.paths.dir / "push.body"
    camera = camera_process("one")
    assert camera.stdin is not None and camera.stdout is not None
    try:
        for i in range(rounds + WARMUP):
            content_type, body = multipart(hik_alert(plate(rng.randrange(entries))), PICTURE)
            body_file.write_bytes(body)
            app.loop.run_sync(app.doors["vehicle"].lock)
            moves = len(plate_relay.history)
            camera.stdin.write(f"{port} 0 {body_file} {content_type}\n")
            camera.stdin.flush()
            started, status = camera.stdout.readline().split()
            assert status == "200", status
            app.settle()
            assert len(plate_relay.history) == moves + 1, "a listed plate did not move the relay"
            moved = plate_relay.history[-1][0]
            app.loop.run_sync(app.doors["pedestrian"].lock)
            number = card(rng.randrange(entries))
            read = reader.present(f"uid:{number.value:014x}")
            app.settle()
            if i >= WARMUP:
                plates_s.append(moved - float(started))
                handled_s.append(moved - receiver.last_push_at)
                cards_s.append(card_relay.history[-1][0] - read.at)
    finally:
        camera.stdin.close()
        camera.wait()
    plates, cards = percentiles_ms(plates_s), percentiles_ms(cards_s)
    return {
        "plate_request_to_relay": plates,
        "plate_request_handled_to_relay": percentiles_ms(handled_s),
        "card_read_to_relay": cards,
        "p99_difference_ms": round(plates["p99_ms"] - cards["p99_ms"], 3),
        "within_2ms_of_card_at_p99": plates["p99_ms"] - cards["p99_ms"] <= 2.0,
    }


def burst(app: App, part: PlateReceiverPart, cameras: int, each: int) -> dict[str, Any]:
    reader = app.devices.readers["card"]
    card_relay = app.doors["pedestrian"].relay
    assert isinstance(reader, SimCardReader) and isinstance(card_relay, SimRelay)
    folder = app.paths.dir / "burst"
    folder.mkdir()
    for n in range(cameras):
        for k in range(each):
            content_type, body = multipart(hik_alert(plate(100_000 + n * each + k)), PICTURE)
            (folder / f"{n}-{k:04d}.body").write_bytes(body)
    (folder / "content-type").write_text(content_type)
    decided_before = len(app.doors["vehicle"].relay.history)  # type: ignore[attr-defined]
    cams = camera_process("burst", str(part.port), str(cameras), str(folder))
    assert cams.stdin is not None and cams.stdout is not None
    time.sleep(1.0)  # the camera threads are up and waiting
    cams.stdin.write("go\n")
    cams.stdin.flush()
    started = time.monotonic()
    taps: list[float] = []
    while cams.poll() is None:
        app.loop.run_sync(app.doors["pedestrian"].lock)
        read = reader.present(f"uid:{card(len(taps)).value:014x}")
        app.settle()
        taps.append(card_relay.history[-1][0] - read.at)
        time.sleep(0.005)
    elapsed = time.monotonic() - started
    statuses = json.loads(cams.stdout.read())
    app.settle()
    counts = part.receiver.counts()
    refused = {k: v for k, v in counts.items() if k.startswith("cam") and v}
    return {
        "cameras": cameras,
        "pushes": len(statuses),
        "seconds": round(elapsed, 2),
        "answered_per_s": round(len(statuses) / elapsed, 1),
        "statuses": {str(s): statuses.count(s) for s in sorted(set(statuses))},
        "refused_by_camera": refused,
        "accepted_and_decided_as_denials": statuses.count(200),  # these plates are not listed
        "card_read_to_relay_during_burst": percentiles_ms(taps),
        "vehicle_relay_moves": len(app.doors["vehicle"].relay.history) - decided_before,  # type: ignore[attr-defined]
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plates", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--cameras", type=int, default=50)
    parser.add_argument("--burst", type=int, default=20, help="pushes per camera")
    args = parser.parse_args()
    sys.setswitchinterval(0.0005)  # as `gate-agent run` does
    folder = Path(tempfile.mkdtemp(prefix="plate-bench-"))
    try:
        app, part = gate(folder, args.cameras)
        try:
            enroll(app, args.plates)
            assert part.port is not None
            result = {
                "machine": machine(),
                "plates_on_list": args.plates,
                "cards_on_list": args.plates,
                "rounds": args.rounds,
                "alternating": alternate(app, part, args.plates, args.rounds),
                "car_park_after_rounds": app.status(0).occupancy["car-park"].counts,
                "sign_after_rounds": list(app.status(0).barriers["vehicle"].sign or []),
                "burst": burst(app, part, args.cameras, args.burst),
            }
        finally:
            app.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
