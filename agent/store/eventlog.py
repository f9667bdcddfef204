"""The event log and upload outbox in one SQLite table.

Each event gets a random id (the office de-duplicates on it) and a per-gate sequence
from AUTOINCREMENT, never handed out twice, not even after the newest rows were deleted
or a restart. A reservation file (``seq_reserve``) carries it over a lost or damaged file.

An append writes about three pages to the WAL and syncs once; the events of reads that
arrived together share one transaction (``together``) and its fsync.
"""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from agent.core.clock import Clock
from agent.core.kinds import EventType
from agent.errors import StorageFault
from agent.models.wire import Event
from agent.store import delivery
from agent.store.counters import CardCounters
from agent.store.db import Turns, connect, transaction
from agent.store.event_queries import EventQueries
from agent.store.event_schema import STEPS as STEPS  # backup.py and tests use it here
from agent.store.event_schema import Stored, wire_event
from agent.store.presence import PresenceStore
from agent.store.schema import upgrade
from agent.store.seq_reserve import MARGIN, SeqReserve
from agent.store.wal_room import make_room

log = logging.getLogger(__name__)

_LAST_SEQ = "SELECT seq FROM sqlite_sequence WHERE name='events'"
_INSERT = "INSERT INTO events (id, time, type, door, details, sent) VALUES (?,?,?,?,?,?)"
# A checkpoint is I/O beside the decision path's fsyncs, on the same storage: fold
# the WAL every few hundred events (or after a quiet spell), not every few seconds.
CHECKPOINT_EVERY = 500
CHECKPOINT_IDLE_S = 600.0  # a quiet gate's WAL is still folded in this often
# the gate's WAL room (``wal_room``): what CHECKPOINT_EVERY events need (an event writes
# 3 pages of 4 KB, each with a 24-byte frame header), and a quarter more for the other
# writers and the events that come while a checkpoint runs (7.7 MB, 12 ms to write here)
WAL_ROOM = CHECKPOINT_EVERY * 5 // 4 * 3 * (4096 + 24)


Stage = Callable[[EventType, "str | None", dict[str, Any], datetime], Stored]


class EventLog(EventQueries):
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
        wal_room: int = 0,
    ) -> None:
        """``recovered``: the file was rebuilt from a damaged one, so its newest seqs may
        be gone; the log then continues above the reservation, as it does on a new file.
        ``wal_room``: bytes of WAL made at open (``make_room``): the gate's log takes
        WAL_ROOM; a command's short-lived one none, rather than write megabytes."""
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
        self._append_conn = conn = connect(path, synchronous)
        try:
            upgrade(conn, "events", STEPS)
        except BaseException:
            conn.close()
            raise
        conn.execute("PRAGMA wal_autocheckpoint=0")
        try:
            make_room(conn, path, wal_room)
        except StorageFault as exc:  # the log works, its commits just cost more
            log.warning("%s", exc)
        # Every writer of this file holds it from BEGIN to COMMIT (the marks below, the
        # replay guard's nonces, the gate's state): one that met another's lock in SQLite
        # would sleep in its busy handler (1, 2, 5, 10 ... ms), a decision included.
        self.writer = threading.RLock()  # re-entered: a 5 s busy error as before, not a hang
        self.turns = Turns(self.writer, self.wrote)  # for the others' connections
        # only inside ``together``: staged in the transaction of the event that moves them
        self.counters, self.presence = CardCounters(conn), PresenceStore(conn)
        self._conn = connect(path, "normal")
        self._conn.execute("PRAGMA wal_autocheckpoint=0")
        self._lock = threading.Lock()
        self._reserve = SeqReserve(path.with_suffix(".seq"))
        self._reserve_lock = threading.Lock()
        self.commits = 0  # durable commits on the decision path's connection
        self._appended = 0  # events since the last checkpoint
        self._due: Callable[[], None] = lambda: None
        self._checkpointed_at = clock.monotonic()
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
        with self._lock, self.writer:  # the order the marks take them in
            self._append_conn.close()
            self._conn.close()

    def checkpoint(self, force: bool = False) -> None:
        """Move the WAL into the database without blocking appends, and renew the seq
        reservation early; run off the core thread. Skipped while the WAL is short."""
        self._renew_reserve()
        idle = self._clock.monotonic() - self._checkpointed_at >= CHECKPOINT_IDLE_S
        if not (force or self._appended >= CHECKPOINT_EVERY or (idle and self._appended)):
            return
        self._appended = 0
        self._checkpointed_at = self._clock.monotonic()
        with self._lock:
            busy, frames, _ = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if busy or not frames:
                return
            # Appends go on beside that pass, and a WAL with even one frame past the
            # checkpoint never starts over: under steady taps it grew on and on, and each
            # commit's fsync also wrote the file's new size. The last few frames go with
            # appends held, and the WAL starts over in the same turn.
            with self.writer:
                busy, frames, moved = self._conn.execute(
                    "PRAGMA wal_checkpoint(PASSIVE)"
                ).fetchone()
                if not busy and 0 < frames == moved:
                    # the WAL is all in the database: the next commit starts it over and
                    # syncs its new header too. Make that commit this one, not a decision's.
                    self._conn.execute(
                        "INSERT OR REPLACE INTO state (key, value) VALUES ('wal_restarted', ?)",
                        (self._clock.now().isoformat(),),
                    )

    def when_due(self, wake: Callable[[], None]) -> None:
        """``wake()`` runs (on the writer's thread: it must only signal) once the WAL
        holds CHECKPOINT_EVERY writes, so the checkpoint need not wait for its timer: a
        busy gate's WAL then stays inside the room made for it at open."""
        self._due = wake

    def wrote(self) -> None:
        """A write went into the WAL: an append, or another writer of this file (the
        replay guard's nonces, the gate's state), whose connections never checkpoint."""
        self._appended += 1
        if self._appended == CHECKPOINT_EVERY:
            self._due()

    def _renew_reserve(self) -> None:
        """Extend the reservation before an append has to (two fsyncs of its own)."""
        if self._last + 1 + 2 * MARGIN > self._reserve.value:
            with self._reserve_lock:
                try:
                    self._reserve.cover(self._last + 1 + MARGIN)
                except StorageFault as exc:  # the append path tries again and says so
                    log.warning("%s", exc)

    def append(self, type_: EventType, door: str | None = None, **details: Any) -> Event:
        """Store one event durably and return it with its id and sequence number."""
        with self.writer:
            stored = self._insert(type_, door, details, self._clock.now())
            self.commits += 1
        return self.to_event(stored)

    @contextmanager
    def together(self) -> Iterator[Stage]:
        """One transaction for several events, durable with one fsync when the block ends.

        Yields ``stage(type, door, details, when)``, which writes an event into the open
        transaction and returns it. Nothing staged is durable, so nothing may act on it,
        until the block has ended without an exception; on any exception (a failed
        commit raises ``StorageFault``) every staged event is rolled back.
        """
        with self.writer:
            conn = self._append_conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StorageFault(f"cannot write the event log: {exc}") from None
            try:
                yield self._insert
                conn.execute("COMMIT")
            except BaseException as exc:
                self._rollback()
                if isinstance(exc, sqlite3.Error):
                    raise StorageFault(f"cannot write the event log: {exc}") from None
                raise
            self.commits += 1

    def _rollback(self) -> None:
        # SQLite may already have rolled back by itself (a full disk, an I/O error)
        if self._append_conn.in_transaction:
            try:
                self._append_conn.execute("ROLLBACK")
            except sqlite3.Error as exc:
                log.warning("event log rollback failed: %s", exc)

    def _insert(
        self, type_: EventType, door: str | None, details: dict[str, Any], when: datetime
    ) -> Stored:
        """Write one row on the append connection; the caller holds the append lock."""
        event_id = secrets.token_hex(16)  # 128 random bits, as a uuid4's hex
        body = json.dumps(details, separators=(",", ":"), default=str)
        if self._last + 1 + MARGIN > self._reserve.value:
            with self._reserve_lock:
                self._reserve.cover(self._last + 1)
        try:
            cur = self._append_conn.execute(
                _INSERT, (event_id, when.isoformat(), type_.value, door, body, self._initial_sent)
            )
        except sqlite3.Error as exc:
            raise StorageFault(f"cannot write the event log: {exc}") from None
        seq = cur.lastrowid
        assert seq is not None
        self._last = seq
        self.wrote()
        if seq > self._reserve.value:  # another writer raced ahead of our view
            try:
                with self._reserve_lock:
                    self._reserve.cover(seq)
            except StorageFault as exc:  # the event is stored: say so, don't fail it
                log.warning("%s", exc)
        return Stored(seq, event_id, when, type_, door, details)

    def to_event(self, stored: Stored) -> Event:
        """The wire model of a stored event (built after the commit, for the uplink)."""
        return wire_event(self._site, self._gate, stored)

    def mark_sent(self, seqs: list[int], state: int = delivery.AT_BROKER) -> None:
        """The broker took these (PUBACK); ``state=RECEIVED`` when that is all we wait for."""
        if seqs:
            with self._lock:
                delivery.mark(self._conn, seqs, state, self.writer)

    def mark_received(self, ranges: list[tuple[int, int]]) -> int:
        """The office committed these seqs (a signed receipt); returns how many changed."""
        with self._lock:
            return delivery.mark_ranges(self._conn, ranges, self.writer)

    def reopen_from(self, seq: int) -> tuple[int, int | None]:
        """Send again from ``seq`` on (the office lost them): (count, oldest seq held)."""
        with self._lock:
            return delivery.reopen_from(self._conn, seq, self.writer)

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
            row = self._conn.execute(_LAST_SEQ).fetchone()
        return int(row[0]) if row else 0

    def prune(self, max_rows: int, max_age: timedelta) -> int:
        """Enforce retention; returns how many events were dropped before the office had them."""
        cutoff = (self._clock.now() - max_age).isoformat()
        with self._lock:
            return delivery.prune(self._conn, cutoff, max_rows, self.writer)
