"""The secure-read benchmark runs and its air-time arithmetic is the documented one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.secure_read import BIT_S, CARDS, FDT_PCD_TO_PICC_S, FDT_PICC_TO_PCD_S, WARMUP, air_time

ROOT = Path(__file__).resolve().parent.parent
SMALL = ["--entries", "300", "--taps", "30"]  # the end-to-end section, small


def test_air_time_of_one_short_exchange() -> None:
    # 5-byte command, 2-byte answer: each +3 (PCB, CRC_A), 9 bits a byte, +2 (SOF, EOF)
    expected = ((8 * 9 + 2) + (5 * 9 + 2)) * BIT_S + FDT_PCD_TO_PICC_S + FDT_PICC_TO_PCD_S
    assert air_time([(bytes(5), bytes(2))])["air_ms"] == pytest.approx(expected * 1000, abs=1e-3)


def test_long_answers_chain_in_blocks() -> None:
    one = air_time([(bytes(5), bytes(61))])["air_ms"]
    two = air_time([(bytes(5), bytes(62))])["air_ms"]  # 62 + 3 > FSC 64: a second block
    assert two - one > (3 + 3) * 9 * BIT_S * 1000  # its PCB and CRC, and an R-block


def test_bench_prints_its_numbers() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "secure_read.py"), "--reads", "20", *SMALL],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result["compute"]) == {
        "uid_hash", "desfire_ev2", "ntag424_sun_and_originality", "ntag424_sun_only"
    }  # fmt: skip
    assert all(row["samples"] == 20 for row in result["compute"].values())
    air = result["air_time_106kbps"]
    assert air["desfire_ev2_gate_flow"]["commands"] == ["5A", "71", "AF", "51", "71", "AF", "AD"]
    assert air["authenticate_ev2_first_plus_read_data"]["exchanges"] == 3
    assert "9.44 us" in air["arithmetic"]
    share = result["gate_share"]  # the real App: secure door, plain door, 300 holders
    assert (share["entries"], share["synchronous"]) == (300, "full")
    assert all(share[kind]["samples"] == 30 for kind in ("desfire_ev2", "ntag424", "plain"))
    assert "includes the software card's side" in share["measured"]
    assert share["commits_per_read"] >= 1  # every read's event was committed, none batched
    reads_of_first_tag = -(-(30 + WARMUP) // CARDS)  # the tags are read in turn
    assert share["ntag424_counters_kept"] == [reads_of_first_tag] * 2
    assert isinstance(share["target_holds"], bool) and share["target_p99_ms"] == 5.0
    assert result["machine"]["cores"]
