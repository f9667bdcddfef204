"""The gate's pass book: uses counted, passes revoked, passes delivered ahead (``passes.db``).

Every row carries the end of its pass (``until``) and goes once the pass has expired:
a use count or a revocation outlives its pass by ``KEEP_AFTER``, never less, so a
clock corrected backwards cannot bring a used-up or revoked pass back.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from agent.store.db import connect, transaction

KEEP_AFTER = timedelta(days=2)
# a visitor's car: credential (HMAC), masked, seq, unit, until, registered_at
Car = tuple[str, str, int, str | None, datetime, datetime]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS uses (
    pass_id TEXT PRIMARY KEY, used INTEGER NOT NULL, until INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS revoked (
    pass_id TEXT PRIMARY KEY, until INTEGER NOT NULL, at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pending_uses (
    pass_id TEXT NOT NULL, used INTEGER NOT NULL, details TEXT NOT NULL,
    PRIMARY KEY (pass_id, used)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS delivered (
    short_code TEXT PRIMARY KEY, pass_id TEXT NOT NULL, code TEXT NOT NULL,
    until INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pass_plates (
    credential TEXT PRIMARY KEY, pass_id TEXT NOT NULL, masked TEXT NOT NULL,
    until INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS visitor_cars (
    credential TEXT PRIMARY KEY, masked TEXT NOT NULL, seq INTEGER NOT NULL, unit TEXT,
    until REAL NOT NULL, registered_at REAL NOT NULL, arrived INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
"""


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


class PassStore:
    """Uses, revocations and delivered passes, in their own SQLite file.

    ``synchronous=FULL`` always: a use is on disk before the door opens, whatever the
    event log's setting, or a power cut could hand a single-use pass a second opening.
    """

    def __init__(self, path: Path) -> None:
        self._conn = connect(path, "full")
        self._conn.executescript(_SCHEMA)
        self._lock = threading.Lock()

    # -- uses -------------------------------------------------------------------------
    def used(self, pass_id: str) -> int:
        with self._lock:
            row = self._conn.execute("SELECT used FROM uses WHERE pass_id = ?", (pass_id,))
            found = row.fetchone()
        return int(found[0]) if found else 0

    def consume(
        self, pass_id: str, allowed: int, until: datetime, intent: dict[str, Any] | None = None
    ) -> int | None:
        """Count one use, durably; the uses left after it, or None if none were left.

        With ``intent`` (the details of its ``pass_used`` event) the use is also kept as
        pending, in the same transaction, until ``recorded``: a crash between this commit
        and the event's leaves the event to be written at the next start (``pending``)."""
        with self._lock, transaction(self._conn) as conn:
            row = conn.execute("SELECT used FROM uses WHERE pass_id = ?", (pass_id,)).fetchone()
            used = int(row[0]) if row else 0
            if used >= allowed:
                return None
            conn.execute(
                "INSERT INTO uses VALUES (?, ?, ?) ON CONFLICT(pass_id) DO UPDATE "
                "SET used = excluded.used",
                (pass_id, used + 1, _epoch(until)),
            )
            if intent is not None:
                details = json.dumps({**intent, "uses_left": allowed - used - 1})
                conn.execute("INSERT OR REPLACE INTO pending_uses VALUES (?, ?, ?)",
                             (pass_id, used + 1, details))  # fmt: skip
        return allowed - used - 1

    def recorded(self, pass_id: str, used: int) -> None:
        """The event of use number ``used`` is in the event log: the use is no longer pending."""
        with self._lock:
            self._conn.execute(
                "DELETE FROM pending_uses WHERE pass_id = ? AND used = ?", (pass_id, used)
            )

    def pending(self) -> list[tuple[str, int, dict[str, Any]]]:
        """Uses counted whose event may not have been written: (pass id, use number, details)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT pass_id, used, details FROM pending_uses ORDER BY pass_id, used"
            ).fetchall()
        return [(str(r[0]), int(r[1]), json.loads(r[2])) for r in rows]

    # -- revocations ------------------------------------------------------------------
    def revoke(self, pass_id: str, until: datetime, at: datetime) -> None:
        """Refuse the pass from now on; remembered until ``until`` (kept if longer already)."""
        with self._lock:
            self._conn.execute(
                "INSERT INTO revoked VALUES (?, ?, ?) ON CONFLICT(pass_id) DO UPDATE "
                "SET until = max(until, excluded.until)",
                (pass_id, _epoch(until), at.isoformat()),
            )

    def is_revoked(self, pass_id: str) -> bool:
        with self._lock:
            row = self._conn.execute("SELECT 1 FROM revoked WHERE pass_id = ?", (pass_id,))
            return row.fetchone() is not None

    # -- passes delivered ahead (their short codes work) -----------------------------------
    def deliver(self, short_code: str, pass_id: str, code: str, until: datetime) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO delivered VALUES (?, ?, ?, ?)",
                (short_code, pass_id, code, _epoch(until)),
            )

    def deliver_plate(self, credential: str, pass_id: str, masked: str, until: datetime) -> None:
        """A delivered pass's car (its plate's HMAC and mask): the plate opens with the pass."""
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO pass_plates VALUES (?, ?, ?, ?)",
                               (credential, pass_id, masked, _epoch(until)))  # fmt: skip

    def by_plate(self, credential: str) -> tuple[str, str] | None:
        """(full pass code, masked plate) of the delivered pass whose car this is, if any."""
        with self._lock:
            row = self._conn.execute(
                "SELECT d.code, p.masked FROM pass_plates p JOIN delivered d"
                " ON d.pass_id = p.pass_id WHERE p.credential = ? LIMIT 1",
                (credential,),
            ).fetchone()
        return (str(row[0]), str(row[1])) if row else None

    def by_short_code(self, short_code: str) -> str | None:
        """The full pass code delivered under ``short_code``, if any."""
        with self._lock:
            row = self._conn.execute(
                "SELECT code FROM delivered WHERE short_code = ?", (short_code,)
            ).fetchone()
        return str(row[0]) if row else None

    def known_until(self, pass_id: str) -> datetime | None:
        """The end of a pass this gate has seen (delivered or used), if it has."""
        with self._lock:
            row = self._conn.execute(
                "SELECT max(until) FROM (SELECT until FROM delivered WHERE pass_id = ?"
                " UNION ALL SELECT until FROM uses WHERE pass_id = ?)",
                (pass_id, pass_id),
            ).fetchone()
        if row is None or row[0] is None:
            return None
        return datetime.fromtimestamp(int(row[0]), UTC)

    # -- visitors' cars a guard registered (plate as HMAC and mask only) ------------------
    def keep_car(self, car: Car, keep: int) -> None:
        """Remember one car (credential, masked, seq, unit, until, registered_at) as not yet
        arrived; only the ``keep`` latest registrations stay."""
        credential, masked, seq, unit, until, registered_at = car
        with self._lock, transaction(self._conn) as conn:
            conn.execute("INSERT OR REPLACE INTO visitor_cars VALUES (?, ?, ?, ?, ?, ?, 0)",
                         (credential, masked, seq, unit, until.timestamp(),
                          registered_at.timestamp()))  # fmt: skip
            conn.execute("DELETE FROM visitor_cars WHERE credential NOT IN (SELECT credential"
                         " FROM visitor_cars ORDER BY seq DESC LIMIT ?)", (keep,))  # fmt: skip

    def car_arrived(self, credential: str) -> None:
        with self._lock:
            self._conn.execute(
                "UPDATE visitor_cars SET arrived = 1 WHERE credential = ?", (credential,)
            )

    def cars(self, now: datetime) -> list[tuple[Car, bool]]:
        """Cars whose registration still holds at ``now``, oldest first, and whether each
        arrived; the others go."""
        with self._lock:
            self._conn.execute("DELETE FROM visitor_cars WHERE until <= ?", (now.timestamp(),))
            rows = self._conn.execute(
                "SELECT credential, masked, seq, unit, until, registered_at, arrived"
                " FROM visitor_cars ORDER BY seq"
            ).fetchall()
        return [((str(r[0]), str(r[1]), int(r[2]), None if r[3] is None else str(r[3]),
                  datetime.fromtimestamp(r[4], UTC), datetime.fromtimestamp(r[5], UTC)),
                 bool(r[6])) for r in rows]  # fmt: skip

    # -- upkeep ------------------------------------------------------------------------
    def prune(self, now: datetime) -> int:
        """Forget what belongs to passes that ended before ``now - KEEP_AFTER``."""
        cutoff = _epoch(now - KEEP_AFTER)
        removed = 0
        with self._lock, transaction(self._conn) as conn:
            for table in ("uses", "revoked", "delivered", "pass_plates"):
                removed += conn.execute(f"DELETE FROM {table} WHERE until < ?", (cutoff,)).rowcount
            # a visitor's car goes when its registration ends (the gate has let it go then)
            ended = now.timestamp()
            conn.execute("DELETE FROM visitor_cars WHERE until <= ?", (ended,))
        return removed

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {
                table: int(self._conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
                for table in ("uses", "revoked", "delivered")
            }

    def close(self) -> None:
        with self._lock:
            self._conn.close()
