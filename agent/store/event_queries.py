"""Reading the event log: the newest events, events by type and door, what is unsent."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Collection
from typing import Any

from agent.models.wire import Event
from agent.store.event_schema import from_row, wire_event

COLUMNS = "seq, id, time, type, door, details"  # the order ``from_row`` reads


class EventQueries:
    """The log's reads, on its second connection (``_conn`` under ``_lock``)."""

    _conn: sqlite3.Connection
    _lock: threading.Lock
    _site: str
    _gate: str

    def _rows(self, sql: str, args: tuple[Any, ...]) -> list[Event]:
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [wire_event(self._site, self._gate, from_row(r)) for r in rows]

    def recent(self, limit: int = 20) -> list[Event]:
        """The newest events, newest last."""
        events = self._rows(f"SELECT {COLUMNS} FROM events ORDER BY seq DESC LIMIT ?", (limit,))
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
        sql = f"SELECT {COLUMNS} FROM events WHERE {' AND '.join(where)} ORDER BY seq {order}"
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
            f"SELECT {COLUMNS} FROM events WHERE {state} AND seq > ? AND seq <= ? "
            "ORDER BY seq LIMIT ?",
            (after_seq, top, limit),
        )
