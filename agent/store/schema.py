"""Schema versions: each database records its version (``PRAGMA user_version``) and is
brought forward one step at a time, each step in its own transaction.

Version 0 is a file made before versions were recorded (or a new, empty one); every
step is written so that it also fits a new file. A file newer than this program knows
is refused rather than guessed at: a downgrade restores the backup taken before the
upgrade (``gate-agent backup``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from agent.errors import StorageError
from agent.store.db import transaction

Step = Sequence[str]  # SQL statements that take a file from one version to the next


def version_of(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def upgrade(conn: sqlite3.Connection, name: str, steps: Sequence[Step]) -> int:
    """Run the steps ``conn``'s file has not had; returns the version it is now at."""
    have, latest = version_of(conn), len(steps)
    if have > latest:
        raise StorageError(
            f"{name} database has schema version {have}, newer than this gate-agent "
            f"knows ({latest}); restore the backup taken before the upgrade"
        )
    for version in range(have, latest):
        with transaction(conn):
            for statement in steps[version]:
                conn.execute(statement)
            # PRAGMA takes no parameters; the value is an int we computed
            conn.execute(f"PRAGMA user_version = {version + 1}")
    return latest
