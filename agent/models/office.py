"""``office.toml``: the configuration of ``gate-office serve``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from agent.models.base import Strict
from agent.models.workplace import WorkplaceConfig


class OfficeBroker(Strict):
    """The broker the office service keeps its one persistent session with."""

    host: str = "localhost"
    port: int = Field(1883, ge=1, le=65535)
    protocol: Literal["3.1.1", "5"] = "3.1.1"
    client_id: str = Field("gate-office-serve", min_length=1, max_length=128)
    username: str | None = None
    password_file: Path | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    topic_prefix: str = "gate"


class OfficeAlerts(Strict):
    """When to alert, and the command that hears about it (one JSON object on stdin)."""

    hook: list[str] = []
    offline_after_s: float = Field(300, gt=0)
    behind_after_s: float = Field(600, gt=0)


class OfficeConfig(Strict):
    """The whole ``office.toml``."""

    # a SQLite file, or a PostgreSQL DSN (postgresql://user@host/db)
    store: str = "/var/lib/gate-office/office.db"
    signing_key_file: Path  # the office's Ed25519 private key (gate-office keygen)
    broker: OfficeBroker = OfficeBroker()
    alerts: OfficeAlerts = OfficeAlerts()
    workplace: WorkplaceConfig = WorkplaceConfig()  # gate-office web's own settings
