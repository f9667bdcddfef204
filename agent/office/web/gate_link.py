"""How the workplace reaches the gates: the broker and the office's signing key.

The messages are those of ``gate-office`` (agent.office); the workplace only finds its
settings: the signing key (``web serve --key``) and the broker (``web serve
--office-config``, the ``office.toml`` of ``gate-office serve``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from django.conf import settings

from agent.errors import ConfigError
from agent.models.office import OfficeConfig
from agent.office.fleet import load_office_config

ANSWER_TIMEOUT_S = 10.0  # a gate that is online answers in well under a second


def office_config() -> OfficeConfig | None:
    """The office.toml the workplace was started with, if any."""
    where = str(settings.GATE_OFFICE_CONFIG)
    return load_office_config(Path(where)) if where else None


def key_path() -> Path:
    """The office's Ed25519 signing key file: ``--key``, else the office.toml's."""
    if settings.GATE_OFFICE_PASS_KEY:
        return Path(str(settings.GATE_OFFICE_PASS_KEY))
    config = office_config()
    if config is None:
        raise ConfigError("no office signing key: start the workplace with --key")
    return config.signing_key_file


def gate_args(site: str, gate: str) -> argparse.Namespace:
    """What ``gate-office`` commands take from their flags, for one gate (or a site)."""
    config = office_config()
    if config is None:
        raise ConfigError("no broker: start the workplace with --office-config")
    b = config.broker
    return argparse.Namespace(
        host=b.host, port=b.port, protocol=b.protocol, username=b.username,
        password_file=b.password_file, ca=b.ca_file, cert=b.cert_file, cert_key=b.key_file,
        prefix=b.topic_prefix, key=str(key_path()), db=str(settings.GATE_OFFICE_EVENTS_DB),
        site=site, gate=gate or None, to=f"{site}/{gate}" if gate else f"site:{site}",
        timeout=ANSWER_TIMEOUT_S, json=False,
    )  # fmt: skip
