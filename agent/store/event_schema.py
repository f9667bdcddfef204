"""The event table's layout, its versions, and an event as written and as sent."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent.core.kinds import ALARMS, EventType
from agent.models.wire import Event

_TABLE = (
    "(seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, time TEXT NOT NULL, "
    "type TEXT NOT NULL, door TEXT, details TEXT NOT NULL, sent INTEGER NOT NULL DEFAULT 0)"
)
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
    (  # 3: a lighter append: no UNIQUE index on the random id (nothing here looks an
        # event up by id; the office de-duplicates on it) and no index on time (only
        # retention filters on it, off the decision path). A table rebuild: SQLite
        # cannot drop a column constraint. The AUTOINCREMENT high-water mark moves over.
        f"CREATE TABLE events_v3 {_TABLE}",
        "INSERT INTO events_v3 (seq, id, time, type, door, details, sent) "
        "SELECT seq, id, time, type, door, details, sent FROM events",
        "DELETE FROM sqlite_sequence WHERE name = 'events_v3'",
        "INSERT INTO sqlite_sequence (name, seq) "
        "SELECT 'events_v3', seq FROM sqlite_sequence WHERE name = 'events'",
        "DROP TABLE events",
        "ALTER TABLE events_v3 RENAME TO events",
        "CREATE INDEX events_unreceived ON events (seq) WHERE sent < 2",
    ),
    (  # 4: NTAG 424 DNA read counters, per card's credential (its HMAC, never the UID),
        # written in the commit of the read's event; ``restored`` after a restore: the
        # next counter is taken as it comes (and said so)
        "CREATE TABLE IF NOT EXISTS card_counters (credential TEXT PRIMARY KEY, "
        "counter INTEGER NOT NULL, restored INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID",
    ),
    (  # 5: presence (issue 21): each holder's last move, by holder id only, written in the
        # commit of the move's event; ``at_us`` the event's time; ``area`` NULL: forgiven
        "CREATE TABLE IF NOT EXISTS presence (holder TEXT PRIMARY KEY, area TEXT, "
        "kind TEXT, at_us INTEGER NOT NULL, gate TEXT NOT NULL, seq INTEGER NOT NULL) "
        "WITHOUT ROWID",
        "CREATE INDEX IF NOT EXISTS presence_area ON presence (area, at_us)",
    ),
    (  # 6: occupancy corrections (issue 21): a guard's change of an area's count of one
        # kind, written in the commit of its ``occupancy_corrected`` event (``seq``)
        "CREATE TABLE IF NOT EXISTS occupancy_corrections (id INTEGER PRIMARY KEY, "
        "area TEXT NOT NULL, kind TEXT NOT NULL, delta INTEGER NOT NULL, "
        "at_us INTEGER NOT NULL, seq INTEGER NOT NULL)",
        "CREATE INDEX IF NOT EXISTS occupancy_corrections_area "
        "ON occupancy_corrections (area, at_us)",
    ),
)


@dataclass(frozen=True, slots=True)
class Stored:
    """An event as written: what the decision path needs before the wire model exists."""

    seq: int
    id: str
    time: datetime
    type: EventType
    door: str | None
    details: dict[str, Any]


def from_row(row: Sequence[Any]) -> Stored:
    """A stored event from (seq, id, time, type, door, details) as SELECTed."""
    when, details = datetime.fromisoformat(row[2]), json.loads(row[5])
    return Stored(row[0], row[1], when, EventType(row[3]), row[4], details)


def wire_event(site: str, gate: str, stored: Stored) -> Event:
    """The wire model of a stored event (built after the commit, for the uplink)."""
    return Event.model_construct(
        id=stored.id,
        seq=stored.seq,
        time=stored.time,
        site=site,
        gate=gate,
        type=stored.type,
        severity="alarm" if stored.type in ALARMS else "info",
        door=stored.door,
        details=stored.details,
    )
