"""An allow-list entry as a row of a list file, and back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from agent.core.decision import AllowEntry
from agent.core.kinds import HolderKind
from agent.core.secure import CredentialPolicy
from agent.models.import_plain import FIELDS as PLAIN_FIELDS
from agent.models.wire import AllowListEntry, EntryFields, bounds_utc, window_utc
from agent.store.list_writer import COLUMNS


def to_row(entry: AllowListEntry, zone: ZoneInfo) -> tuple[Any, ...]:
    return fields_row(entry, entry.credential, entry.masked, zone)


def fields_row(
    fields: EntryFields, credential: str, masked: str, zone: ZoneInfo
) -> tuple[Any, ...]:
    """A stored row (``COLUMNS`` order) from validated fields and the hashed card."""
    # runs once per row of a million-row import: each field read once, the enums'
    # ``_value_`` (a plain attribute) rather than ``.value`` (a property)
    start = stop = None
    if fields.valid_from is not None or fields.valid_until is not None:
        start, stop = bounds_utc(fields, zone)
    doors = fields.doors
    return (
        credential,
        fields.holder_id,
        fields.kind._value_,
        fields.unit,
        None if doors is None else ";".join(doors),
        None if start is None else start.isoformat(),
        None if stop is None else stop.isoformat(),
        fields.schedule,
        1 if fields.suspended else 0,
        1 if fields.lockdown_override else 0,
        masked,
        fields.credential_policy._value_,
        fields.pin_hash,
    )


# where plain_fields_row finds each value (the names are the stored columns')
_KIND, _UNIT, _DOORS, _FROM, _UNTIL, _SCHEDULE, _SUSPENDED, _OVERRIDE, _POLICY, _PIN = (
    PLAIN_FIELDS.index(name) for name in COLUMNS[2:10] + COLUMNS[11:13]
)


def plain_fields_row(
    fields: tuple[Any, ...], credential: str, masked: str, zone: ZoneInfo, line: int
) -> tuple[Any, ...]:
    """``fields_row`` of a row checked in the plain shape (agent/models/import_plain.py:
    its values in ``FIELDS`` order, "" for not given), and its line: the same stored
    row ``ImportRow`` would give (tests/test_import_plain.py)."""
    start = stop = None
    valid_from, valid_until = fields[_FROM], fields[_UNTIL]
    if valid_from or valid_until:
        start, stop = window_utc(valid_from or None, valid_until or None, zone)
    return (
        credential,
        fields[0],  # holder_id
        (fields[_KIND] or HolderKind.RESIDENT)._value_,
        fields[_UNIT] or None,
        fields[_DOORS] or None,
        None if start is None else start.isoformat(),
        None if stop is None else stop.isoformat(),
        fields[_SCHEDULE] or None,
        1 if fields[_SUSPENDED] else 0,
        1 if fields[_OVERRIDE] else 0,
        masked,
        (fields[_POLICY] or CredentialPolicy.PLAIN)._value_,
        fields[_PIN] or None,
        line,
    )


def from_row(row: Sequence[Any]) -> AllowEntry:
    return AllowEntry(
        credential=row[0],
        holder_id=row[1],
        kind=HolderKind(row[2]),
        unit=row[3],
        doors=frozenset(row[4].split(";")) if row[4] is not None else None,
        valid_from=datetime.fromisoformat(row[5]) if row[5] else None,
        valid_until=datetime.fromisoformat(row[6]) if row[6] else None,
        schedule=row[7],
        suspended=bool(row[8]),
        lockdown_override=bool(row[9]),
        masked=row[10] or "",
        credential_policy=row[11] or "plain",
        pin_hash=row[12] if len(row) > 12 else None,
    )
