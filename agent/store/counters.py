"""NTAG 424 DNA read counters, kept per card in ``events.db`` (issue 20).

They live beside the event log on purpose: the decision path writes a card's new
counter on the log's own connection, inside the transaction of the read's event, so
the counter and the event are durable together with that one fsync; a kill -9 can
lose both, never let a counter go backwards behind a recorded grant.
"""

from __future__ import annotations

import sqlite3

from agent.errors import StorageFault

_GET = "SELECT counter, restored FROM card_counters WHERE credential = ?"
_PUT = "INSERT OR REPLACE INTO card_counters (credential, counter, restored) VALUES (?, ?, 0)"


class CardCounters:
    """The last read counter seen per credential; used inside the log's open group."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn  # the event log's append connection (its lock held by the group)

    def last(self, credential: str) -> tuple[int | None, bool]:
        """(last counter, whether it came back with a restore), or (None, False)."""
        try:
            row = self._conn.execute(_GET, (credential,)).fetchone()
        except sqlite3.Error as exc:
            raise StorageFault(f"cannot read card counters: {exc}") from None
        return (None, False) if row is None else (int(row[0]), bool(row[1]))

    def keep(self, credential: str, counter: int) -> None:
        """Stage ``counter`` as the card's last; durable with the group's commit."""
        try:
            self._conn.execute(_PUT, (credential, counter))
        except sqlite3.Error as exc:
            raise StorageFault(f"cannot write card counters: {exc}") from None
