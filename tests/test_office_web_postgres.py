"""The workplace on PostgreSQL (production) and SQLite (the demo): migrations, roles, and an
audit chain that stays whole while several processes append to it at once."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.office_web_rig import ROOT, gate_office, own_environment

PG_SERVER = os.environ.get("GATE_OFFICE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
WRITERS, EACH = 3, 25


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A new database on the machine's PostgreSQL, dropped after the test."""
    name = f"office_web_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_SERVER, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:  # fail, never skip: production runs on it
        pytest.fail(f"PostgreSQL is not reachable at {PG_SERVER}: {exc}", pytrace=False)
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_SERVER.rsplit("/", 1)[0] + f"/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _writers(database: str, state: Path, writers: int = WRITERS) -> list[subprocess.Popen[bytes]]:
    script = (
        "import sys; from pathlib import Path; from agent.office.web import boot; "
        "boot.configure(sys.argv[1], Path(sys.argv[2])); "
        "from agent.office.web.audit import chain; "
        f"[chain.append(sys.argv[3], 'view', f'resident:{{n}}') for n in range({EACH})]"
    )
    return [
        subprocess.Popen(
            [sys.executable, "-c", script, database, str(state), f"clerk{w}"],
            cwd=ROOT,
            env=own_environment(),
        )
        for w in range(writers)
    ]


@pytest.mark.parametrize("kind", ["postgresql", "sqlite"])
def test_concurrent_appends_keep_one_whole_chain(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    state = tmp_path / "web"
    database = (
        request.getfixturevalue("pg_url") if kind == "postgresql" else str(tmp_path / "o.sqlite3")
    )
    made = gate_office("web", "init", "--state", str(state), "--database", database)
    assert made.returncode == 0, made.stderr
    writers = _writers(database, state)
    assert [w.wait(timeout=120) for w in writers] == [0] * WRITERS
    verdict = gate_office("audit", "verify", "--state", str(state), "--database", database)
    assert verdict.returncode == 0, verdict.stderr
    assert f"intact: {WRITERS * EACH} entries" in verdict.stdout


def test_postgresql_holds_the_roles_and_catches_tampering(pg_url: str, tmp_path: Path) -> None:
    state = tmp_path / "web"
    assert gate_office("web", "init", "--state", str(state), "--database", pg_url).returncode == 0
    (writer,) = _writers(pg_url, state, writers=1)
    assert writer.wait(timeout=120) == 0
    with psycopg.connect(pg_url, autocommit=True) as db:
        roles = {r[0] for r in db.execute("SELECT name FROM auth_group")}
        assert roles == {"manager", "clerk", "guard supervisor", "auditor", "case officer"}
        db.execute("UPDATE audit_auditentry SET actor = 'someone else' WHERE position = 7")
    verdict = gate_office("audit", "verify", "--state", str(state), "--database", pg_url)
    assert verdict.returncode == 1
    assert verdict.stderr.startswith("audit entry 7: its content was altered")
