"""A snapshot over MQTT through a real mosquitto, and decisions while it applies.

The gate holds an N-entry list (version 1). The office, in a process of its own as in
service, sends version 2 (the same N cards under other holder ids) as signed chunks.
Meanwhile a thread taps cards of both lists through the real App and records
card-read-to-relay latency. The gate's peak RSS is measured from the idle, running
gate (the kernel's high-water mark, reset just before the office starts). JSON out.

    python bench/snapshot.py [--entries 100000] [--chunk 1000]
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.gate.app import App
from agent.link.mqtt import MqttSettings
from agent.link.topics import Topics
from agent.link.wiring import attach
from agent.models.messages import SNAPSHOT_CHUNK, SnapshotChunk, snapshot_chunk_size
from agent.models.wire import AllowListEntry
from agent.office.client import OfficeLink
from agent.store.credentials import CredentialHasher, read_key_file
from bench.common import (
    current_rss_mb,
    high_water_rss_mb,
    machine,
    percentiles_ms,
    reset_high_water,
)
from bench.mqtt_common import NO_RESEND, broker_and_gate
from drivers.cards import CardNumber
from drivers.sim import SimCardReader, SimRelay


def card_uid(i: int) -> bytes:
    """The i-th bench card: the same in every list, file and tap."""
    return (0x04000000000000 + i * 7919).to_bytes(7, "big")


def entries(hasher: CredentialHasher, count: int, holder: str) -> Iterator[AllowListEntry]:
    for i in range(count):
        credential, masked = hasher.identify(CardNumber.from_uid(card_uid(i)))
        yield AllowListEntry.model_construct(
            credential=credential,
            masked=masked,
            holder_id=f"{holder}-{i}",
            kind=AllowListEntry.model_fields["kind"].default,
            unit=None,
            doors=None,
            valid_from=None,
            valid_until=None,
            schedule=None,
            suspended=False,
            lockdown_override=False,
        )


def tap_loop(app: App, stop: threading.Event, samples: list[float], cards: int) -> None:
    """Tap cards 0..cards-1 in turn, every 5 ms, until ``stop``."""
    reader, door = app.devices.readers["r1"], app.doors["main"]
    relay = door.relay
    assert isinstance(reader, SimCardReader) and isinstance(relay, SimRelay)
    i = 0
    while not stop.is_set():
        card = "uid:" + card_uid(i % cards).hex()
        app.loop.run_sync(door.lock)
        before = len(relay.history)
        read = reader.present(card)
        app.loop.run_sync(lambda: None)
        if len(relay.history) > before:
            samples.append(relay.history[-1][0] - read.at)
        i += 1
        time.sleep(0.005)


def office_process(
    conn: Any, host: str, port: int, key_pem: bytes, site_key: str, count: int, chunk_size: int
) -> None:
    """The office: builds the chunks, waits for "go", sends them, reports timings back."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(key_pem, password=None)
    topics = Topics("gate", "bench", "g1")
    hasher = CredentialHasher(bytes.fromhex(site_key))
    snapshot_id = uuid.uuid4().hex
    chunk_size = snapshot_chunk_size(count, chunk_size)  # as gate-office sends it
    chunks = max(1, -(-count // chunk_size))
    stream = entries(hasher, count, "new")
    bodies = []
    for index in range(chunks):
        part = [e for _, e in zip(range(chunk_size), stream, strict=False)]
        chunk = SnapshotChunk.model_construct(
            version=2, snapshot_id=snapshot_id, chunk=index, chunks=chunks, entries=part
        )
        bodies.append(chunk.model_dump_json(exclude_none=True))
    office = OfficeLink(
        MqttSettings(host=host, port=port, client_id="bench-office"), [topics.allowlist_ack], key
    )  # type: ignore[arg-type]
    with office:
        conn.send("ready")
        conn.recv()
        started = time.perf_counter()
        for body in bodies:
            office.send(topics.allowlist_snapshot, body, timeout=120)
        sent = time.perf_counter() - started
        ack = office.expect(topics.allowlist_ack, timeout=600)
        conn.send((sent, time.perf_counter() - started, ack, chunks))


def measure(app: App, broker: Any, key: Any, count: int, chunk: int) -> dict[str, Any]:
    """Send a snapshot of ``count`` entries to ``app`` (holding version 1 of the same
    cards) and measure; stops the app."""
    from cryptography.hazmat.primitives import serialization

    sys.setswitchinterval(0.0005)  # as `gate-agent run` sets it
    link = attach(app)
    app.start(threaded=True)
    gc.collect()  # and as it keeps what exists at start out of full collections
    gc.freeze()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    site_key = read_key_file(app.config.security.credential_key_file).hex()
    ours, theirs = multiprocessing.Pipe()
    args = (theirs, broker.host, broker.port, pem, site_key, count, chunk)
    sender = multiprocessing.get_context("spawn").Process(target=office_process, args=args)
    sender.start()
    assert ours.recv() == "ready"
    cards = min(count, 1000)
    quiet: list[float] = []
    during: list[float] = []
    stop = threading.Event()
    thread = threading.Thread(target=tap_loop, args=(app, stop, quiet, cards))
    thread.start()
    time.sleep(2)
    stop.set()
    thread.join()

    idle_rss = current_rss_mb()
    reset_high_water()
    stop = threading.Event()
    thread = threading.Thread(target=tap_loop, args=(app, stop, during, cards))
    thread.start()
    ours.send("go")
    sent, applied, ack, chunks = ours.recv()
    stop.set()
    thread.join()
    peak = high_water_rss_mb()
    sender.join(30)
    assert ack and ack["ok"] and app.allowlist.version() == 2, ack
    size = app.allowlist.count()
    app.stop()
    return {
        "benchmark": "snapshot",
        "entries": count,
        "chunks": chunks,
        "office_send_s": round(sent, 2),
        "apply_s_until_ack": round(applied, 2),
        "gate_list_size_after": size,
        "gate_idle_rss_mb": idle_rss,
        "gate_peak_rss_mb": peak,
        "gate_peak_above_idle_mb": round(peak - idle_rss, 1),
        # the list worker's own peak: a process of its own, gone with the snapshot
        "list_worker_peak_rss_mb": round((link.inbox.allowlist.worker.peak_rss_kb or 0) / 1024, 1),
        "read_to_relay_quiet": percentiles_ms(quiet),
        "read_to_relay_during_snapshot": percentiles_ms(during),
    }


def run(count: int, chunk_size: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        broker, key, app = broker_and_gate(folder, NO_RESEND)
        try:
            app.allowlist.replace(entries(app.hasher, count, "old"), 1)
            result = measure(app, broker, key, count, chunk_size)
        finally:
            broker.stop()
        return {**result, "machine": machine()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=SNAPSHOT_CHUNK)  # what the office sends
    args = parser.parse_args()
    print(json.dumps(run(args.entries, args.chunk), indent=2))


if __name__ == "__main__":
    main()
