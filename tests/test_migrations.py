"""Every database is brought forward from every earlier schema version, data intact;
a file from a newer program is refused in one line."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agent.core.clock import ManualClock
from agent.core.kinds import EventType
from agent.errors import StorageError
from agent.store import allowlist, eventlog
from agent.store.allowlist import AllowListStore
from agent.store.eventlog import EventLog
from agent.store.schema import upgrade, version_of

# What the first release created, before schema versions were recorded (version 0).
LEGACY_ALLOWLIST = """
CREATE TABLE allowlist (credential TEXT PRIMARY KEY, holder_id TEXT NOT NULL, kind TEXT NOT NULL,
    unit TEXT, doors TEXT, valid_from TEXT, valid_until TEXT, schedule TEXT, suspended INTEGER,
    lockdown_override INTEGER, masked TEXT);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE staging (snapshot_id TEXT NOT NULL, credential TEXT PRIMARY KEY,
    holder_id TEXT NOT NULL, kind TEXT NOT NULL, unit TEXT, doors TEXT, valid_from TEXT,
    valid_until TEXT, schedule TEXT, suspended INTEGER, lockdown_override INTEGER, masked TEXT);
CREATE TABLE staging_chunks (snapshot_id TEXT, chunk INTEGER, chunks INTEGER, version INTEGER,
    PRIMARY KEY (snapshot_id, chunk));
INSERT INTO allowlist VALUES ('c1', 'R-1', 'resident', '12B', NULL, NULL, NULL, NULL, 0, 0,
    'uid:****24B2');
INSERT INTO meta VALUES ('version', '41'), ('size', '1');
"""
LEGACY_EVENTS = """
CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
    time TEXT NOT NULL, type TEXT NOT NULL, door TEXT, details TEXT NOT NULL,
    sent INTEGER NOT NULL DEFAULT 0);
CREATE INDEX events_unsent ON events (seq) WHERE sent = 0;
CREATE INDEX events_time ON events (time);
CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE nonces (nonce TEXT PRIMARY KEY, ts TEXT NOT NULL);
INSERT INTO events (id, time, type, door, details, sent)
    VALUES ('e1', '2026-06-10T07:00:00+00:00', 'exit_request', 'main', '{}', 0);
INSERT INTO state VALUES ('lockdown', '1');
"""


def _at_version(path: Path, legacy: str, steps: tuple[tuple[str, ...], ...], k: int) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(legacy)
    if k:
        upgrade(conn, "test", steps[:k])
    assert version_of(conn) == k
    conn.close()


@pytest.mark.parametrize("k", range(len(allowlist.STEPS)))
def test_allowlist_from_every_earlier_version(tmp_path: Path, k: int) -> None:
    path = tmp_path / "allowlist.db"
    _at_version(path, LEGACY_ALLOWLIST, allowlist.STEPS, k)
    store = AllowListStore(path, ZoneInfo("UTC"))
    try:
        assert store.version() == 41 and store.count() == 1
        entry = store.lookup("c1")
        assert entry is not None and entry.holder_id == "R-1" and entry.unit == "12B"
    finally:
        store.close()
    conn = sqlite3.connect(path)
    assert version_of(conn) == len(allowlist.STEPS)
    conn.close()


@pytest.mark.parametrize("k", range(len(eventlog.STEPS)))
def test_event_log_from_every_earlier_version(tmp_path: Path, k: int) -> None:
    path = tmp_path / "events.db"
    _at_version(path, LEGACY_EVENTS, eventlog.STEPS, k)
    log = EventLog(path, ManualClock(), "s", "g")
    try:
        (old,) = log.unsent()
        assert old.seq == 1 and old.type is EventType.EXIT_REQUEST
        assert log.append(EventType.EXIT_REQUEST, "main").seq == 2
    finally:
        log.close()
    conn = sqlite3.connect(path)
    assert version_of(conn) == len(eventlog.STEPS)
    assert conn.execute("SELECT value FROM state WHERE key='lockdown'").fetchone() == ("1",)
    conn.close()


def test_a_database_from_a_newer_program_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "allowlist.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {len(allowlist.STEPS) + 5}")
    conn.close()
    with pytest.raises(StorageError, match="newer than this gate-agent knows"):
        AllowListStore(path, ZoneInfo("UTC"))
