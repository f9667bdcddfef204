"""bench/decision.py runs its scenarios in one run and prints their numbers (issue 21)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def bench(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "bench" / "decision.py"), *argv],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)  # fmt: skip


def test_the_card_path_and_the_pin_scenario_in_one_run() -> None:
    done = bench("--entries", "300", "--taps", "30", "--scenario-taps", "5")
    assert done.returncode == 0, done.stderr
    card, pin = json.loads(done.stdout)["runs"]
    assert card["readers"] == 1 and card["read_to_relay"]["samples"] == 24
    assert pin["scenario"] == "pin" and pin["pin_to_relay"]["samples"] == 5
    assert set(pin["card_while_pin_checks"]) == {"p50_ms", "p99_ms", "max_ms", "samples"}
    assert set(pin["verdict"]) == {"card_p99_vs_card_path", "within_10pct"}


def test_an_unknown_scenario_is_named() -> None:
    done = bench("--entries", "300", "--scenarios", "card,antipassback")
    assert done.returncode == 2 and "unknown scenarios ['antipassback']" in done.stderr
