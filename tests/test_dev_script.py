"""The `dev` script's setup steps, each run alone (the script, sourced, only defines them).

A step either makes what the tests need work or says in one line what is missing. The
steps run for real against this machine's PostgreSQL; "missing" is shown with a PATH that
holds only the ordinary tools, never by removing anything from the machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import psycopg

from tests.conftest import ROOT

# what the steps call besides the PostgreSQL tools and apt-get
ORDINARY_TOOLS = ("id", "head", "cat", "ls", "sort", "tail", "awk", "base64", "tr", "grep")
UNREACHABLE_PG = "postgresql://postgres@127.0.0.1:1/test"


def run_step(step: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/bash", "-c", f"set -euo pipefail; source ./dev; {step}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def bare_path(tmp_path: Path) -> str:
    """A PATH with the ordinary tools only: no psql, pg_lsclusters, apt-get."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ORDINARY_TOOLS:
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


def test_without_postgresql_the_step_says_so_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": bare_path(tmp_path), "GATE_OFFICE_TEST_PG": UNREACHABLE_PG}
    done = run_step("ensure_postgres", env)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert "needs PostgreSQL" in done.stderr and UNREACHABLE_PG in done.stderr
    assert "sudo apt-get install postgresql" in done.stderr


def test_a_port_no_cluster_listens_on_is_named(tmp_path: Path) -> None:
    done = run_step("ensure_postgres", {**os.environ, "GATE_OFFICE_TEST_PG": UNREACHABLE_PG})
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert "no cluster listens on port 1" in done.stderr


def test_the_step_hands_the_tests_a_dsn_that_logs_in() -> None:
    done = run_step('ensure_postgres; echo "$GATE_OFFICE_TEST_PG"', dict(os.environ))
    assert done.returncode == 0, done.stderr
    dsn = done.stdout.strip()
    with psycopg.connect(dsn, connect_timeout=5) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_without_a_cjk_font_the_step_installs_it_or_names_it(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": bare_path(tmp_path)}
    done = run_step(f"CJK_FONT={tmp_path}/gone.ttc; ensure_chromium", env)
    assert done.returncode == 1
    assert (
        done.stderr
        == "missing: fonts-noto-cjk. Install it with: sudo apt-get install fonts-noto-cjk\n"
    )


def test_the_readme_says_what_dev_test_sets_up() -> None:
    first = (ROOT / "README.md").read_text().split("```")[2]  # the paragraph under the commands
    for needed in ("PostgreSQL", "fonts-noto-cjk"):
        assert needed in first, needed
