"""The office's event store: SQLite or PostgreSQL behind one interface (``OfficeDb``).

``open_store("postgresql://...")`` opens PostgreSQL (needs ``gate-agent[postgres]``);
anything else is a SQLite file path. Either is brought to the current schema on open.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from agent.errors import StorageError
from agent.office.db.base import GATE_FIELDS, GateRow, OfficeDb
from agent.office.db.events import parse_event
from agent.office.db.migrations import STEPS
from agent.office.db.store import SqlOfficeDb, utc_now

__all__ = [
    "GATE_FIELDS",
    "SCHEMA_VERSION",
    "GateRow",
    "OfficeDb",
    "SqlOfficeDb",
    "is_postgres",
    "open_store",
    "parse_event",
]

SCHEMA_VERSION = len(STEPS)


def is_postgres(target: str | Path) -> bool:
    """A ``postgresql://`` or ``postgres://`` DSN (anything else is a file path)."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def open_store(target: str | Path, now: Callable[[], datetime] = utc_now) -> OfficeDb:
    """The office store at ``target``: a PostgreSQL DSN, or a SQLite file (created with its
    folder). A one-line ``StorageError`` when it cannot be opened or is newer than this code."""
    if is_postgres(target):
        try:
            from agent.office.db.postgres import PostgresOfficeDb
        except ImportError:
            raise StorageError(
                "a PostgreSQL office database needs psycopg: pip install 'gate-agent[postgres]'"
            ) from None
        return PostgresOfficeDb(str(target), now)
    from agent.office.db.sqlite import SqliteOfficeDb

    return SqliteOfficeDb(Path(target), now)
