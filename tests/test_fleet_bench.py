"""bench/fleet.py at a tiny size: three gates with a backlog, the real office service on
SQLite, a real mosquitto; its JSON says nothing was lost or stored twice."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = [sys.executable, str(ROOT / "bench" / "fleet.py")]


def test_a_tiny_fleet_drains_its_backlog_and_taps_without_loss_or_duplicates() -> None:
    args = ["--gates", "3", "--backlog", "50", "--store", "sqlite", "--tap-seconds", "3"]
    done = subprocess.run(
        [*BENCH, *args, "--tap-gap", "1", "--seed", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert {"cpu", "cores", "python"} <= set(result["machine"])
    assert result["config"]["gate_model"].startswith("full App per gate")
    size = result["sizes"]["3"]
    for name in ("ingest_events_per_s", "drain_s", "lost", "duplicated", "tap_to_office_ms",
                 "broker_rss_mb", "office_rss_mb"):  # fmt: skip
        assert set(size[name]) == {"sqlite"}, name
    assert size["lost"]["sqlite"] == 0 and size["duplicated"]["sqlite"] == 0
    assert size["drain_events"]["sqlite"] == 3 * 51  # the backlog plus each agent_started
    assert size["ingest_events_per_s"]["sqlite"] > 0 and size["drain_s"]["sqlite"] > 0
    assert size["broker_rss_mb"]["sqlite"]["peak"] > 0
    assert size["office_rss_mb"]["sqlite"]["peak"] > 0

    run = size["runs"]["sqlite"]
    audit = run["audit"]
    assert audit["stored"] == audit["expected"] == audit["distinct_ids"]
    assert audit["gates_with_gaps"] == audit["gates_missing"] == []
    assert run["drain"]["gates_not_receipted"] == run["steady"]["gates_not_receipted"] == 0
    assert run["drain"]["office_stored_new"] == 3 * 51
    steady = run["steady"]
    assert steady["taps"] > 0
    assert steady["tap_to_office_ms"]["samples"] == steady["taps"]  # every tap reached it
    latency = steady["tap_to_office_ms"]
    assert 0 < latency["p50"] <= latency["p99"] <= latency["max"]


def test_bad_sizes_get_one_line() -> None:
    done = subprocess.run(
        [*BENCH, "--gates", "10,x"], capture_output=True, text=True, timeout=30, cwd=ROOT
    )
    assert done.returncode == 2 and done.stdout == ""
    assert "whole numbers" in done.stderr and "Traceback" not in done.stderr
