"""The workplace's ``[workplace]`` settings, read from the office config it was started with."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from agent.models.workplace import WorkplaceConfig
from agent.office.fleet import load_office_config


def workplace_config() -> WorkplaceConfig:
    """``[workplace]`` of ``--office-config``; every default when the workplace has none.

    Read on each call (a small TOML file): an edited config takes effect without a restart,
    and a broken one is told (ConfigError) where it is used instead of being half-applied.
    """
    where = str(settings.GATE_OFFICE_CONFIG)
    return load_office_config(Path(where)).workplace if where else WorkplaceConfig()
