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
    # both floors in the same rounds (issue 23 item 4): Floor and the bare one
    assert card["floor"]["samples"] == card["bare_floor"]["samples"] == 30
    assert set(card["bare_floor"]) == {"p50_ms", "p99_ms", "max_ms", "samples"}
    assert {"p50_vs_floor", "p99_vs_floor", "p50_vs_bare_floor", "p99_vs_bare_floor"} <= set(
        card["verdict"]
    )
    assert pin["scenario"] == "pin" and pin["pin_to_relay"]["samples"] == 5
    assert set(pin["card_while_pin_checks"]) == {"p50_ms", "p99_ms", "max_ms", "samples"}
    assert set(pin["verdict"]) == {"card_p99_vs_card_path", "within_10pct"}


def test_several_readers_report_the_bare_floor_too() -> None:
    done = bench("--entries", "300", "--taps", "40", "--readers", "2", "--scenarios", "card")
    assert done.returncode == 0, done.stderr
    (together,) = json.loads(done.stdout)["runs"]
    assert together["readers"] == 2 and together["bare_floor"]["samples"] == 20
    assert together["verdict"]["p99_vs_bare_floor"] > 0


def test_floor_parts_times_each_step_from_floor_to_bare() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "floor_parts.py"), "--entries",
                           "300", "--taps", "20"], capture_output=True, text=True, timeout=120,
                          cwd=ROOT)  # fmt: skip
    assert done.returncode == 0, done.stderr
    run = json.loads(done.stdout)["run"]
    assert all(v["samples"] == 20 for v in run["variants"].values())
    assert {"Floor", "BareFloor", "floor", "+default_checkpoint"} <= set(run["variants"])
    assert set(run["steps"]) == {
        "+hmac.digest", "+blob_key", "+one_file", "+default_checkpoint", "floor_vs_bare"
    }  # fmt: skip


def test_an_unknown_scenario_is_named() -> None:
    done = bench("--entries", "300", "--scenarios", "card,antipassback")
    assert done.returncode == 2 and "unknown scenarios ['antipassback']" in done.stderr
