"""The event log's WAL: room made at open, so the decision path's commits never make the
file longer, and a checkpoint woken by the number of writes rather than its timer."""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.core.clock import ManualClock
from agent.core.kinds import EventType
from agent.gate import parts
from agent.gate.app import App
from agent.store import eventlog
from agent.store.eventlog import CHECKPOINT_EVERY, WAL_ROOM, EventLog
from agent.store.wal_room import make_room
from tests.test_integrity import tmpfs  # noqa: F401 - a fixture


def _restarts(db: Path) -> int:
    """The WAL header's checkpoint sequence: it grows each time the WAL starts over."""
    with open(f"{db}-wal", "rb") as wal:
        return int.from_bytes(wal.read(16)[12:16], "big")


def test_a_busy_gates_commits_write_over_the_room_made_at_open(tmp_path: Path) -> None:
    """Before, a new log's WAL grew with every commit until the first checkpoint (each
    fsync then also wrote the file's size): p50 0.147 against 0.075 ms, measured here."""
    path = tmp_path / "events.db"
    log = EventLog(path, ManualClock(), "s", "g", wal_room=WAL_ROOM)
    wal = tmp_path / "events.db-wal"
    try:
        opened = wal.stat().st_size
        assert opened >= WAL_ROOM
        for _ in range(CHECKPOINT_EVERY):  # as many as fill the WAL before a checkpoint
            log.append(EventType.EXIT_REQUEST, "main", source="button")
        assert wal.stat().st_size == opened
        log.checkpoint()  # due: the WAL starts over at its front, in the same file
        log.append(EventType.EXIT_REQUEST, "main")
        assert wal.stat().st_size == opened
    finally:
        log.close()


def test_the_zeros_read_as_nothing_after_a_crash(tmp_path: Path) -> None:
    """Files copied while the log is open are what a ``kill -9`` leaves: SQLite reads
    the frames up to the zeros, and the log carries on above them."""
    live, copy = tmp_path / "live", tmp_path / "copy"
    live.mkdir()
    copy.mkdir()
    log = EventLog(live / "events.db", ManualClock(), "s", "g", wal_room=WAL_ROOM)
    try:
        for n in range(10):
            log.append(EventType.EXIT_REQUEST, "main", n=n)
        for name in ("events.db", "events.db-wal"):
            shutil.copyfile(live / name, copy / name)
    finally:
        log.close()
    conn = sqlite3.connect(copy / "events.db")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT count(*), max(seq) FROM events").fetchone() == (10, 10)
    finally:
        conn.close()
    again = EventLog(copy / "events.db", ManualClock(), "s", "g")
    try:
        assert again.append(EventType.EXIT_REQUEST, "main").seq == 11
        assert [e.details.get("n") for e in again.recent(11)] == [*range(10), None]
    finally:
        again.close()


def test_room_is_only_ever_added_after_what_the_wal_holds(tmp_path: Path) -> None:
    """A WAL longer than the room asked for is left as it is; one that is missing is not
    made (SQLite makes it, with the database's mode)."""
    path = tmp_path / "events.db"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (x)")
        conn.execute("INSERT INTO t VALUES (1)")
        wal = tmp_path / "events.db-wal"
        frames = wal.read_bytes()
        assert make_room(conn, path, len(frames) // 2) == 0
        assert make_room(conn, path, len(frames) + 5000) == 5000
        assert wal.read_bytes() == frames + bytes(5000)
        assert conn.execute("SELECT x FROM t").fetchall() == [(1,)]
    finally:
        conn.close()
    assert make_room(sqlite3.connect(tmp_path / "other.db"), tmp_path / "other.db", 10) == 0
    assert not (tmp_path / "other.db-wal").exists()


def test_no_room_is_made_where_space_is_short(
    tmpfs: Callable[[int], Path],  # noqa: F811
) -> None:
    """On a nearly full card the events need the space more than the commits need speed:
    the room takes at most a quarter of what is free, else nothing."""
    state = tmpfs(8192)
    log = EventLog(state / "events.db", ManualClock(), "s", "g", wal_room=WAL_ROOM)
    try:
        assert (state / "events.db-wal").stat().st_size < 1 << 20
        assert log.append(EventType.EXIT_REQUEST, "main").seq == 1
    finally:
        log.close()


def test_a_busy_wal_wakes_the_housekeeping_before_its_timer(
    make_app: Callable[..., App], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checkpoint runs once CHECKPOINT_EVERY writes are in the WAL, not at the next
    round of a timer that, at 700 taps a second, let the WAL grow past its room."""
    monkeypatch.setattr(parts, "HOUSEKEEPING_S", 3600.0)  # only the wake can run it
    monkeypatch.setattr(eventlog, "CHECKPOINT_EVERY", 40)
    app = make_app(clock=ManualClock())
    app.start(threaded=True)
    path = app.events.path
    assert path.with_name("events.db-wal").stat().st_size >= WAL_ROOM  # the gate's has room
    before = _restarts(path)
    for _ in range(40):
        app.events.append(EventType.EXIT_REQUEST, "main")
    deadline = time.monotonic() + 10
    while _restarts(path) == before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _restarts(path) > before, "no checkpoint before the housekeeping's timer"
    app.stop()  # and the housekeeping, asleep on the same event, stops at once
