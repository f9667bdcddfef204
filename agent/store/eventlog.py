"""The event log and upload outbox in one SQLite table.

Each event gets a random id (the office de-duplicates on it) and a per-gate
sequence from AUTOINCREMENT, which SQLite never hands out twice, not even after
the newest rows were deleted or the process restarted. A reservation file beside
the database (``seq_reserve``) carries the sequence over a lost or damaged file.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import uuid
from collections.abc import Collection
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from agent.core.clock import Clock
from agent.core.kinds import ALARMS, EventType
from agent.errors import StorageFault
from agent.models.wire import Event
from agent.store import delivery
from agent.store.db import connect, transaction
from agent.store.schema import upgrade
from agent.store.seq_reserve import SeqReserve

log = logging.getLogger(__name__)

# the whole events.db file: the log, gate state and the replay guard share it
STEPS: tuple[tuple[str, ...], ...] = (
    (  # 1: the layout of the first release (files from before versions were recorded)
        "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
        "id TEXT NOT NULL UNIQUE, time TEXT NOT NULL, type TEXT NOT NULL, door TEXT, "
        "details TEXT NOT NULL, sent INTEGER NOT NULL DEFAULT 0)",
        "CREATE INDEX IF NOT EXISTS events_unsent ON events (seq) WHERE sent = 0",
        "CREATE INDEX IF NOT EXISTS events_time ON events (time)",
        "CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT)",
        "CREATE TABLE IF NOT EXISTS nonces (nonce TEXT PRIMARY KEY, ts TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS replay_hwm (id INTEGER PRIMARY KEY CHECK (id = 1), "
        "ts TEXT NOT NULL)",
    ),
    (  # 2: end-to-end receipts: sent 0 pending, 1 at the broker, 2 received by the office
        "DROP INDEX IF EXISTS events_unsent",
        "CREATE INDEX IF NOT EXISTS events_unreceived ON events (seq) WHERE sent < 2",
        # what version 1 called sent (PUBACKed) is all the office was ever promised
        "UPDATE events SET sent = 2 WHERE sent = 1",
    ),
)
_COLUMNS = "seq, id, time, type, door, details"


class EventLog:
    """Append-only log with an unsent marker; safe to share between threads."""

    def __init__(
        self,
        path: Path,
        clock: Clock,
        site: str,
        gate: str,
        synchronous: str = "full",
        upload: bool = True,
        recovered: bool = False,
    ) -> None:
        """``recovered``: the file was rebuilt from a damaged one, so its newest seqs may
        be gone; the log then continues above the reservation, as it does on a new file."""
        self.path = path
        self._clock = clock
        self._site = site
        self._gate = gate
        # With no uplink there is nobody to upload to: events are stored as received,
        # so retention never reports them as lost.
        self._initial_sent = delivery.PENDING if upload else delivery.RECEIVED
        # The decision path appends on its own connection, durable per config, and never
        # checkpoints (a checkpoint inside a commit is a latency spike). Everything else
        # (upload marks, reads, retention, checkpoints) uses a second connection: a lost
        # "sent" mark costs only a duplicate upload, so it need not wait for fsync.
        self._append_conn = connect(path, synchronous)
        try:
            upgrade(self._append_conn, "events", STEPS)
        except BaseException:
            self._append_conn.close()
            raise
        self._append_conn.execute("PRAGMA wal_autocheckpoint=0")
        self._append_lock = threading.Lock()
        self._conn = connect(path, "normal")
        self._conn.execute("PRAGMA wal_autocheckpoint=0")
        self._lock = threading.Lock()
        self._reserve = SeqReserve(path.with_suffix(".seq"))
        self._last = self.last_seq()
        if self._last < self._reserve.value and (recovered or self._last == 0):
            self._continue_from(self._reserve.value)

    def _continue_from(self, seq: int) -> None:
        with transaction(self._append_conn) as conn:
            bumped = conn.execute(
                "UPDATE sqlite_sequence SET seq = ? WHERE name = 'events'", (seq,)
            ).rowcount
            if not bumped:
                conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('events', ?)", (seq,))
        self._last = seq

    def close(self) -> None:
        with self._append_lock, self._lock:
            self._append_conn.close()
            self._conn.close()

    def checkpoint(self) -> None:
        """Move the WAL into the database without blocking appends (run off the core thread)."""
        with self._lock:
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def append(self, type_: EventType, door: str | None = None, **details: Any) -> Event:
        """Store one event durably and return it with its id and sequence number."""
        event_id = uuid.uuid4().hex
        when = self._clock.now()
        body = json.dumps(details, separators=(",", ":"), default=str)
        with self._append_lock:
            self._reserve.cover(self._last + 1)
            try:
                cur = self._append_conn.execute(
                    "INSERT INTO events (id, time, type, door, details, sent) VALUES (?,?,?,?,?,?)",
                    (event_id, when.isoformat(), type_.value, door, body, self._initial_sent),
                )
            except sqlite3.Error as exc:
                raise StorageFault(f"cannot write the event log: {exc}") from None
            seq = cur.lastrowid
            assert seq is not None
            self._last = seq
            if seq > self._reserve.value:  # another writer raced ahead of our view
                try:
                    self._reserve.cover(seq)
                except StorageFault as exc:  # the event is stored: say so, don't fail it
                    log.warning("%s", exc)
        return self._event(seq, event_id, when, type_, door, details)

    def _event(
        self,
        seq: int,
        event_id: str,
        when: datetime,
        type_: EventType | str,
        door: str | None,
        details: dict[str, Any],
    ) -> Event:
        kind = EventType(type_)
        return Event.model_construct(
            id=event_id,
            seq=seq,
            time=when,
            site=self._site,
            gate=self._gate,
            type=kind,
            severity="alarm" if kind in ALARMS else "info",
            door=door,
            details=details,
        )

    def _rows(self, sql: str, args: tuple[Any, ...]) -> list[Event]:
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [
            self._event(r[0], r[1], datetime.fromisoformat(r[2]), r[3], r[4], json.loads(r[5]))
            for r in rows
        ]

    def recent(self, limit: int = 20) -> list[Event]:
        """The newest events, newest last."""
        events = self._rows(f"SELECT {_COLUMNS} FROM events ORDER BY seq DESC LIMIT ?", (limit,))
        return events[::-1]

    def matching(
        self,
        after_seq: int = 0,
        limit: int = 500,
        types: Collection[str] = (),
        door: str | None = None,
        newest: bool = False,
    ) -> list[Event]:
        """Events above ``after_seq`` of those ``types`` (all if empty) at ``door``, oldest
        first: the first ``limit`` of them, or the last ``limit`` when ``newest``."""
        where = ["seq > ?"] + ([f"type IN ({', '.join('?' for _ in types)})"] if types else [])
        where += ["door = ?"] if door is not None else []
        args = (after_seq, *types, *([door] if door is not None else []), limit)
        order = "DESC" if newest else "ASC"
        sql = f"SELECT {_COLUMNS} FROM events WHERE {' AND '.join(where)} ORDER BY seq {order}"
        events = self._rows(sql + " LIMIT ?", args)
        return events[::-1] if newest else events

    def unsent(
        self,
        after_seq: int = 0,
        limit: int = 500,
        unreceived: bool = False,
        upto: int | None = None,
    ) -> list[Event]:
        """Events the broker has not taken (or, ``unreceived``, the office not confirmed),
        with seq in (after_seq, upto]."""
        state = "sent < 2" if unreceived else "sent = 0"
        top = upto if upto is not None else 2**63 - 1
        return self._rows(
            f"SELECT {_COLUMNS} FROM events WHERE {state} AND seq > ? AND seq <= ? "
            "ORDER BY seq LIMIT ?",
            (after_seq, top, limit),
        )

    def mark_sent(self, seqs: list[int], state: int = delivery.AT_BROKER) -> None:
        """The broker took these (PUBACK); ``state=RECEIVED`` when that is all we wait for."""
        if seqs:
            with self._lock:
                delivery.mark(self._conn, seqs, state)

    def mark_received(self, ranges: list[tuple[int, int]]) -> int:
        """The office committed these seqs (a signed receipt); returns how many changed."""
        with self._lock:
            return delivery.mark_ranges(self._conn, ranges)

    def reopen_from(self, seq: int) -> tuple[int, int | None]:
        """Send again from ``seq`` on (the office lost them): (count, oldest seq held)."""
        with self._lock:
            return delivery.reopen_from(self._conn, seq)

    def depth(self) -> int:
        """How many events the broker has not taken yet."""
        return self._count("SELECT count(*) FROM events WHERE sent = 0")

    def unreceived(self) -> int:
        """How many events the office has not confirmed (the broker may have them)."""
        return self._count("SELECT count(*) FROM events WHERE sent < 2")

    def oldest_unreceived(self) -> int | None:
        """The oldest seq the broker took that the office has not confirmed."""
        with self._lock:
            row = self._conn.execute("SELECT min(seq) FROM events WHERE sent = 1").fetchone()
        return int(row[0]) if row[0] is not None else None

    def _count(self, sql: str) -> int:
        with self._lock:
            return int(self._conn.execute(sql).fetchone()[0])

    def last_seq(self) -> int:
        with self._lock:
            row = self._conn.execute(
                "SELECT seq FROM sqlite_sequence WHERE name='events'"
            ).fetchone()
        return int(row[0]) if row else 0

    def prune(self, max_rows: int, max_age: timedelta) -> int:
        """Enforce retention; returns how many events were dropped before the office had them."""
        cutoff = (self._clock.now() - max_age).isoformat()
        with self._lock:
            return delivery.prune(self._conn, cutoff, max_rows)
