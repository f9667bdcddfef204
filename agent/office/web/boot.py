"""Before Django starts: the state folder, its keys, compiled catalogues, then ``django.setup``."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet

from agent.errors import ConfigError
from agent.office.web.catalogues import compile_catalogues
from agent.office.web.databases import django_database

SETTINGS = "agent.office.web.settings"


def _write_new(path: Path, content: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(content)


def field_key_path(state: Path) -> Path:
    """The sealing key: ``$GATE_OFFICE_WEB_FIELD_KEY`` (a systemd credential), else in state."""
    return Path(os.environ.get("GATE_OFFICE_WEB_FIELD_KEY") or state / "field.key")


def make_keys(state: Path) -> list[Path]:
    """The session-signing secret and the field key, where missing (``web init``)."""
    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    made = []
    secret = state / "secret.key"
    if not secret.exists():
        _write_new(secret, secrets.token_urlsafe(50).encode())
        made.append(secret)
    field = field_key_path(state)
    if not field.exists():
        field.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write_new(field, Fernet.generate_key())
        made.append(field)
    return made


def configure(database: str, state: Path, events_db: str | None = None) -> None:
    """Point the settings at ``database`` and ``state`` and set Django up (once a process)."""
    import django

    django_database(database)  # a bad URL is told now, in one line
    for path in (state / "secret.key", field_key_path(state)):
        if not path.is_file():
            raise ConfigError(f"{path} is missing: run `gate-office web init` first")
    compile_catalogues(state / "locale")
    os.environ["GATE_OFFICE_WEB_STATE"] = str(state)
    os.environ["GATE_OFFICE_WEB_DATABASE"] = database
    os.environ["GATE_OFFICE_WEB_LOCALE"] = str(state / "locale")
    if events_db:
        os.environ["GATE_OFFICE_EVENTS_DB"] = events_db
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    django.setup()
