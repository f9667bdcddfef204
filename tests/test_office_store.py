"""The office's event store, the same behaviour on SQLite and on the real PostgreSQL server:
each event stored once, the seqs held per gate, queries and the follow cursor, gate rows,
migrations from every earlier schema (and the first gate-office's file), one-line errors."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest

from agent.core.clock import ManualClock
from agent.errors import GateError, StorageError
from agent.models.wire import AllowListEntry
from agent.office.db import SCHEMA_VERSION, OfficeDb, open_store
from agent.office.db.base import Sql
from agent.office.db.migrations import migrate, version_of
from agent.office.db.postgres import PostgresSql
from agent.office.db.sqlite import SqliteSql
from agent.office.store import OfficeStore

log = logging.getLogger(__name__)

PG_SERVER = os.environ.get("GATE_OFFICE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
T0 = datetime(2026, 6, 10, 7, 0, tzinfo=UTC)


def ev(seq: int, gate: str = "g1", site: str = "s1", **fields: Any) -> dict[str, Any]:
    """A gate's Event JSON, as it arrives over MQTT."""
    return {
        "id": f"{site}-{gate}-{seq}",
        "seq": seq,
        "time": (T0 + timedelta(seconds=seq)).isoformat().replace("+00:00", "Z"),
        "site": site,
        "gate": gate,
        "type": "access_granted",
        "severity": "info",
        "door": "main",
        "details": {"holder_id": f"R-{seq % 3}", "card": "uid:****24B2"},
        **fields,
    }


# -- where the databases live -----------------------------------------------------------
@pytest.fixture(scope="module")
def pg_database() -> Iterator[str]:
    """A new database on the machine's PostgreSQL for this module, dropped after it."""
    name = f"office_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_SERVER, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        reason = str(exc).splitlines()[0]
    else:
        reason = ""
    if reason:  # fail, never skip: these tests exist to run against the real server
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_SERVER} ({reason}): the office store is "
            "tested against a real server; start it, or point GATE_OFFICE_TEST_PG at one",
            pytrace=False,
        )
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_SERVER.rsplit("/", 1)[0] + f"/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def new_target(request: pytest.FixtureRequest, tmp_path: Path, kind: str) -> str:
    """A fresh, empty office database: a SQLite path, or a DSN whose search_path is a new
    schema in the module's PostgreSQL database."""
    name = uuid.uuid4().hex[:12]
    if kind == "sqlite":
        return str(tmp_path / f"office-{name}" / "office.db")
    database = request.getfixturevalue("pg_database")
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA t_{name}")
    return f"{database}?options={quote(f'-csearch_path=t_{name}')}"


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return new_target(request, tmp_path, request.param)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 6, 10, 8, 0, tzinfo=UTC))


@pytest.fixture
def opened(target: str, clock: ManualClock) -> Iterator[Callable[[], OfficeDb]]:
    """Opens the store at ``target`` (again = a restart); closes every one after the test."""
    stores: list[OfficeDb] = []

    def open_() -> OfficeDb:
        stores.append(open_store(target, now=clock.now))
        return stores[-1]

    yield open_
    for store in stores:
        store.close()


@pytest.fixture
def db(opened: Callable[[], OfficeDb]) -> OfficeDb:
    return opened()


def raw_sql(target: str) -> Sql:
    return PostgresSql(target) if target.startswith("postgresql://") else SqliteSql(Path(target))


# -- events in, each once -----------------------------------------------------------------
def test_repeats_are_ignored_within_and_across_batches_and_restarts(
    opened: Callable[[], OfficeDb], clock: ManualClock
) -> None:
    db = opened()
    assert db.add_events([ev(1), ev(2), ev(2), ev(3)]) == 3
    assert db.add_events([ev(2), ev(3), ev(4)]) == 1
    assert db.add_events([]) == 0
    db.close()
    again = opened()
    assert again.add_events([ev(i) for i in range(1, 6)]) == 1
    stored = again.query_events(limit=None)
    assert [e["seq"] for e in stored] == [1, 2, 3, 4, 5]
    assert stored[0]["time"] == T0 + timedelta(seconds=1)
    assert stored[0]["received"] == clock.now() and stored[0]["received"].tzinfo is not None
    assert stored[0]["details"] == {"holder_id": "R-1", "card": "uid:****24B2"}
    assert again.highest_contiguous_seq("s1", "g1") == 5


def test_a_malformed_event_refuses_its_batch_in_one_line(db: OfficeDb) -> None:
    for bad, what in (
        ({**ev(2), "seq": "2"}, "seq"),
        ({**ev(2), "time": "yesterday"}, "time"),
        ({**ev(2), "site": None}, "site"),
        ({**ev(2), "details": [1]}, "details"),
    ):
        with pytest.raises(GateError) as caught:
            db.add_events([ev(1), bad])
        assert what in str(caught.value) and "\n" not in str(caught.value)
    assert db.query_events() == []
    assert db.highest_contiguous_seq("s1", "g1") == 0


def test_text_no_database_can_hold_is_replaced_not_refused(db: OfficeDb) -> None:
    odd = ev(1, door="ma\x00in", details={"holder_id": "R-\x00", "note": "\ud800x", "k\x00": [1]})
    assert db.add_events([odd, ev(2)]) == 2
    (first, _) = db.query_events()
    assert first["door"] == "ma\ufffdin"
    assert first["details"] == {"holder_id": "R-\ufffd", "note": "?x", "k\ufffd": [1]}


# -- which seqs the office holds ----------------------------------------------------------
def test_contiguous_seq_and_missing_ranges(db: OfficeDb) -> None:
    assert db.highest_contiguous_seq("s1", "g1") == 0
    assert db.missing_ranges("s1", "g1", 4) == [(1, 4)]
    db.add_events([ev(i) for i in (1, 2, 3, 5, 6, 9)])
    assert db.highest_contiguous_seq("s1", "g1") == 3
    assert db.missing_ranges("s1", "g1", 12) == [(4, 4), (7, 8), (10, 12)]
    assert db.missing_ranges("s1", "g1", 6) == [(4, 4)]
    assert db.missing_ranges("s1", "g1", 3) == []
    db.add_events([ev(4)])  # fills the hole: the mark runs over 5 and 6, stored before
    assert db.highest_contiguous_seq("s1", "g1") == 6
    db.add_events([ev(8), {**ev(7), "id": "same-seq-other-id"}, ev(7)])
    assert db.highest_contiguous_seq("s1", "g1") == 9
    assert db.missing_ranges("s1", "g1", 9) == []
    # another gate, first heard of at seq 500: the office counts from there
    db.add_events([ev(502, "g2"), ev(500, "g2"), ev(501, "g2")])
    assert db.highest_contiguous_seq("s1", "g2") == 502
    db.add_events([ev(3, "g2")])  # an old one replayed: stored, outside the count
    assert db.highest_contiguous_seq("s1", "g2") == 502
    assert db.missing_ranges("s1", "g2", 504) == [(503, 504)]
    assert len(db.query_events(gate="g2")) == 4
    assert db.highest_contiguous_seq("s1", "g1") == 9


def test_a_database_restored_from_an_old_backup_knows_what_to_ask_for(
    opened: Callable[[], OfficeDb],
) -> None:
    db = opened()
    db.add_events([ev(i) for i in range(1, 101)])
    db.close()
    db = opened()  # the office restarts on the backup; the gate is at seq 400 by now
    db.add_events([ev(i) for i in range(351, 401)])  # live events come in first
    assert db.highest_contiguous_seq("s1", "g1") == 100
    assert db.missing_ranges("s1", "g1", 400) == [(101, 350)]
    db.add_events([ev(i) for i in range(101, 201)])  # the replay, in pages
    assert db.missing_ranges("s1", "g1", 400) == [(201, 350)]
    db.add_events([ev(i) for i in range(201, 351)])
    assert db.highest_contiguous_seq("s1", "g1") == 400
    assert db.missing_ranges("s1", "g1", 400) == []


# -- queries and follow --------------------------------------------------------------------
def test_query_filters_newest_last(db: OfficeDb) -> None:
    db.add_events([ev(i) for i in range(1, 11)])
    db.add_events([ev(i, "g2", type="door_forced_open", severity="alarm") for i in (1, 2)])
    db.add_events([ev(1, "g1", "s2", door="side", details={})])
    assert [e["seq"] for e in db.query_events(site="s1", gate="g1", limit=3)] == [8, 9, 10]
    assert len(db.query_events(site="s1", limit=None)) == 12
    assert [e["gate"] for e in db.query_events(types=["door_forced_open"])] == ["g2", "g2"]
    both = db.query_events(types=["door_forced_open", "access_granted"], site="s1", limit=None)
    assert len(both) == 12
    assert [(e["site"], e["door"]) for e in db.query_events(door="side")] == [("s2", "side")]
    assert [e["seq"] for e in db.query_events(gate="g1", holder="R-2", site="s1")] == [2, 5, 8]
    window = db.query_events(
        gate="g1", since=T0 + timedelta(seconds=3), until="2026-06-10T10:00:06+03:00"
    )
    assert [e["seq"] for e in window] == [3, 4, 5]
    assert db.query_events(site="nowhere") == []
    times = [e["time"] for e in db.query_events(limit=None)]
    assert times == sorted(times)


def test_follow_sees_each_committed_event_once_in_commit_order(
    opened: Callable[[], OfficeDb],
) -> None:
    writer, reader = opened(), opened()
    cursor = reader.last_serial()
    assert cursor == 0
    writer.add_events([ev(i) for i in range(1, 6)])
    page = reader.query_events(after=cursor, limit=3)
    assert [e["seq"] for e in page] == [1, 2, 3]
    cursor = page[-1]["serial"]
    writer.add_events([ev(2), ev(7), ev(6)])  # a repeat, then two new out of seq order
    rest = reader.query_events(after=cursor, limit=100)
    assert [e["seq"] for e in rest] == [4, 5, 7, 6]
    assert reader.query_events(after=rest[-1]["serial"]) == []
    assert reader.last_serial() == rest[-1]["serial"]
    assert [e["seq"] for e in reader.query_events(after=cursor, types=["x"])] == []


def test_a_follower_misses_nothing_while_two_writers_commit(
    opened: Callable[[], OfficeDb],
) -> None:
    writers, reader = [opened(), opened()], opened()
    batches = 60

    def write(db: OfficeDb, gate: str) -> None:
        for b in range(batches):
            db.add_events([ev(b * 5 + i, gate) for i in range(1, 6)])

    threads = [threading.Thread(target=write, args=(w, f"w{n}")) for n, w in enumerate(writers)]
    for thread in threads:
        thread.start()
    seen: list[str] = []
    cursor = 0
    while True:
        # taken before the query: writers that were done then have committed everything,
        # so an empty page after it means the end (a writer that ends between an empty
        # page and a later look would have its last batch missed by the test, not the store)
        done = not any(t.is_alive() for t in threads)
        page = reader.query_events(after=cursor, limit=7)
        seen += [e["id"] for e in page]
        cursor = page[-1]["serial"] if page else cursor
        if not page and done:
            break
    for thread in threads:
        thread.join()
    assert len(seen) == len(set(seen)) == 2 * batches * 5
    assert reader.highest_contiguous_seq("s1", "w0") == batches * 5


# -- gate rows -----------------------------------------------------------------------------
def test_gate_rows_are_upserted_and_kept_by_ingest(db: OfficeDb) -> None:
    db.update_gate("s1", "g2", online=False)
    db.update_gate("s1", "g1", online=True, online_since=T0, last_seen="2026-06-10T10:00:05+03:00")
    db.update_gate("s1", "g1", last_status={"mode": "normal", "doors": {}}, backlog=12)
    db.update_gate("s1", "g1", allowlist_version=4, config_revision=2, open_alarms=1)
    db.add_events([ev(3), ev(1), ev(2)])
    g2, g1 = db.gates()[1], db.gate("s1", "g1")
    assert g1 is not None and g2.gate == "g2" and g2.online is False
    assert (g1.online, g1.online_since, g1.last_seen) == (True, T0, T0 + timedelta(seconds=5))
    assert g1.last_status == {"mode": "normal", "doors": {}} and g1.backlog == 12
    assert (g1.allowlist_version, g1.config_revision, g1.open_alarms) == (4, 2, 1)
    assert (g1.last_event_seq, g1.last_event_time) == (3, T0 + timedelta(seconds=3))
    assert (g1.first_seq, g1.contiguous_seq) == (1, 3)
    db.update_gate("s1", "g1", online=False, backlog=None)
    g1 = db.gate("s1", "g1")
    assert g1 is not None and (g1.online, g1.backlog, g1.allowlist_version) == (False, None, 4)
    assert [g.gate for g in db.gates()] == ["g1", "g2"] and db.gate("s1", "nope") is None
    with pytest.raises(GateError, match="not known: colour"):
        db.update_gate("s1", "g1", colour="red")
    with pytest.raises(GateError, match="backlog"):
        db.update_gate("s1", "g1", backlog="many")


def test_allowlist_pushes_and_the_first_store_interface(target: str) -> None:
    store = OfficeStore(target)  # what gate-office's commands use, on either backend
    try:
        assert store.add_event(ev(2)) is True and store.add_event(ev(2)) is False
        assert store.add_event(ev(1)) is True
        assert store.events("s1", "g1") == [
            {"id": "s1-g1-1", "seq": 1, "type": "access_granted"},
            {"id": "s1-g1-2", "seq": 2, "type": "access_granted"},
        ]
        assert store.pushed("s1", "g1") == (None, {})
        entries = [AllowListEntry(credential=f"{i:064x}", holder_id=f"R-{i}") for i in range(3)]
        store.record_push("s1", "g1", 7, entries)
        store.record_push("s1", "g1", 8, entries[1:])
        version, sent = store.pushed("s1", "g1")
        assert version == 8 and sent == {e.credential: e for e in entries[1:]}
    finally:
        store.close()


def test_fifty_thousand_events_in_one_batch(
    db: OfficeDb, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    events = [ev(i, "bulk") for i in range(1, 50_001)]
    started = time.perf_counter()
    assert db.add_events(events) == 50_000
    elapsed = time.perf_counter() - started
    assert db.add_events(events[:1000]) == 0
    assert db.highest_contiguous_seq("s1", "bulk") == 50_000
    kind = "postgres" if "://" in target else "sqlite"
    line = f"office store {kind}: 50,000 events in one batch, {50_000 / elapsed:,.0f} events/s"
    log.info(line)
    with capsys.disabled():
        print(f"\n{line}")


# -- schema versions -------------------------------------------------------------------------
def schema_of(target: str) -> list[tuple[Any, ...]]:
    """Tables, columns and indexes as the database describes them (schema name left out)."""
    sql = raw_sql(target)
    try:
        if isinstance(sql, SqliteSql):
            rows = sql.run(
                'SELECT m.name, p.name, p.type, p."notnull", p.pk FROM sqlite_master m, '
                "pragma_table_info(m.name) p WHERE m.type = 'table' ORDER BY m.name, p.cid"
            )
            rows += sql.run(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"
            )
            return [tuple(" ".join(str(v).split()) for v in row) for row in rows]
        rows = sql.run(
            "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns"
            " WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
        )
        rows += sql.run(
            "SELECT indexname, replace(indexdef, current_schema() || '.', '') FROM pg_indexes "
            "WHERE schemaname = current_schema() ORDER BY indexname"
        )
        return [tuple(row) for row in rows]
    finally:
        sql.close()


@pytest.mark.parametrize("k", range(SCHEMA_VERSION))
def test_brought_forward_from_every_earlier_version(
    target: str, k: int, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    sql = raw_sql(target)
    assert migrate(sql, "test", target=k) == version_of(sql) == k
    if k >= 1:  # events stored by a version-1 office: the gate rows are filled in from them
        sql.run_many(
            "INSERT INTO events (id, site, gate, seq, time, type, severity, door, details, "
            "received) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (f"e{seq}", "s1", "g1", seq, sql.time_in(T0 + timedelta(seconds=seq)),
                 "exit_request", "info", "main", sql.json_in({}), sql.time_in(T0))
                for seq in (4, 5, 6, 8)
            ],
        )  # fmt: skip
        if k >= 2:  # an office at version 2 or later keeps the gate rows as it stores
            from agent.office.db.seqs import backfill

            backfill(sql)
    sql.close()
    db = open_store(target)
    try:
        if k >= 1:
            assert [e["seq"] for e in db.query_events()] == [4, 5, 6, 8]
            assert db.highest_contiguous_seq("s1", "g1") == 6
            row = db.gate("s1", "g1")
            assert row is not None and row.last_event_time == T0 + timedelta(seconds=8)
        db.add_events([ev(7)])
        assert db.highest_contiguous_seq("s1", "g1") == (8 if k >= 1 else 7)
    finally:
        db.close()
    kind = "postgres" if "://" in target else "sqlite"
    fresh = new_target(request, tmp_path, kind)
    open_store(fresh).close()
    assert schema_of(target) == schema_of(fresh)


def test_a_database_newer_than_the_program_is_refused_in_one_line(target: str) -> None:
    open_store(target).close()
    sql = raw_sql(target)
    sql.run("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 5,))
    sql.close()
    with pytest.raises(StorageError) as caught:
        open_store(target)
    message = str(caught.value)
    assert "newer than this gate-office" in message and "\n" not in message
    assert f"version {SCHEMA_VERSION + 5}" in message


# What the first gate-office wrote (agent/office/store.py before schema versions: version 0),
# and how it wrote each event: whatever arrived, unchecked.
FIRST_OFFICE_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY, site TEXT, gate TEXT, seq INTEGER, time TEXT, type TEXT,
    severity TEXT, door TEXT, details TEXT, received TEXT DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS events_gate_seq ON events (site, gate, seq);
CREATE TABLE IF NOT EXISTS pushed (
    site TEXT, gate TEXT, credential TEXT, entry TEXT, PRIMARY KEY (site, gate, credential)
);
CREATE TABLE IF NOT EXISTS pushed_version (site TEXT, gate TEXT, version INTEGER,
    PRIMARY KEY (site, gate));
"""


def test_the_first_gate_office_file_opens_with_its_events(tmp_path: Path) -> None:
    path = tmp_path / "office.db"
    old = sqlite3.connect(path, isolation_level=None)
    old.executescript(FIRST_OFFICE_SCHEMA)
    arrived = [
        ev(2, time="2026-06-10T10:00:02+03:00"),
        ev(1),
        ev(3, time="2026-06-10T07:00:03.250000Z", details={"reason": "unknown"}),
        ev(5, time="soon"),
        ev(1, "g2", door=None),
        {**ev(9), "id": "no-seq", "seq": None},
    ]
    for e in arrived:
        old.execute(
            "INSERT OR IGNORE INTO events (id, site, gate, seq, time, type, severity, door, "
            "details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (e["id"], e["site"], e["gate"], e["seq"], e["time"], e["type"], e["severity"],
             e.get("door"), json.dumps(e.get("details", {}))),
        )  # fmt: skip
    entry = AllowListEntry(credential="c1" * 32, holder_id="R-1")
    old.execute(
        "INSERT INTO pushed VALUES ('s1', 'g1', ?, ?)", (entry.credential, entry.model_dump_json())
    )
    old.execute("INSERT OR REPLACE INTO pushed_version VALUES ('s1', 'g1', 3)")
    old.close()

    store = OfficeStore(path)
    try:
        assert [e["seq"] for e in store.events("s1", "g1")] == [1, 2, 3, 5]
        assert store.pushed("s1", "g1") == (3, {entry.credential: entry})
        db = store.db
        kept = {e["seq"]: e for e in db.query_events(gate="g1", limit=None)}
        assert kept[2]["time"] == T0 + timedelta(seconds=2)
        assert kept[3]["time"] == T0 + timedelta(seconds=3, milliseconds=250)
        assert kept[3]["details"] == {"reason": "unknown"}
        assert kept[5]["time"] == kept[5]["received"]  # no usable time: when it arrived
        between = db.query_events(gate="g1", since=T0 + timedelta(seconds=2), until=kept[5]["time"])
        assert [e["seq"] for e in between] == [2, 3]
        assert [e["serial"] for e in db.query_events(gate="g1", after=0)] == sorted(
            e["serial"] for e in kept.values()
        )
        assert db.highest_contiguous_seq("s1", "g1") == 3
        assert db.missing_ranges("s1", "g1", 6) == [(4, 4), (6, 6)]
        assert db.query_events(gate="g2")[0]["door"] is None
        assert store.add_event(ev(4)) and db.highest_contiguous_seq("s1", "g1") == 5
    finally:
        store.close()
    again = OfficeStore(path)  # a second open finds nothing to do
    assert len(again.events("s1", "g1")) == 5
    again.close()


def test_a_store_that_cannot_be_opened_is_one_line(tmp_path: Path, pg_database: str) -> None:
    (tmp_path / "junk.db").write_bytes(b"not a database, just bytes" * 100)
    (tmp_path / "file").write_text("")
    unreachable = "postgresql://postgres@127.0.0.1:1/test"
    missing_db = pg_database.rsplit("/", 1)[0] + "/no_such_office_db"
    for where, expect in (
        (tmp_path, "is a folder"),
        (tmp_path / "junk.db", "not a database"),
        (tmp_path / "file" / "office.db", str(tmp_path / "file")),
        (unreachable, "127.0.0.1:1"),
        (missing_db, "no_such_office_db"),
    ):
        with pytest.raises(StorageError) as caught:
            open_store(where)
        message = str(caught.value)
        assert expect in message and "\n" not in message, message


def test_postgres_store_reconnects_after_the_server_drops_it(
    request: pytest.FixtureRequest, tmp_path: Path, pg_database: str
) -> None:
    db = open_store(new_target(request, tmp_path, "postgres"))
    try:
        db.add_events([ev(1)])
        with psycopg.connect(pg_database, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        try:
            db.add_events([ev(2)])
        except StorageError as exc:  # the call that finds the connection gone fails cleanly
            assert "\n" not in str(exc)
        db.add_events([ev(2), ev(3)])
        assert db.highest_contiguous_seq("s1", "g1") == 3
    finally:
        db.close()


def test_alarms_are_counted_per_gate_from_the_events(db: OfficeDb) -> None:
    """Nothing wrote the alarms column: the fleet showed 0 whatever the gates reported."""
    old = (T0 - timedelta(hours=30)).isoformat()
    db.add_events([
        ev(1, type="door_forced_open", severity="alarm", details={}),
        ev(2, type="fire_alarm", severity="alarm", details={}, time=old),
        ev(3, type="alarm_acknowledged", details={"alarm_seq": 1, "guard": "g", "note": "n"}),
        ev(4),
        ev(1, gate="g2", type="security_alert", severity="alarm", details={}),
        ev(2, gate="g2", type="alarm_acknowledged", details={"alarm_seq": 1}, site="s2"),
    ])  # fmt: skip
    for gate in ("g1", "g2", "g3"):
        db.update_gate("s1", gate, online=True)
    counts = {g.gate: (g.open_alarms, g.alarms_24h) for g in db.gates() if g.site == "s1"}
    # g1: the forced door is acknowledged, the fire alarm 30 h old is not;
    # g2: an acknowledgement from another site's g2 does not count for it
    assert counts == {"g1": (1, 1), "g2": (1, 1), "g3": (0, 0)}


def test_fleet_shows_open_alarms_and_the_last_24_hours(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from agent.office.cli import main as office_main

    where = str(tmp_path / "office.db")
    store = open_store(where)
    now = datetime.now(UTC)
    store.add_events([
        ev(1, type="door_forced_open", severity="alarm", time=now.isoformat()),
        ev(2, type="door_held_open", severity="alarm", time=now.isoformat()),
        ev(3, type="alarm_acknowledged", details={"alarm_seq": 2}, time=now.isoformat()),
    ])  # fmt: skip
    store.update_gate("s1", "g1", online=True)
    store.close()
    assert office_main(["--db", where, "fleet"]) == 0
    head, row = capsys.readouterr().out.splitlines()
    assert head.split()[-3:] == ["open", "24", "h"] and row.split()[-2:] == ["1", "2"]
    assert office_main(["--db", where, "fleet", "--json"]) == 0
    (gate,) = json.loads(capsys.readouterr().out)
    assert (gate["open_alarms"], gate["alarms_24h"]) == (1, 2)
