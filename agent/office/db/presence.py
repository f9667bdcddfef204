"""Each site's presence at the office: the latest move per holder, numbered for the relay.

The office derives moves from the events it stores, in the same transaction: an
``access_granted`` with a ``passage`` moves its holder into ``passage[1]``, a
``passback_forgiven`` makes their whereabouts unknown (area NULL); the stamp is the
event's own (time in microseconds, gate, seq), the rule the gates' (``wins``). Every
row that changes takes the site's next relay revision, so "everything after revision
R" is one indexed range read that already holds only the latest per holder: a gate cut
off for hours catches up in a few messages. A holder forgotten (moved out, their data
erased) leaves a row in ``presence_forgotten`` with its own revision, so the gates
forget them too, and moves older than the forgetting are not taken again.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from agent.core.presence import Presence, to_us, wins
from agent.office.db.base import EventRow, Sql

_DDL = (
    "CREATE TABLE presence (site TEXT NOT NULL, holder TEXT NOT NULL, area TEXT, kind TEXT, "
    "at_us {bigint} NOT NULL, gate TEXT NOT NULL, seq {bigint} NOT NULL, rev {bigint} NOT NULL, "
    "PRIMARY KEY (site, holder))",
    "CREATE INDEX presence_rev ON presence (site, rev)",
    "CREATE TABLE presence_forgotten (site TEXT NOT NULL, holder TEXT NOT NULL, "
    "at_us {bigint} NOT NULL, rev {bigint} NOT NULL, PRIMARY KEY (site, holder))",
    "CREATE INDEX presence_forgotten_rev ON presence_forgotten (site, rev)",
    # a site's relay revision, and an epoch naming this table (a new database: a new count)
    "CREATE TABLE presence_sites (site TEXT PRIMARY KEY, epoch TEXT NOT NULL, "
    "rev {bigint} NOT NULL)",
)
_COLUMNS = "holder, area, kind, at_us, gate, seq"
_UPSERT = (
    f"INSERT INTO presence (site, {_COLUMNS}, rev) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (site, holder) DO UPDATE SET area = excluded.area, kind = excluded.kind, "
    "at_us = excluded.at_us, gate = excluded.gate, seq = excluded.seq, rev = excluded.rev"
)
MOVING = ("access_granted", "passback_forgiven")
CHUNK = 500  # holders per IN (...) list


def step_presence(sql: Sql) -> None:
    """Schema step 3: presence per site, what was forgotten, the relay revisions."""
    for statement in _DDL:
        sql.run(statement.format(**vars(sql.dialect)))


def move_of(row: EventRow) -> Presence | None:
    """The move an event makes, or None."""
    if row.type not in MOVING:
        return None
    if row.type == "access_granted" and '"passage"' not in row.details_json:
        return None  # most grants move nobody: no parse for them (ingest runs at 25k/s)
    try:
        details = json.loads(row.details_json)
    except ValueError:
        return None
    holder = details.get("holder_id") if isinstance(details, dict) else None
    if not isinstance(holder, str) or not holder:
        return None
    kind = details.get("kind")
    kind = kind if isinstance(kind, str) else None
    if details.get("plate") is True:  # a plate read moves the vehicle (gate.presence.granted)
        kind = "vehicle"
    if row.type == "passback_forgiven":
        return Presence(holder, None, kind, to_us(row.time), row.gate, row.seq)
    passage = details.get("passage")
    if not details.get("granted", True) or not isinstance(passage, list) or len(passage) != 2:
        return None
    area = passage[1]
    if not isinstance(area, str):
        return None
    return Presence(holder, area, kind, to_us(row.time), row.gate, row.seq)


@dataclass
class Changes:
    """What a gate lacks of a site: rows with ``from_rev`` < revision <= ``to_rev``."""

    epoch: str
    site: str
    from_rev: int
    to_rev: int
    head: int
    moves: list[Presence] = field(default_factory=list)
    forget: list[str] = field(default_factory=list)
    more: bool = False
    reset: bool = False


def _site(sql: Sql, site: str) -> tuple[str, int]:
    """The site's (epoch, revision), its row made on first use (inside a transaction)."""
    rows = sql.run("SELECT epoch, rev FROM presence_sites WHERE site = ?", (site,))
    if rows:
        return str(rows[0][0]), int(rows[0][1])
    epoch = secrets.token_hex(8)
    sql.run("INSERT INTO presence_sites (site, epoch, rev) VALUES (?, ?, 0)", (site, epoch))
    return epoch, 0


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def note_moves(sql: Sql, rows: Sequence[EventRow]) -> int:
    """Inside the transaction storing ``rows``: take each move that wins; how many did."""
    by_site: dict[str, dict[str, Presence]] = {}
    for row in rows:
        move = move_of(row)
        if move is not None:
            latest = by_site.setdefault(row.site, {})
            if wins(move, latest.get(move.holder_id)):
                latest[move.holder_id] = move
    taken = 0
    for site, moves in by_site.items():
        holders = sorted(moves)
        held: dict[str, tuple[int, str, int]] = {}
        gone: dict[str, int] = {}
        for part in _chunks(holders):
            marks = ", ".join("?" for _ in part)
            for h, at_us, gate, seq in sql.run(
                f"SELECT holder, at_us, gate, seq FROM presence WHERE site = ? AND holder IN "
                f"({marks})", (site, *part),
            ):  # fmt: skip
                held[h] = (int(at_us), str(gate), int(seq))
            for h, at_us in sql.run(
                f"SELECT holder, at_us FROM presence_forgotten WHERE site = ? AND holder IN "
                f"({marks})", (site, *part),
            ):  # fmt: skip
                gone[h] = int(at_us)
        winners = [
            m
            for m in moves.values()
            if (m.holder_id not in held or m.stamp > held[m.holder_id])
            and m.at_us > gone.get(m.holder_id, -1)
        ]
        if not winners:
            continue
        winners.sort(key=lambda m: m.stamp)
        _epoch, rev = _site(sql, site)
        values = [(site, m.holder_id, m.area, m.kind, m.at_us, m.gate, m.seq, rev + i + 1)
                  for i, m in enumerate(winners)]  # fmt: skip
        sql.run_many(_UPSERT, values)
        sql.run("UPDATE presence_sites SET rev = ? WHERE site = ?", (rev + len(winners), site))
        taken += len(winners)
    return taken


class OfficePresence:
    """The presence tables of an office store, on its connection and under its lock."""

    def __init__(self, sql: Sql, lock: threading.Lock) -> None:
        self._sql = sql
        self._lock = lock

    def heads(self) -> dict[str, tuple[str, int]]:
        """Every site's (epoch, newest relay revision)."""
        with self._lock:
            rows = self._sql.run("SELECT site, epoch, rev FROM presence_sites")
        return {str(s): (str(e), int(r)) for s, e, r in rows}

    def changes(self, site: str, after: int, limit: int = 2000) -> Changes:
        """The site's rows after revision ``after`` (oldest first, at most ``limit``).
        Asked from beyond the office's revision (its database restored from an older
        backup): everything, marked ``reset``."""
        with self._lock, self._sql.transaction():
            self._sql.lock_writers()
            epoch, head = _site(self._sql, site)
            reset = after > head
            start = 0 if reset else after
            moves = self._sql.run(
                f"SELECT {_COLUMNS}, rev FROM presence WHERE site = ? AND rev > ? "
                "ORDER BY rev LIMIT ?", (site, start, limit),
            )  # fmt: skip
            gone = self._sql.run(
                "SELECT holder, rev FROM presence_forgotten WHERE site = ? AND rev > ? "
                "ORDER BY rev LIMIT ?", (site, start, limit),
            )  # fmt: skip
        items: list[tuple[int, Presence | str]] = [
            (int(r[6]), Presence(r[0], r[1], r[2], int(r[3]), r[4], int(r[5]))) for r in moves
        ]
        items += [(int(rev), str(holder)) for holder, rev in gone]
        items.sort(key=lambda item: item[0])
        more = len(items) > limit or len(moves) == limit or len(gone) == limit
        items = items[:limit]
        to_rev = items[-1][0] if more and items else head
        out = Changes(epoch, site, start, to_rev, head, more=more and to_rev < head, reset=reset)
        for _rev, item in items:
            if isinstance(item, Presence):
                out.moves.append(item)
            else:
                out.forget.append(item)
        return out

    def forget(self, holders: Sequence[str], now_us: int) -> int:
        """Delete ``holders``' records on every site and relay that they are forgotten;
        how many records were deleted."""
        holders = sorted(set(holders))
        if not holders:
            return 0
        deleted = 0
        with self._lock, self._sql.transaction():
            self._sql.lock_writers()
            sites = [str(s) for (s,) in self._sql.run("SELECT site FROM presence_sites")]
            for site in sites:
                _epoch, rev = _site(self._sql, site)
                for part in _chunks(holders):
                    marks = ", ".join("?" for _ in part)
                    deleted += len(self._sql.run(
                        f"SELECT holder FROM presence WHERE site = ? AND holder IN ({marks})",
                        (site, *part),
                    ))  # fmt: skip
                    self._sql.run(
                        f"DELETE FROM presence WHERE site = ? AND holder IN ({marks})",
                        (site, *part),
                    )
                self._sql.run_many(
                    "INSERT INTO presence_forgotten (site, holder, at_us, rev) VALUES "
                    "(?, ?, ?, ?) ON CONFLICT (site, holder) DO UPDATE SET "
                    "at_us = excluded.at_us, rev = excluded.rev",
                    [(site, h, now_us, rev + i + 1) for i, h in enumerate(holders)],
                )
                self._sql.run(
                    "UPDATE presence_sites SET rev = ? WHERE site = ?", (rev + len(holders), site)
                )
        return deleted

    def all(self, site: str) -> list[Presence]:
        """Every record of ``site``, by holder (for comparisons with the gates)."""
        with self._lock:
            rows = self._sql.run(
                f"SELECT {_COLUMNS} FROM presence WHERE site = ? ORDER BY holder", (site,)
            )
        return [Presence(r[0], r[1], r[2], int(r[3]), r[4], int(r[5])) for r in rows]


def presence_of(store: object) -> OfficePresence | None:
    """The store's presence tables, or None for a store without them (a test's)."""
    presence = getattr(store, "presence", None)
    return presence if isinstance(presence, OfficePresence) else None
