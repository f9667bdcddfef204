"""What every benchmark prints besides its numbers: the machine and percentiles."""

from __future__ import annotations

import os
import platform
import resource
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.gate.app import App
from agent.gate.assemble import build_app
from agent.models.config import validate_config
from agent.store.credentials import write_new_key


def bench_gate(folder: Path, storage: dict[str, Any], mqtt: dict[str, Any]) -> App:
    """One door, one sim reader, a site key (new unless the folder has one), alarms
    that never trip."""
    if not (folder / "site.key").exists():
        write_new_key(folder / "site.key")
    return build_app(validate_config(gate_document(storage, mqtt), folder))


def gate_document(storage: dict[str, Any], mqtt: dict[str, Any]) -> dict[str, Any]:
    """The bench gate's configuration, as a TOML file would hold it."""
    return {
        "gate": {
            "site": "bench",
            "gate_id": "g1",
            "timezone": "Africa/Cairo",
            "simulated": True,
        },
        "storage": {"dir": "state", **storage},
        "security": {"credential_key_file": "site.key"},
        "clock": {"sync_marker": ""},
        "doors": [{"id": "main", "readers": [{"id": "r1"}], "relay": {"driver": "sim"}}],
        "alarms": {
            "reader_denials": {"count": 10**9, "window_s": 1, "lockout_s": 0},
            "card_denials": {"count": 10**9, "window_s": 1, "lockout_s": 0},
        },
        "mqtt": {"enabled": True, **mqtt},
    }


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def percentiles_ms(samples_s: list[float]) -> dict[str, float]:
    ordered = sorted(samples_s)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(cuts[98] * 1000, 3),
        "max_ms": round(ordered[-1] * 1000, 3),
        "samples": len(ordered),
    }


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def current_rss_mb() -> float:
    return _status_mb("VmRSS:")


def high_water_rss_mb() -> float:
    """The process's peak RSS since it started or since ``reset_high_water``."""
    return _status_mb("VmHWM:")


def reset_high_water() -> None:
    """Start a new peak-RSS measurement from now (Linux: clear_refs 5)."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0
