"""Times as ``gate-office`` prints them for a person: in the site's zone, with its offset.

The office stores instants in UTC; whoever reads a fleet line, an event or an incident
at the office reads the site's clock, as the guard at the gate does. The zone comes from
``--timezone`` (or ``$GATE_OFFICE_TIMEZONE``); without it, this computer's own zone.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agent.errors import ConfigError


def site_zone(name: str | None) -> tzinfo | None:
    """The zone named (``Africa/Cairo``); None: this computer's zone, its rules and all."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"--timezone {name!r} is not a time zone name (e.g. Africa/Cairo, Europe/Berlin)"
        ) from None


def local_text(value: datetime | str | None, zone: tzinfo | None, timespec: str = "seconds") -> str:
    """``value`` (an instant, or its ISO text) in ``zone``: 2026-06-10T09:00:00+02:00."""
    if value is None or value == "":
        return "-"
    try:
        when = datetime.fromisoformat(value) if isinstance(value, str) else value
    except ValueError:
        return str(value)
    if when.tzinfo is None:  # the store's instants are UTC
        when = when.replace(tzinfo=UTC)
    return when.astimezone(zone).isoformat(timespec=timespec)


def offset_of(value: datetime, zone: tzinfo | None) -> str:
    """The zone's UTC offset at ``value`` as ISO text (+02:00)."""
    return local_text(value, zone)[-6:]
