"""An office snapshot is parsed, checked and written by the list worker, a process of
its own (issue 23: its JSON and validation held the GIL a card decision needed). The
worker comes with a snapshot's first chunk and goes with its last, a failure or the
link's stop; whatever happens to it, the gate's list stays as it was and says why."""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.core.clock import SystemClock
from agent.errors import Rejected
from agent.link.list_worker import BuildFailed, ListWorker
from agent.link.signing import seal
from agent.link.snapshot_worker import ChunkWriter
from agent.link.snapshot_worker_start import NICE
from agent.link.wiring import attach
from agent.store.listfile import ListBuilder, generations
from tests.conftest import mqtt_table
from tests.mqtt_helpers import TOPICS, office, wait_for


@pytest.fixture
def gate(make_app, make_config, broker, office_key):  # type: ignore[no-untyped-def]
    config = make_config(mqtt=mqtt_table(broker, office_key))
    app = make_app(config, clock=SystemClock())
    app.office_link = attach(app)  # type: ignore[attr-defined]
    app.start(threaded=True)
    assert app.office_link.conn.wait_connected(10)
    return app


def chunk(snapshot: str, version: int, index: int, chunks: int, first: int) -> dict[str, Any]:
    entries = [{"credential": f"{first + i:064x}", "holder_id": f"R-{first + i}"} for i in range(5)]
    return {
        "version": version,
        "snapshot_id": snapshot,
        "chunk": index,
        "chunks": chunks,
        "entries": entries,
    }


def worker_of(app: Any) -> Any:
    return app.office_link.inbox.allowlist.worker


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_snapshot_is_written_by_a_worker_process_that_ends_with_it(
    gate, broker, office_key
) -> None:  # type: ignore[no-untyped-def]
    gate.allowlist.replace([], 3)
    worker = worker_of(gate)
    with office(broker, office_key) as link:
        for index in range(2):
            link.send(TOPICS.allowlist_snapshot, chunk("s" * 8, 4, index, 3, index * 5))
        wait_for(lambda: worker.pid is not None, what="the list worker started")
        pid = worker.pid
        assert pid != os.getpid()
        # the gate's threads come first
        wait_for(lambda: os.getpriority(os.PRIO_PROCESS, pid) >= NICE, what="niced")
        link.send(TOPICS.allowlist_snapshot, chunk("s" * 8, 4, 2, 3, 10))
        ack = link.expect(TOPICS.allowlist_ack, timeout=20)
    assert ack is not None and ack["ok"] and ack["version"] == 4, ack
    assert gate.allowlist.version() == 4 and gate.allowlist.count() == 15
    assert gate.allowlist.lookup(f"{12:064x}").holder_id == "R-12"
    assert worker.pid is None and worker.peak_rss_kb > 0
    wait_for(lambda: gone(pid), what="the list worker exited")


def test_a_worker_killed_mid_snapshot_refuses_the_chunk_and_changes_nothing(
    gate, broker, office_key
) -> None:  # type: ignore[no-untyped-def]
    gate.allowlist.replace([], 3)
    worker = worker_of(gate)
    folder = gate.allowlist.folder
    with office(broker, office_key) as link:
        link.send(TOPICS.allowlist_snapshot, chunk("k" * 8, 4, 0, 2, 0))
        wait_for(lambda: worker.pid is not None, what="the list worker started")
        wait_for(lambda: len(generations(folder)) == 2, what="the new list file")
        time.sleep(0.2)  # the first chunk written
        os.kill(worker.pid, signal.SIGKILL)
        link.send(TOPICS.allowlist_snapshot, chunk("k" * 8, 4, 1, 2, 5))
        ack = link.expect(TOPICS.allowlist_ack, timeout=20)
        assert ack is not None and not ack["ok"], ack
        assert "list worker stopped" in ack["error"] and "\n" not in ack["error"], ack
        assert gate.allowlist.version() == 3 and gate.allowlist.count() == 0
        assert worker.pid is None and len(generations(folder)) == 1  # its file is gone
        # the office sends it again: a new worker builds it
        for index in range(2):
            link.send(TOPICS.allowlist_snapshot, chunk("m" * 8, 4, index, 2, index * 5))
        ack = link.expect(TOPICS.allowlist_ack, timeout=20)
    assert ack is not None and ack["ok"], ack
    assert gate.allowlist.version() == 4 and gate.allowlist.count() == 10


def test_a_card_in_two_chunks_is_refused_naming_both_places(gate, broker, office_key) -> None:  # type: ignore[no-untyped-def]
    gate.allowlist.replace([], 3)
    with office(broker, office_key) as link:
        link.send(TOPICS.allowlist_snapshot, chunk("d" * 8, 4, 0, 2, 0))
        link.send(TOPICS.allowlist_snapshot, chunk("d" * 8, 4, 1, 2, 4))  # card 4 again
        ack = link.expect(TOPICS.allowlist_ack, timeout=20)
    assert ack is not None and not ack["ok"], ack
    assert "chunk 0 entry 4 and chunk 1 entry 0" in ack["error"], ack
    assert gate.allowlist.version() == 3 and worker_of(gate).pid is None
    assert len(generations(gate.allowlist.folder)) == 1


def test_a_signed_chunk_that_is_not_json_is_refused_as_malformed(gate, broker, office_key) -> None:  # type: ignore[no-untyped-def]
    gate.allowlist.replace([], 3)
    with office(broker, office_key) as link:
        topic = TOPICS.allowlist_snapshot
        link.send_raw(topic, seal(office_key, topic, '{"version": 4, "entr', datetime.now(UTC)))
        ack = link.expect(TOPICS.allowlist_ack, timeout=20)
    assert ack is not None and not ack["ok"] and "malformed" in ack["error"], ack
    alerts = [e for e in gate.events.recent(50) if e.type.value == "security_alert"]
    assert [a.details.get("reason") for a in alerts] == ["malformed"]
    assert gate.allowlist.version() == 3


def test_the_link_stopping_mid_snapshot_ends_the_worker(gate, broker, office_key) -> None:  # type: ignore[no-untyped-def]
    gate.allowlist.replace([], 3)
    worker = worker_of(gate)
    with office(broker, office_key) as link:
        link.send(TOPICS.allowlist_snapshot, chunk("h" * 8, 4, 0, 2, 0))
        wait_for(lambda: worker.pid is not None, what="the list worker started")
        pid = worker.pid
        time.sleep(0.2)
    gate.stop()
    assert worker.pid is None
    wait_for(lambda: gone(pid), what="the list worker exited")
    assert len(generations(gate.allowlist.folder)) == 1


def test_the_worker_refuses_what_it_does_not_know_in_one_line() -> None:
    state = ChunkWriter()
    with pytest.raises(Rejected, match="unknown request 'launch'"):
        state.handle({"op": "launch"})
    with pytest.raises(Rejected, match="no list file is open"):
        state.handle({"op": "finish", "version": 2})
    assert state.handle({"op": "close"}) == {"ok": True}


def test_a_failed_write_is_the_answer_to_the_next_request(tmp_path: Path, make_config) -> None:  # type: ignore[no-untyped-def]
    """Rows are written without a reply (the gate goes on receiving); a write that
    failed is what the next request hears, so the snapshot is given up, not acked."""
    worker = ListWorker()
    config = make_config()
    body = json.dumps(chunk("f" * 8, 4, 0, 2, 0))
    try:
        assert worker.check(body, config)["chunk"] == 0
        build = ListBuilder(tmp_path / "allowlist.000001.db")
        Path(build.hand_over()).unlink()  # the file is gone under the worker
        worker.write(build, 0)
        with pytest.raises(BuildFailed, match="list worker"):
            worker.check(body, config)
        assert worker.check(body, config)["ok"]  # told once; the worker goes on
        build.discard()
    finally:
        worker.stop()
    assert worker.pid is None


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_ENTRY = st.fixed_dictionaries(
    {
        "credential": st.sampled_from(["a" * 64, "b" * 64, "XYZ", ""]),
        "holder_id": st.text(max_size=4),
    },
    optional={
        "doors": st.lists(st.sampled_from(["main", "roof"]), max_size=2),
        "schedule": st.text(max_size=3),
    },
)
_CHUNK = st.fixed_dictionaries(
    {
        "version": st.integers(min_value=-1, max_value=5),
        "snapshot_id": st.text(min_size=0, max_size=12),
        "chunk": st.integers(min_value=-1, max_value=3),
        "chunks": st.integers(min_value=0, max_value=3),
        "entries": st.lists(_ENTRY | _JSON, max_size=4),
    }
)


@settings(max_examples=150, deadline=None)
@given(
    body=st.text(max_size=40).map(json.dumps)
    | _JSON.map(json.dumps)
    | _CHUNK.map(json.dumps)
    | st.text(max_size=40)
)
def test_any_chunk_body_is_checked_or_refused_in_one_line(body: str) -> None:
    """Whatever an office (or its bug) signs as a chunk's body, the worker answers a
    header, a refusal with its reasons, or 'malformed': never another exception."""
    state = ChunkWriter()
    request = {"op": "check", "body": body, "doors": ["main"], "schedules": [], "zone": "UTC"}
    try:
        reply = state.handle(request)
    except Rejected as exc:
        assert exc.error and "\n" not in exc.error
        assert all(isinstance(p, str) and isinstance(m, str) for p, m in exc.errors)
        return
    assert set(reply) in (
        {"ok", "malformed"},
        {"ok", "snapshot_id", "version", "chunk", "chunks", "count"},
    ), reply
