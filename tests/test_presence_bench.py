"""bench/presence.py at a tiny size: three gates and the office, a partition healed; its
JSON says every gate agrees with the office afterwards and moves reached the others."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = [sys.executable, str(ROOT / "bench" / "presence.py")]


def test_a_tiny_run_converges_and_measures_propagation() -> None:
    args = ["--minutes", "0.15", "--holders", "200", "--rate", "20", "--partition", "2,6",
            "--partitioned-after", "1", "--heartbeat", "0.3", "--settle", "30"]  # fmt: skip
    done = subprocess.run([*BENCH, *args], capture_output=True, text=True, timeout=90, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert {"cpu", "cores", "python"} <= set(result["machine"])
    assert result["divergence_after_healing"]["holders_differing"] == 0
    assert result["divergence_after_healing"]["holders_with_records"] > 0
    assert result["taps"]["taps"] > 0 and result["taps"]["per_s"] > 0
    propagation = result["propagation_ms"]
    assert propagation["samples"] > 0 and 0 < propagation["p50_ms"] <= propagation["p99_ms"]
    north = result["north"]
    assert len(north["partitioned"]) == 1 and len(north["rejoined"]) == 1


def test_a_bad_partition_gets_one_line() -> None:
    done = subprocess.run(
        [*BENCH, "--minutes", "0.1", "--partition", "5,x"],
        capture_output=True, text=True, timeout=30, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    assert "--partition" in done.stderr and "Traceback" not in done.stderr
