"""Checking an incoming event (the gate's Event JSON) before it is stored.

A batch is stored in one transaction, so one malformed event would refuse the whole
batch: callers that batch messages check each with ``parse_event`` first. Text that
neither backend can hold (NUL characters, lone UTF-16 surrogates, which JSON can carry)
is replaced rather than refused, so a garbled message can never block a batch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from agent.errors import GateError
from agent.office.db.base import EventRow, as_utc

_SEQ_MAX = 2**63 - 1  # PostgreSQL's BIGINT


def clean_text(text: str) -> str:
    """``text`` without NUL characters or lone surrogates (each becomes U+FFFD or ``?``)."""
    if not text.isascii():
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def clean_value(value: Any) -> Any:
    """A JSON value with every string in it cleaned (``clean_text``)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_value(v) for v in value]
    return value


def details_json(details: Mapping[str, Any]) -> str:
    """The details as JSON text both backends accept (PostgreSQL's JSONB refuses \\u0000)."""
    text = json.dumps(details, ensure_ascii=False, default=str)
    if "\\u0000" in text or not (text.isascii() or _encodable(text)):
        text = json.dumps(clean_value(details), ensure_ascii=False, default=str)
    return text


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_time(value: Any, what: str = "time") -> datetime:
    """An ISO 8601 text or a datetime, as an aware UTC datetime (naive is taken as UTC)."""
    try:
        if isinstance(value, datetime):
            return as_utc(value)
        if isinstance(value, str):
            return as_utc(datetime.fromisoformat(value))
    except (ValueError, OverflowError):
        pass
    raise GateError(f"{what}: not an ISO 8601 time: {str(value)[:40]!r}")


def _text(event: Mapping[str, Any], key: str, optional: bool = False) -> str | None:
    value = event.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise GateError(f"{key}: a non-empty string is needed, got {str(value)[:40]!r}")
    return clean_text(value)


def parse_event(event: Mapping[str, Any]) -> EventRow:
    """The event checked and converted; a one-line GateError names what is wrong."""
    try:
        if not isinstance(event, Mapping):
            raise GateError(f"an event is a JSON object, got {type(event).__name__}")
        seq = event.get("seq")
        if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq <= _SEQ_MAX:
            raise GateError(f"seq: a positive integer is needed, got {str(seq)[:40]!r}")
        details = event.get("details")
        if details is None:
            details = {}
        if not isinstance(details, Mapping):
            raise GateError("details: a JSON object is needed")
        return EventRow(
            id=str(_text(event, "id")),
            site=str(_text(event, "site")),
            gate=str(_text(event, "gate")),
            seq=seq,
            time=parse_time(event.get("time")),
            type=str(_text(event, "type")),
            severity=str(_text(event, "severity")),
            door=_text(event, "door", optional=True),
            details_json=details_json(details),
        )
    except GateError as exc:
        ident = event.get("id") if isinstance(event, Mapping) else None
        raise GateError(f"event {str(ident)[:40]!r} refused: {exc}") from None
