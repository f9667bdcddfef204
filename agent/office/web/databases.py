"""``--database`` as Django sees it: a SQLite file (the demo) or a postgresql:// URL."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from agent.errors import ConfigError


def django_database(where: str) -> dict[str, Any]:
    """The ``DATABASES["default"]`` entry for a file path or a PostgreSQL URL."""
    if where.startswith(("postgresql://", "postgres://")):
        url = urlsplit(where)
        name = unquote(url.path.lstrip("/"))
        if not name:
            raise ConfigError(f"{where}: a PostgreSQL URL needs a database name")
        options = {key: values[-1] for key, values in parse_qs(url.query).items()}
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": unquote(url.username or ""),
            "PASSWORD": unquote(url.password or ""),
            "HOST": url.hostname or "",
            "PORT": str(url.port or ""),
            "OPTIONS": options,
            "CONN_MAX_AGE": 60,
        }
    if "://" in where:
        raise ConfigError(f"{where}: the office database is a file or a postgresql:// URL")
    # IMMEDIATE: a transaction takes the write lock when it begins, so two writers wait
    # for each other (busy timeout) instead of one failing when it upgrades a read lock
    sqlite_options: dict[str, Any] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": where, "OPTIONS": sqlite_options}
