"""Bulk work on other threads gives way to the core loop: a snapshot's chunk is
validated and staged in pieces, each only once the loop has no work queued or running
(a card read waits for no GIL behind it), never for longer than ``GIVE_WAY_S``."""

from __future__ import annotations

import json
import threading
import time

import pytest

from agent.core.clock import SystemClock
from agent.core.loop import CoreLoop
from agent.core.runner import Threads
from agent.errors import Rejected
from agent.gate.app import App
from agent.link.allowlist_sync import AllowListSync
from agent.link.entry_slices import SLICE, validate_in_slices
from agent.models.messages import AllowListPatch


def _loop() -> tuple[CoreLoop, Threads]:
    threads = Threads("test")
    loop = CoreLoop(SystemClock(), lambda exc, where: None)
    loop.start(threads)
    return loop, threads


def test_wait_idle_waits_while_posted_work_is_queued_or_running() -> None:
    loop, threads = _loop()
    try:
        assert loop.wait_idle(0.01)
        release, running = threading.Event(), threading.Event()

        def busy() -> None:
            running.set()
            release.wait(5)

        loop.post(busy)
        loop.post(lambda: None)  # queued behind it
        assert running.wait(5)
        started = time.monotonic()
        assert not loop.wait_idle(0.05)  # gives up after its timeout, never hangs
        assert time.monotonic() - started >= 0.04
        release.set()
        assert loop.wait_idle(5)
        gathered: list[list[int]] = []
        hold = threading.Event()
        loop.post(hold.wait, 5)
        for i in range(5):  # gathered into one call: each item counted out
            loop.post_batch(gathered.append, i)
        hold.set()
        assert loop.wait_idle(5) and sum(len(g) for g in gathered) == 5
        # the loop's own work never waits for itself
        inside: list[bool] = []
        loop.run_sync(lambda: inside.append(loop.wait_idle(5)))
        assert inside == [True]
    finally:
        threads.stopping.set()
        loop.stop()


def test_a_failing_call_still_counts_out() -> None:
    loop, threads = _loop()
    try:

        def fails() -> None:
            raise ValueError("boom")

        loop.post(fails)
        assert loop.wait_idle(5)
    finally:
        threads.stopping.set()
        loop.stop()


def test_a_long_entry_list_is_validated_in_pieces_each_after_giving_way() -> None:
    upserts = [{"credential": f"{i:064x}", "holder_id": f"R-{i}"} for i in range(2 * SLICE + 1)]
    body = {"base_version": 1, "version": 2, "upserts": upserts, "removals": []}
    pieces: list[int] = []
    patch = validate_in_slices(AllowListPatch, body, "upserts", lambda: pieces.append(1))
    assert len(patch.upserts) == 2 * SLICE + 1 and len(pieces) == 3


def test_a_chunk_naming_a_door_or_schedule_the_gate_lacks_is_refused_entry_by_entry(
    app: App,
) -> None:
    sync = AllowListSync(app, "gate/t/req", lambda topic, payload: None)
    entries = [
        {"credential": f"{i:064x}", "holder_id": f"R-{i}", "doors": ["main"]} for i in range(5)
    ]
    entries[1]["doors"] = ["main", "nowhere"]
    entries[3]["schedule"] = "never"
    body = {"version": 9, "snapshot_id": "s" * 8, "chunk": 0, "chunks": 1, "entries": entries}
    try:
        with pytest.raises(Rejected) as refused:
            sync.snapshot(json.dumps(body))
        assert refused.value.errors == [
            ("entries.1.doors", "unknown door(s) nowhere"),
            ("entries.3.schedule", "unknown schedule 'never'"),
        ]
        assert app.allowlist.version() != 9
        del entries[3]["schedule"], entries[1]["doors"][1]
        ack = sync.snapshot(json.dumps(body))
        assert ack is not None and ack.ok and app.allowlist.version() == 9
        assert sync.worker.pid is None  # the snapshot is in: its worker is gone
    finally:
        sync.give_up()
