"""A 100,000-entry snapshot over MQTT, and decision latency while it applies.

The gate holds a 100,000-entry list (version 1). The office, in a process of its own as
in service, sends version 2, another 100,000 entries, as signed chunks through a local
mosquitto. Meanwhile a thread taps cards present in both lists and records
card-read-to-relay latency. JSON out.

    python bench/snapshot.py [--entries 100000] [--chunk 1000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from agent.link.mqtt import MqttSettings
from agent.link.topics import Topics
from agent.link.wiring import attach
from agent.models.messages import SnapshotChunk
from agent.models.wire import AllowListEntry
from agent.office.client import OfficeLink
from bench.common import machine, peak_rss_mb, percentiles_ms
from bench.mqtt_common import broker_and_gate
from drivers.cards import CardNumber
from drivers.sim import SimCardReader, SimRelay


def entries(app: Any, count: int, holder: str) -> list[AllowListEntry]:
    out = []
    for i in range(count):
        number = CardNumber.from_uid((0x04000000000000 + i * 7919).to_bytes(7, "big"))
        out.append(
            AllowListEntry(
                credential=app.hasher.credential(number),
                masked=app.hasher.masked(number),
                holder_id=f"{holder}-{i}",
            )
        )
    return out


def tap_loop(app: Any, stop: threading.Event, samples: list[float]) -> None:
    reader, door = app.devices.readers["r1"], app.doors["main"]
    relay = door.relay
    assert isinstance(reader, SimCardReader) and isinstance(relay, SimRelay)
    i = 0
    while not stop.is_set():
        card = "uid:" + (0x04000000000000 + (i % 1000) * 7919).to_bytes(7, "big").hex()
        app.loop.run_sync(door.lock)
        before = len(relay.history)
        read = reader.present(card)
        app.loop.run_sync(lambda: None)
        if len(relay.history) > before:
            samples.append(relay.history[-1][0] - read.at)
        i += 1
        time.sleep(0.005)


def office_process(
    conn: Any, host: str, port: int, key_pem: bytes, entries_json: list[str], chunk_size: int
) -> None:
    """The office: waits for "go", sends the snapshot, reports timings back."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(key_pem, password=None)
    topics = Topics("gate", "bench", "g1")
    entries = [AllowListEntry.model_validate_json(e) for e in entries_json]
    office = OfficeLink(
        MqttSettings(host=host, port=port, client_id="bench-office"), [topics.allowlist_ack], key
    )  # type: ignore[arg-type]
    with office:
        conn.send("ready")
        conn.recv()
        started = time.perf_counter()
        snapshot_id = uuid.uuid4().hex
        parts = [entries[i : i + chunk_size] for i in range(0, len(entries), chunk_size)]
        for index, part in enumerate(parts):
            chunk = SnapshotChunk.model_construct(
                version=2, snapshot_id=snapshot_id, chunk=index, chunks=len(parts), entries=part
            )
            office.send(topics.allowlist_snapshot, chunk.model_dump_json(), timeout=60)
        sent = time.perf_counter() - started
        ack = office.expect(topics.allowlist_ack, timeout=120)
        conn.send((sent, time.perf_counter() - started, ack, len(parts)))


def run(count: int, chunk_size: int) -> dict[str, Any]:
    import multiprocessing

    from cryptography.hazmat.primitives import serialization

    sys.setswitchinterval(0.0005)  # as `gate-agent run` sets it
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        broker, key, app = broker_and_gate(folder)
        app.allowlist.replace(entries(app, count, "old"), 1)
        new = [e.model_dump_json() for e in entries(app, count, "new")]
        attach(app)
        app.start(threaded=True)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        ours, theirs = multiprocessing.Pipe()
        sender = multiprocessing.get_context("spawn").Process(
            target=office_process, args=(theirs, broker.host, broker.port, pem, new, chunk_size)
        )
        sender.start()
        assert ours.recv() == "ready"
        quiet: list[float] = []
        during: list[float] = []
        stop = threading.Event()
        thread = threading.Thread(target=tap_loop, args=(app, stop, quiet))
        thread.start()
        time.sleep(2)
        stop.set()
        thread.join()

        stop = threading.Event()
        thread = threading.Thread(target=tap_loop, args=(app, stop, during))
        thread.start()
        ours.send("go")
        sent, applied, ack, chunks = ours.recv()
        stop.set()
        thread.join()
        sender.join(30)
        assert ack and ack["ok"] and app.allowlist.version() == 2, ack
        size = app.allowlist.count()
        app.stop()
        broker.stop()
        return {
            "benchmark": "snapshot",
            "entries": count,
            "chunks": chunks,
            "office_send_s": round(sent, 2),
            "apply_s_until_ack": round(applied, 2),
            "gate_list_size_after": size,
            "read_to_relay_quiet": percentiles_ms(quiet),
            "read_to_relay_during_snapshot": percentiles_ms(during),
            "peak_rss_mb": peak_rss_mb(),
            "machine": machine(),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=1000)
    args = parser.parse_args()
    print(json.dumps(run(args.entries, args.chunk), indent=2))


if __name__ == "__main__":
    main()
