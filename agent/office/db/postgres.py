"""The office store on PostgreSQL (psycopg 3: ``pip install 'gate-agent[postgres]'``).

A batch is COPYed into a temporary table and moved with one ``INSERT ... SELECT ... ON
CONFLICT (id) DO NOTHING``: one round trip for the rows whatever their number. Writers take
a transaction-level advisory lock, so event serials are handed out in commit order and a
follower reading ``serial > cursor`` never skips a row that commits late.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import Jsonb

from agent.errors import StorageError
from agent.office.db.base import POSTGRES, EventRow, Row, Sql, as_utc
from agent.office.db.store import SqlOfficeDb, utc_now

_WRITER_LOCK = 0x6761_7465_6F66  # pg_advisory_xact_lock key: "gateof", this store's writers
_INCOMING = (
    "CREATE TEMP TABLE IF NOT EXISTS incoming (ord INTEGER, id TEXT, site TEXT, gate TEXT, "
    "seq BIGINT, time TIMESTAMPTZ, type TEXT, severity TEXT, door TEXT, details JSONB) "
    "ON COMMIT DELETE ROWS"
)
_MOVE = (
    "INSERT INTO events (id, site, gate, seq, time, type, severity, door, details, received) "
    "SELECT id, site, gate, seq, time, type, severity, door, details, %s FROM incoming "
    "ORDER BY ord ON CONFLICT (id) DO NOTHING"
)


def describe(dsn: str) -> str:
    """The DSN without its password: ``host:port/dbname`` for messages."""
    try:
        info = conninfo_to_dict(dsn)
    except psycopg.Error:
        return "PostgreSQL (unparsable DSN)"
    return f"postgresql://{info.get('host', '')}:{info.get('port', 5432)}/{info.get('dbname', '')}"


def _one_line(where: str, exc: BaseException) -> StorageError:
    text = str(exc).strip().splitlines()
    return StorageError(f"{where}: {text[0] if text else type(exc).__name__}")


class PostgresSql(Sql):
    """A ``Sql`` over one psycopg connection in autocommit mode, times in UTC."""

    dialect = POSTGRES

    def __init__(self, dsn: str, connect_timeout: float = 10) -> None:
        self.dsn = dsn
        self.where = describe(dsn)
        self._timeout = connect_timeout
        self._conn: psycopg.Connection[Row] | None = None
        self._closed = False
        self._connect()

    def _connect(self) -> psycopg.Connection[Row]:
        try:
            conn = psycopg.connect(
                self.dsn, autocommit=True, connect_timeout=max(1, int(self._timeout))
            )
            conn.execute("SET TIME ZONE 'UTC'")
            conn.execute(_INCOMING)
        except psycopg.Error as exc:
            raise _one_line(self.where, exc) from None
        self._conn = conn
        return conn

    def _live(self) -> psycopg.Connection[Row]:
        """The connection, opened again if the server dropped it (outside a transaction)."""
        if self._closed:
            raise StorageError(f"{self.where}: the office store was closed")
        conn = self._conn
        if conn is None or conn.broken or conn.closed:
            return self._connect()
        return conn

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except psycopg.Error as exc:
            raise _one_line(self.where, exc) from None

    def run(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self._errors(), self._live().cursor() as cur:
            cur.execute(sql.replace("?", "%s"), params)
            return cur.fetchall() if cur.description else []

    def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._errors(), self._live().cursor() as cur:
            cur.executemany(sql.replace("?", "%s"), rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._errors(), self._live().transaction():
            yield

    def lock_writers(self) -> None:
        self.run("SELECT pg_advisory_xact_lock(?)", (_WRITER_LOCK,))

    def insert_events(self, rows: Sequence[EventRow], received: datetime) -> int:
        with self._errors(), self._live().cursor() as cur:
            with cur.copy(
                "COPY incoming (ord, id, site, gate, seq, time, type, severity, door, details) "
                "FROM STDIN"
            ) as copy:
                for i, r in enumerate(rows):
                    copy.write_row(
                        (i, r.id, r.site, r.gate, r.seq, r.time, r.type, r.severity, r.door,
                         r.details_json)
                    )  # fmt: skip
            cur.execute(_MOVE, (received,))  # `incoming` empties itself at commit
            return int(cur.rowcount)

    def columns(self, table: str) -> list[str]:
        rows = self.run(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "AND table_schema = current_schema() ORDER BY ordinal_position",
            (table,),
        )
        return [str(row[0]) for row in rows]

    def time_in(self, value: datetime) -> datetime:
        return as_utc(value)

    def json_in(self, value: Any) -> Jsonb:
        return Jsonb(value)

    def close(self) -> None:
        self._closed = True
        if self._conn is not None:
            self._conn.close()


class PostgresOfficeDb(SqlOfficeDb):
    """The office store in a PostgreSQL database (tables in the DSN's current schema)."""

    def __init__(self, dsn: str, now: Callable[[], datetime] = utc_now) -> None:
        sql = PostgresSql(dsn)
        super().__init__(sql, sql.where, now)
