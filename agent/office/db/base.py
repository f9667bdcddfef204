"""What the office's event store offers (``OfficeDb``), and what each backend must supply.

Times: every time the store returns (event ``time`` and ``received``, the gate row's
times) is an aware ``datetime`` in UTC, from both backends. PostgreSQL keeps them as
``timestamptz``; SQLite as fixed-width ISO text in UTC (``2026-06-10T07:00:00.000000+00:00``),
so that text order is time order and range filters use the index. A naive time given to
the store is taken as UTC.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from agent.models.wire import AllowListEntry

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Dialect:
    """Where SQLite and PostgreSQL differ in the shared SQL: type names and one expression."""

    name: str
    serial_pk: str  # an insert counter that is also the key: the follow cursor
    bigint: str
    time: str
    json: str
    boolean: str
    holder: str  # details->>'holder_id' as this backend spells it (and indexes it)
    acknowledges: str  # event k (an alarm_acknowledged) names alarm a's seq in alarm_seq


SQLITE = Dialect(
    name="sqlite",
    serial_pk="INTEGER PRIMARY KEY AUTOINCREMENT",  # AUTOINCREMENT: never reused after a delete
    bigint="INTEGER",
    time="TEXT",
    json="TEXT",
    boolean="INTEGER",
    holder="json_extract(details, '$.holder_id')",
    acknowledges="json_extract(k.details, '$.alarm_seq') = a.seq",
)
POSTGRES = Dialect(
    name="postgres",
    serial_pk="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    bigint="BIGINT",
    time="TIMESTAMPTZ",
    json="JSONB",
    boolean="BOOLEAN",
    holder="(details ->> 'holder_id')",
    acknowledges="k.details -> 'alarm_seq' = to_jsonb(a.seq)",
)


@dataclass(frozen=True)
class EventRow:
    """One event as checked by ``parse_event``, in Python types, ready for either backend."""

    id: str
    site: str
    gate: str
    seq: int
    time: datetime
    type: str
    severity: str
    door: str | None
    details_json: str


@dataclass(frozen=True)
class GateRow:
    """What the office knows of one gate: its last status and what it has stored of its events.

    ``first_seq`` is the lowest seq of the first batch the office stored for the gate and
    ``contiguous_seq`` the highest seq with every seq from ``first_seq`` up to it stored.
    """

    site: str
    gate: str
    online: bool | None = None
    online_since: datetime | None = None
    last_seen: datetime | None = None
    last_status: dict[str, Any] | None = None
    allowlist_version: int | None = None
    config_revision: int | None = None
    backlog: int | None = None
    open_alarms: int | None = None  # alarms no alarm_acknowledged event names, from events
    alarms_24h: int | None = None  # alarms whose time is in the last 24 h, from events
    last_event_seq: int | None = None
    last_event_time: datetime | None = None
    first_seq: int | None = None
    contiguous_seq: int | None = None


# Fields ``update_gate`` may set, by kind; the event bookkeeping columns are the store's own.
GATE_FIELDS: dict[str, str] = {
    "online": "bool",
    "online_since": "time",
    "last_seen": "time",
    "last_status": "json",
    "allowlist_version": "int",
    "config_revision": "int",
    "backlog": "int",
    "open_alarms": "int",
}


class OfficeDb(Protocol):
    """The office's store: events (each once), per-gate state, and allow-lists pushed."""

    def add_events(self, events: Sequence[Mapping[str, Any]]) -> int:
        """Store the events in one transaction, skipping ids already stored; how many were new."""
        ...

    def add_rows(self, rows: Sequence[EventRow]) -> int:
        """``add_events`` for events already checked."""
        ...

    def highest_contiguous_seq(self, site: str, gate: str) -> int:
        """The highest seq N with every seq from the gate's first one up to N stored (0: none)."""
        ...

    def missing_ranges(self, site: str, gate: str, upto_seq: int) -> list[tuple[int, int]]:
        """Inclusive ranges of seqs up to ``upto_seq`` not stored (from 1 for an unknown gate)."""
        ...

    def query_events(
        self,
        site: str | None = None,
        gate: str | None = None,
        types: Sequence[str] | None = None,
        door: str | None = None,
        holder: str | Sequence[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after: int | None = None,
        limit: int | None = 100,
        before: tuple[datetime, int] | None = None,
    ) -> list[dict[str, Any]]:
        """Matching events, newest last (see ``SqlOfficeDb.query_events``)."""
        ...

    def last_serial(self) -> int:
        """The newest event's ``serial`` (0 when empty): where a follower starts."""
        ...

    def update_gate(self, site: str, gate: str, **fields: Any) -> None:
        """Create or update a gate's row with the given ``GATE_FIELDS``."""
        ...

    def gate(self, site: str, gate: str) -> GateRow | None:
        """One gate's row, or None if the office has heard nothing of it."""
        ...

    def gate_names(self) -> list[tuple[str, str]]:
        """(site, gate) of every gate, by site then gate: cheap, nothing counted."""
        ...

    def gates(self) -> list[GateRow]:
        """Every gate's row, by site then gate."""
        ...

    def pushed(self, site: str, gate: str) -> tuple[int | None, dict[str, AllowListEntry]]:
        """The allow-list version last pushed to the gate and its entries by credential."""
        ...

    def record_push(
        self, site: str, gate: str, version: int, entries: list[AllowListEntry]
    ) -> None:
        """Remember what the gate now holds (replaces the previous record)."""
        ...

    def close(self) -> None:
        """Close the connection (again is harmless)."""
        ...


class Sql(ABC):
    """One backend's connection: run shared SQL (``?`` placeholders), convert values."""

    dialect: Dialect

    @abstractmethod
    def run(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Execute one statement; the rows it returns (none for DDL and writes)."""

    @abstractmethod
    def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Execute one statement for each parameter row."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """A write transaction: committed at the end, rolled back on any exception."""

    @abstractmethod
    def lock_writers(self) -> None:
        """Inside a transaction: wait until no other writer of this database is in one."""

    @abstractmethod
    def insert_events(self, rows: Sequence[EventRow], received: datetime) -> int:
        """Insert the rows in order, skipping known ids; how many were new (in a transaction)."""

    @abstractmethod
    def columns(self, table: str) -> list[str]:
        """The table's column names ([] when there is no such table)."""

    @abstractmethod
    def time_in(self, value: datetime) -> Any:
        """A UTC time as this backend stores it."""

    @abstractmethod
    def json_in(self, value: Any) -> Any:
        """A JSON value as this backend stores it."""

    @abstractmethod
    def close(self) -> None:
        """Close the connection."""

    def time_out(self, value: Any) -> datetime | None:
        """A stored time back as an aware UTC datetime."""
        if value is None:
            return None
        when = datetime.fromisoformat(value) if isinstance(value, str) else value
        return as_utc(when)

    def json_out(self, value: Any) -> Any:
        """A stored JSON value back as Python (PostgreSQL's driver already decodes it)."""
        return value

    def pages(self, sql: str, start: Any, size: int = 5000) -> Iterator[list[Row]]:
        """A keyed scan in pages: ``sql`` takes (last key, limit), orders by its first column."""
        key = start
        while True:
            rows = self.run(sql, [key, size])
            if rows:
                yield rows
            if len(rows) < size:
                return
            key = rows[-1][0]


def as_utc(when: datetime) -> datetime:
    """Aware and in UTC; a naive time is taken as UTC already."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def iso_utc(when: datetime) -> str:
    """Fixed-width ISO text in UTC: text order is time order (SQLite's time columns)."""
    return as_utc(when).isoformat(timespec="microseconds")
