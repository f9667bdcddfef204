"""The office database's schema: one ordered list of steps for SQLite and PostgreSQL.

``schema_version`` holds the version a database is at; ``migrate`` runs each missing step
in its own transaction at open, so a step that fails leaves the database at the version
before it. Type names and the one expression that differ live in ``base.Dialect``; the
SQL below is written once for both.

Version 0 is an empty database, or (SQLite only) the layout the first ``gate-office``
wrote without a version: ``events`` keyed by id, its times as the gates sent them, and the
``pushed`` tables. Step 1 rebuilds that ``events`` table with normalised times and keeps
every row. A database newer than this program is refused in one line.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from agent.errors import GateError, StorageError
from agent.office.db.base import Row, Sql
from agent.office.db.events import clean_text, clean_value, parse_time
from agent.office.db.presence import step_presence
from agent.office.db.seqs import backfill

log = logging.getLogger(__name__)

Step = Callable[[Sql], None]

_EVENTS = """CREATE TABLE events (
    serial {serial_pk}, id TEXT NOT NULL UNIQUE, site TEXT NOT NULL, gate TEXT NOT NULL,
    seq {bigint} NOT NULL, time {time} NOT NULL, type TEXT NOT NULL, severity TEXT NOT NULL,
    door TEXT, details {json} NOT NULL, received {time} NOT NULL)"""
_EVENT_INDEXES = (
    "CREATE INDEX events_gate_time ON events (site, gate, time)",
    "CREATE INDEX events_gate_seq ON events (site, gate, seq)",
    "CREATE INDEX events_time ON events (time)",
    "CREATE INDEX events_holder ON events ({holder}, time) WHERE {holder} IS NOT NULL",
)
# The same text the first gate-office used, so its files need nothing done to these.
_PUSHED = (
    "CREATE TABLE IF NOT EXISTS pushed (site TEXT, gate TEXT, credential TEXT, entry TEXT, "
    "PRIMARY KEY (site, gate, credential))",
    "CREATE TABLE IF NOT EXISTS pushed_version (site TEXT, gate TEXT, version INTEGER, "
    "PRIMARY KEY (site, gate))",
)
_GATES = """CREATE TABLE gates (
    site TEXT NOT NULL, gate TEXT NOT NULL, online {boolean}, online_since {time},
    last_seen {time}, last_status {json}, allowlist_version {bigint}, config_revision {bigint},
    backlog {bigint}, open_alarms {bigint}, last_event_seq {bigint}, last_event_time {time},
    first_seq {bigint}, contiguous_seq {bigint}, PRIMARY KEY (site, gate))"""
_INSERT = (
    "INSERT INTO events (id, site, gate, seq, time, type, severity, door, details, received) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
)


def _ddl(sql: Sql, statement: str) -> None:
    sql.run(statement.format(**vars(sql.dialect)))


def _time_or_none(value: Any) -> datetime | None:
    try:
        return parse_time(value)
    except GateError:
        return None


def _legacy_row(sql: Sql, row: Row) -> list[Any] | None:
    """A version-0 row in today's form; None (logged) for one that cannot be kept.

    The first gate-office stored whatever arrived, unchecked: a bad time becomes the time
    it was received, bad details are kept as text, a row without id, place or seq is dropped.
    """
    _, ident, site, gate, seq, time, kind, severity, door, details, received = row
    if (
        isinstance(seq, bool)
        or not isinstance(seq, int)
        or not all(isinstance(v, str) and v for v in (ident, site, gate))
    ):
        log.warning("office database: version-0 event %r dropped: no id, site, gate or seq", ident)
        return None
    got = _time_or_none(received) or datetime.now(UTC)
    try:
        data = json.loads(details) if details else {}
    except (TypeError, ValueError):
        data = {"details_text": str(details)}
    text = [clean_text(str(v)) if v is not None else None for v in (kind, severity, door)]
    return [
        clean_text(ident), clean_text(site), clean_text(gate), seq,
        sql.time_in(_time_or_none(time) or got), text[0] or "unknown", text[1] or "info", text[2],
        sql.json_in(clean_value(data if isinstance(data, dict) else {"details": data})),
        sql.time_in(got),
    ]  # fmt: skip


def _step1_events(sql: Sql) -> None:
    """Events with an insert serial (the follow cursor), UTC times, and the query indexes."""
    legacy = bool(sql.columns("events")) and "serial" not in sql.columns("events")
    if legacy:
        sql.run("ALTER TABLE events RENAME TO events_v0")
        sql.run("DROP INDEX IF EXISTS events_gate_seq")
    _ddl(sql, _EVENTS)
    for statement in (*_EVENT_INDEXES, *_PUSHED):
        _ddl(sql, statement)
    if legacy:  # only SQLite files have a version 0 with data: its rowid is arrival order
        pages = sql.pages(
            "SELECT rowid, id, site, gate, seq, time, type, severity, door, details, received "
            "FROM events_v0 WHERE rowid > ? ORDER BY rowid LIMIT ?",
            start=-(2**63),
        )
        for page in pages:
            rows = [r for r in (_legacy_row(sql, row) for row in page) if r is not None]
            sql.run_many(_INSERT, rows)
        sql.run("DROP TABLE events_v0")


def _step2_gates(sql: Sql) -> None:
    """Per-gate state (status, event marks), filled in from the events already stored."""
    _ddl(sql, _GATES)
    backfill(sql)


STEPS: Sequence[Step] = (_step1_events, _step2_gates, step_presence)


def version_of(sql: Sql) -> int:
    """The database's schema version (0 when it has never been migrated)."""
    if not sql.columns("schema_version"):
        return 0
    (version,) = sql.run("SELECT MAX(version) FROM schema_version")[0]
    return int(version or 0)


def migrate(sql: Sql, where: str, target: int | None = None) -> int:
    """Bring the database to ``target`` (default: the latest); returns its version."""
    latest = len(STEPS) if target is None else target
    while True:
        with sql.transaction():
            sql.lock_writers()  # two offices opening one PostgreSQL database at once
            have = version_of(sql)
            if have > len(STEPS):
                raise StorageError(
                    f"{where}: office database schema version {have} is newer than this "
                    f"gate-office knows ({len(STEPS)}); upgrade gate-office or restore a backup"
                )
            if have >= latest:
                return have
            sql.run("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            STEPS[have](sql)
            sql.run("DELETE FROM schema_version")
            sql.run("INSERT INTO schema_version (version) VALUES (?)", (have + 1,))
