"""Which config file a command reads, and the gate's local stores opened from it.

Without ``-c`` a command reads ``$GATE_AGENT_CONFIG``, then the installed
``/etc/gate-agent/gate.toml``, and otherwise stops: it never falls back to the
simulator example, which would show (or drive) a demo gate instead of this one.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from agent.core.clock import SystemClock
from agent.errors import ConfigError
from agent.models.config import GateConfig, load_config
from agent.store.allowlist import AllowListStore
from agent.store.eventlog import EventLog
from agent.store.paths import StatePaths

EXAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "config" / "sim.toml"
SYSTEM_CONFIG = Path("/etc/gate-agent/gate.toml")
CONFIG_ENV = "GATE_AGENT_CONFIG"


def default_config_path() -> Path:
    """$GATE_AGENT_CONFIG, else /etc/gate-agent/gate.toml; ConfigError naming both if neither."""
    if env := os.environ.get(CONFIG_ENV):
        path = Path(env)
        if not path.exists():
            raise ConfigError(f"{path}: no such file (from ${CONFIG_ENV})")
        return path
    if SYSTEM_CONFIG.exists():
        return SYSTEM_CONFIG
    raise ConfigError(
        f"no config file: no -c given, ${CONFIG_ENV} is not set and {SYSTEM_CONFIG} does not exist"
    )


def config_path(given: Path | str | None) -> Path:
    return Path(given) if given else default_config_path()


def config_of(args: argparse.Namespace) -> GateConfig:
    return load_config(config_path(getattr(args, "config", None)))


def open_stores(config: GateConfig) -> tuple[AllowListStore, EventLog]:
    paths = StatePaths(config.storage.dir)
    store = AllowListStore.of(config)
    events = EventLog(
        paths.events_db,
        SystemClock(),
        config.gate.site,
        config.gate.gate_id,
        synchronous=config.storage.synchronous,
        upload=config.mqtt.enabled,
    )
    return store, events
