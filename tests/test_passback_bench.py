"""The anti-passback benchmark runs beside today's path and prints its numbers (small)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_passback_scenario_prints_both_paths_and_their_ratio() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "decision.py"), "--entries", "300",
         "--taps", "40", "--passback"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (run,) = json.loads(done.stdout)["passback"]
    assert set(run["today_read_to_relay"]) == {"p50_ms", "p99_ms", "max_ms", "samples"}
    assert run["passback_read_to_relay"]["samples"] == run["today_read_to_relay"]["samples"]
    assert run["p99_ratio"] > 0 and run["wrong_way_taps"] == 12
    assert 0 < run["refused"] <= run["wrong_way_taps"]  # a stranger tapping out is let out
