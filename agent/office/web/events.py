"""The gates' event store (agent.office.db), reached unchanged from the workplace."""

from __future__ import annotations

from django.conf import settings

from agent.errors import ConfigError
from agent.office.store import OfficeStore


def event_store() -> OfficeStore:
    """The store ``gate-office serve`` writes (``--events-db``); the caller closes it."""
    where = str(settings.GATE_OFFICE_EVENTS_DB)
    if not where:
        raise ConfigError("no event store: start the workplace with --events-db")
    return OfficeStore(where)
