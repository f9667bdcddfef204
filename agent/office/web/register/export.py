"""What the register holds about one resident, for a data-subject request.

Everything, numbers opened: the resident's fields, their household and unit, document
checks, the change requests that touched them and, when the event store is configured
(``--events-db``), the gates' events of their holder id. Only the export page calls this,
after a reason was given; the page writes the audit entry.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.conf import settings

from agent.office.web.events import event_store
from agent.office.web.register.models import ChangeRequest, Resident


def _text(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _text(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_text(v) for v in value]
    return value


def holder_events(holder_id: str) -> list[dict[str, Any]] | None:
    """The gates' events of a holder, oldest first; None when no event store is configured."""
    if not settings.GATE_OFFICE_EVENTS_DB:
        return None
    store = event_store()
    try:
        rows = store.db.query_events(holder=holder_id, limit=None)
    finally:
        store.close()
    return [_text(row) for row in rows]


def _user(user: Any) -> str | None:
    return user.get_username() if user is not None else None


def export(resident: Resident) -> dict[str, Any]:
    """The whole record as JSON-ready data (dates and times as ISO text)."""
    unit = resident.household.unit
    changes = ChangeRequest.objects.filter(resident=resident) | ChangeRequest.objects.filter(
        household=resident.household_id, resident__isnull=True
    )
    data: dict[str, Any] = {
        "holder_id": resident.holder_id,
        "name": resident.name,
        "id_type": resident.id_type,
        "id_number": resident.id_number,
        "phone": resident.phone,
        "move_in": resident.move_in,
        "move_out": resident.move_out,
        "tenure": resident.tenure,
        "proof_seen": resident.proof_seen,
        "purged_at": resident.purged_at,
        "household": resident.household_id,
        "unit": {"building": unit.building, "entrance": unit.entrance, "room": unit.room},
        "document_checks": [
            {
                "documents": check.documents,
                "checked_by": _user(check.checked_by),
                "checked_at": check.checked_at,
                "note": check.note,
            }
            for check in resident.checks.select_related("checked_by")
        ],
        "change_requests": [
            {
                "id": change.pk,
                "kind": change.kind,
                "description": change.description,
                "asked_by": change.asked_by,
                "recorded_by": _user(change.recorded_by),
                "recorded_at": change.recorded_at,
                "status": change.status,
                "decided_by": _user(change.decided_by),
                "decided_at": change.decided_at,
                "applied_by": _user(change.applied_by),
                "applied_at": change.applied_at,
                "applied": change.applied,
            }
            for change in changes.order_by("recorded_at")
        ],
        "events": holder_events(resident.holder_id),
    }
    return _text(data)  # type: ignore[no-any-return]
