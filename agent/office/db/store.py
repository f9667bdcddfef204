"""``SqlOfficeDb``: the office store written once over a backend's ``Sql`` connection."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from agent.errors import GateError
from agent.models.wire import AllowListEntry
from agent.office.db import seqs
from agent.office.db.base import GATE_FIELDS, EventRow, GateRow, Row, Sql
from agent.office.db.events import clean_value, parse_event, parse_time
from agent.office.db.migrations import migrate
from agent.office.db.presence import OfficePresence, note_moves

_EVENT_COLUMNS = "serial, id, site, gate, seq, time, type, severity, door, details, received"
_GATE_COLUMNS = (
    "site, gate, online, online_since, last_seen, last_status, allowlist_version, "
    "config_revision, backlog, open_alarms, last_event_seq, last_event_time, first_seq, "
    "contiguous_seq"
)


def utc_now() -> datetime:
    return datetime.now(UTC)


class SqlOfficeDb:
    """The office store (``OfficeDb``) over one connection; calls are serialised by a lock.

    A reader that must not wait behind a large ingest (a ``follow`` loop, say) opens its
    own store on the same database: both backends let readers run beside one writer.
    """

    def __init__(self, sql: Sql, where: str, now: Callable[[], datetime] = utc_now) -> None:
        self.where = where
        self._sql = sql
        self._now = now
        self._lock = threading.Lock()
        try:
            self.schema_version = migrate(sql, where)
        except BaseException:
            sql.close()
            raise
        self.presence = OfficePresence(sql, self._lock)  # each site's holders, for the relay

    # -- events ------------------------------------------------------------------------
    def add_events(self, events: Sequence[Mapping[str, Any]]) -> int:
        """Store the events in ONE transaction, skipping ids already stored (a repeat is
        normal: delivery is at least once); returns how many were new.

        Every event is checked first: a malformed one refuses the whole batch with a
        one-line GateError and nothing is stored (check messages one by one with
        ``parse_event`` before batching them). Committed durably before it returns.
        """
        return self.add_rows([parse_event(event) for event in events])

    def add_rows(self, rows: Sequence[EventRow]) -> int:
        """``add_events`` for events already checked (``parse_event``, ``row_of``)."""
        if not rows:
            return 0
        per_gate: dict[tuple[str, str], tuple[set[int], int, datetime]] = {}
        for row in rows:
            seen, top, when = per_gate.get((row.site, row.gate), (set(), 0, row.time))
            seen.add(row.seq)
            per_gate[row.site, row.gate] = (
                (seen, row.seq, row.time) if row.seq > top else (seen, top, when)
            )
        with self._lock, self._sql.transaction():
            self._sql.lock_writers()  # serial order = commit order: the follow cursor is safe
            new = self._sql.insert_events(rows, self._now())
            if new:  # a batch of repeats cannot move any mark
                for (site, gate), (seen, top, when) in per_gate.items():
                    seqs.note_batch(self._sql, site, gate, seen, top, when)
                note_moves(self._sql, rows)  # presence moves, committed with their events
        return new

    def highest_contiguous_seq(self, site: str, gate: str) -> int:
        """The highest seq N such that every seq from the first the office stored for this
        gate up to N is stored (0 for a gate with no event). One indexed row read."""
        with self._lock:
            return seqs.contiguous(self._sql, site, gate)

    def missing_ranges(self, site: str, gate: str, upto_seq: int) -> list[tuple[int, int]]:
        """The seqs above ``highest_contiguous_seq`` and up to ``upto_seq`` (the gate's last
        seq, from its status) that are not stored, as inclusive ranges in order: what to
        ask the gate to replay. From 1 for a gate the office has no event of."""
        with self._lock:
            return seqs.missing(self._sql, site, gate, upto_seq)

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
        """Events matching every filter given, newest last, at most ``limit`` (None: all).

        ``since`` is inclusive and ``until`` exclusive, on the event's own time; ``holder``
        matches ``details.holder_id`` (one, or any of several). ``before`` (time, serial)
        keeps the events older than that one in this order: the next page of a listing.
        Without ``after``: the newest matches by event time.
        With ``after`` (a ``serial``): the matches stored after it, in the order they were
        committed; a follower passes the last ``serial`` it saw (start from ``last_serial()``
        taken before its first query) and misses nothing. Each event carries ``serial``,
        ``details`` as a dict, and ``time`` and ``received`` as aware UTC datetimes.
        """
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("site", site), ("gate", gate), ("door", door)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if isinstance(types, str):
            types = [types]
        if types:
            where.append(f"type IN ({', '.join('?' for _ in types)})")
            params.extend(types)
        if isinstance(holder, str):
            holder = [holder]
        if holder is not None:  # several: a unit's residents; none: nothing matches
            where.append(f"{self._sql.dialect.holder} IN ({', '.join('?' for _ in holder)})"
                         if holder else "1 = 0")  # fmt: skip
            params.extend(holder)
        for test, when in (("time >= ?", since), ("time < ?", until)):
            if when is not None:
                where.append(test)
                params.append(self._sql.time_in(parse_time(when, "since/until")))
        if after is not None:
            where.append("serial > ?")
            params.append(after)
        if before is not None:  # the page after one ending at (time, serial), newest first
            where.append("(time < ? OR (time = ? AND serial < ?))")
            moment = self._sql.time_in(parse_time(before[0], "before"))
            params.extend([moment, moment, before[1]])
        text = f"SELECT {_EVENT_COLUMNS} FROM events"
        text += f" WHERE {' AND '.join(where)}" if where else ""
        text += " ORDER BY serial" if after is not None else " ORDER BY time DESC, serial DESC"
        if limit is not None:
            text += " LIMIT ?"
            params.append(max(0, limit))
        with self._lock:
            rows = self._sql.run(text, params)
        events = [self._event(row) for row in rows]
        return events if after is not None else events[::-1]

    def _event(self, row: Row) -> dict[str, Any]:
        serial, ident, site, gate, seq, time, kind, severity, door, details, received = row
        return {
            "serial": int(serial), "id": ident, "site": site, "gate": gate, "seq": int(seq),
            "time": self._sql.time_out(time), "type": kind, "severity": severity, "door": door,
            "details": self._sql.json_out(details), "received": self._sql.time_out(received),
        }  # fmt: skip

    def last_serial(self) -> int:
        """The newest event's ``serial`` (0 when there is none): where a follower starts."""
        with self._lock:
            (serial,) = self._sql.run("SELECT MAX(serial) FROM events")[0]
        return int(serial or 0)

    # -- gates -------------------------------------------------------------------------
    def update_gate(self, site: str, gate: str, **fields: Any) -> None:
        """Create the gate's row if needed and set the given fields (``GATE_FIELDS``: online,
        online_since, last_seen, last_status, allowlist_version, config_revision, backlog,
        open_alarms); times as datetimes or ISO text, ``last_status`` any JSON object.
        ``last_event_*`` and the seq marks are kept by ``add_events``."""
        unknown = sorted(set(fields) - set(GATE_FIELDS))
        if unknown:
            raise GateError(f"gate fields not known: {', '.join(unknown)}")
        names = list(fields)
        values = [self._gate_value(name, fields[name]) for name in names]
        columns = ", ".join(["site", "gate", *names])
        marks = ", ".join("?" for _ in range(len(names) + 2))
        sets = ", ".join(f"{name} = excluded.{name}" for name in names)
        action = f"DO UPDATE SET {sets}" if names else "DO NOTHING"
        statement = f"INSERT INTO gates ({columns}) VALUES ({marks}) ON CONFLICT (site, gate) "
        with self._lock, self._sql.transaction():
            self._sql.run(statement + action, [site, gate, *values])

    def _gate_value(self, name: str, value: Any) -> Any:
        kind = GATE_FIELDS[name]
        if value is None:
            return None
        if kind == "bool" and isinstance(value, bool):
            return value
        if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
            return value
        if kind == "time":
            return self._sql.time_in(parse_time(value, name))
        if kind == "json" and isinstance(value, Mapping):
            return self._sql.json_in(clean_value(dict(value)))
        raise GateError(f"gate field {name}: a {kind} is needed, got {str(value)[:40]!r}")

    def gate(self, site: str, gate: str) -> GateRow | None:
        """One gate's row, or None if the office has heard nothing of it."""
        with self._lock:
            rows = self._sql.run(
                f"SELECT {_GATE_COLUMNS} FROM gates WHERE site = ? AND gate = ?", (site, gate)
            )
        return self._gate_row(rows[0]) if rows else None

    def gate_names(self) -> list[tuple[str, str]]:
        """(site, gate) of every gate the office has heard of, without counting anything."""
        with self._lock:
            rows = self._sql.run("SELECT site, gate FROM gates ORDER BY site, gate")
        return [(str(site), str(gate)) for site, gate in rows]

    def gates(self) -> list[GateRow]:
        """Every gate the office has heard of, by site then gate, with its alarms counted
        from the stored events: not acknowledged (at the gate's console), and last 24 h."""
        with self._lock:
            rows = self._sql.run(f"SELECT {_GATE_COLUMNS} FROM gates ORDER BY site, gate")
            unacked, recent = self._alarm_counts()
        return [
            replace(
                self._gate_row(row),
                open_alarms=unacked.get((row[0], row[1]), 0),
                alarms_24h=recent.get((row[0], row[1]), 0),
            )
            for row in rows
        ]

    def _alarm_counts(self) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]]:
        unacked = self._sql.run(
            "SELECT a.site, a.gate, COUNT(*) FROM events a WHERE a.severity = 'alarm' AND NOT "
            "EXISTS (SELECT 1 FROM events k WHERE k.site = a.site AND k.gate = a.gate AND "
            f"k.type = 'alarm_acknowledged' AND {self._sql.dialect.acknowledges}) "
            "GROUP BY a.site, a.gate"
        )
        since = self._sql.time_in(self._now() - timedelta(hours=24))
        recent = self._sql.run(
            "SELECT site, gate, COUNT(*) FROM events WHERE severity = 'alarm' AND time >= ? "
            "GROUP BY site, gate",
            (since,),
        )
        return ({(s, g): int(n) for s, g, n in unacked}, {(s, g): int(n) for s, g, n in recent})

    def _gate_row(self, row: Row) -> GateRow:
        (site, gate, online, since, seen, status, allow, config, backlog, alarms,
         last_seq, last_time, first, mark) = row  # fmt: skip
        return GateRow(
            site=site, gate=gate, online=None if online is None else bool(online),
            online_since=self._sql.time_out(since), last_seen=self._sql.time_out(seen),
            last_status=self._sql.json_out(status),
            allowlist_version=allow, config_revision=config, backlog=backlog,
            open_alarms=alarms, last_event_seq=last_seq,
            last_event_time=self._sql.time_out(last_time), first_seq=first, contiguous_seq=mark,
        )  # fmt: skip

    # -- allow-lists pushed ------------------------------------------------------------
    def pushed(self, site: str, gate: str) -> tuple[int | None, dict[str, AllowListEntry]]:
        """The allow-list version last pushed to the gate (None: never) and its entries."""
        with self._lock:
            version = self._sql.run(
                "SELECT version FROM pushed_version WHERE site = ? AND gate = ?", (site, gate)
            )
            rows = self._sql.run(
                "SELECT credential, entry FROM pushed WHERE site = ? AND gate = ?", (site, gate)
            )
        entries = {cred: AllowListEntry.model_validate_json(text) for cred, text in rows}
        return (int(version[0][0]) if version else None), entries

    def record_push(
        self, site: str, gate: str, version: int, entries: list[AllowListEntry]
    ) -> None:
        """Remember what the gate now holds, replacing the previous record, in one transaction."""
        with self._lock, self._sql.transaction():
            self._sql.run("DELETE FROM pushed WHERE site = ? AND gate = ?", (site, gate))
            self._sql.run_many(
                "INSERT INTO pushed (site, gate, credential, entry) VALUES (?, ?, ?, ?)",
                [(site, gate, e.credential, e.model_dump_json()) for e in entries],
            )
            self._sql.run(
                "INSERT INTO pushed_version (site, gate, version) VALUES (?, ?, ?) "
                "ON CONFLICT (site, gate) DO UPDATE SET version = excluded.version",
                (site, gate, version),
            )

    def close(self) -> None:
        """Close the connection (again is harmless)."""
        with self._lock:
            self._sql.close()
