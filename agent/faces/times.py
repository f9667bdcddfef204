"""Times as the CLI prints them: ISO 8601 in the gate's own zone, with its UTC offset.

The gate stores and uploads instants in UTC; a person at the gate reads local time,
so every time ``gate-agent`` prints (text or ``--json``) goes through here.
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo


def local_iso(value: datetime | str, zone: ZoneInfo, timespec: str = "auto") -> str:
    """``value`` (an aware instant, or its ISO text) in ``zone``: 2026-01-01T00:00:00+02:00."""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    if when.tzinfo is None:  # stored instants are UTC; a naive one is never local
        when = when.replace(tzinfo=ZoneInfo("UTC"))
    return when.astimezone(zone).isoformat(timespec=timespec)


def localized(data: Any, zone: ZoneInfo) -> Any:
    """A ``model_dump()`` (python mode) made JSON-ready, every datetime in ``zone``."""
    if isinstance(data, datetime):
        return local_iso(data, zone)
    if isinstance(data, date | time):
        return data.isoformat()
    if isinstance(data, Enum):
        return data.value
    if isinstance(data, dict):
        return {str(k): localized(v, zone) for k, v in data.items()}
    if isinstance(data, list | tuple | set | frozenset):
        return [localized(v, zone) for v in data]
    return data
