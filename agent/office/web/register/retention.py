"""Deletion on time: the personal data of residents who moved out long enough ago.

``gate-office web purge`` (a daily systemd timer) erases, for each resident whose move-out
date is at least the retention period (``GATE_OFFICE_RETENTION_MONTHS``, default 12;
``--retention-months``) before today: the name (a placeholder instead), the sealed ID and
phone numbers and the phone index, the notes of their document checks, and the texts of
the change requests that concerned them (a household's own requests too once every
resident of it is purged). It keeps the holder id (the gates' events name it), the unit
link, the dates, tenure and which documents were checked. One audit entry per purged
resident, without personal data. A purged resident is marked, so a second run does nothing.
With the office's event store set (``GATE_OFFICE_EVENTS_DB``), the purged residents'
presence records are deleted there too, and the office service relays to the gates that
they are forgotten.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from agent.core.presence import to_us
from agent.office.db import open_store
from agent.office.db.presence import presence_of
from agent.office.web.audit import chain
from agent.office.web.audit.models import AuditEntry
from agent.office.web.register.models import ERASED_NAME, ChangeRequest, Resident

ACTOR = "retention job"


def months_before(day: date, months: int) -> date:
    """The same day ``months`` calendar months earlier (the month's last day if shorter)."""
    total = day.year * 12 + day.month - 1 - months
    year, month = divmod(total, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


@dataclass
class Purge:
    """What a run purged (or, dry, would purge)."""

    cutoff: date
    dry_run: bool
    purged: list[int] = field(default_factory=list)
    forgotten: int = 0  # presence records deleted in the office's event store

    def summary(self) -> str:
        """The one line the command prints."""
        verb = "would purge" if self.dry_run else "purged"
        return (
            f"{verb} {len(self.purged)} resident(s) who moved out on or before "
            f"{self.cutoff.isoformat()}"
        )


def due(cutoff: date) -> list[Resident]:
    """The residents not yet purged who moved out on or before ``cutoff``."""
    return list(
        Resident.objects.filter(purged_at__isnull=True, move_out__lte=cutoff).order_by("pk")
    )


def _erase(resident: Resident, now: datetime, months: int) -> None:
    from agent.office.web.cards.models import CardPin  # the cards app builds on the register

    moved_out = resident.move_out
    resident.name = ERASED_NAME
    resident.id_number_sealed = ""
    resident.phone_sealed = ""
    resident.phone_index = ""
    resident.purged_at = now
    resident.save()
    resident.checks.update(note="")
    CardPin.objects.filter(resident=resident).delete()  # a card PIN's hash is theirs too
    erased = {"description": "", "asked_by": "", "applied": {}}
    ChangeRequest.objects.filter(resident=resident).update(**erased)
    household = resident.household
    if not household.residents.filter(purged_at__isnull=True).exists():
        household.changes.update(**erased)
        household.vehicles.all().delete()  # plates are personal data of the last to leave
    reason = f"personal data deleted: moved out {moved_out}, retention {months} months"
    chain.append(ACTOR, AuditEntry.Action.CHANGE, f"resident:{resident.pk}", reason)


def purge(now: datetime, months: int, dry_run: bool = False) -> Purge:
    """Erase (or, dry, only list) the residents due at ``now``; each in its own transaction."""
    result = Purge(months_before(timezone.localdate(now), months), dry_run)
    holders = []
    for resident in due(result.cutoff):
        if not dry_run:
            with transaction.atomic():
                _erase(resident, now, months)
            holders.append(resident.holder_id)
        result.purged.append(resident.pk)
    result.forgotten = forget_presence(holders, now)
    return result


def forget_presence(holders: list[str], now: datetime) -> int:
    """Delete ``holders``' presence in the office's event store (the service relays the
    forgetting to every gate); how many records there were. Nothing without a store."""
    where = str(settings.GATE_OFFICE_EVENTS_DB or "")
    if not holders or not where:
        return 0
    store = open_store(where)
    try:
        presence = presence_of(store)
        return presence.forget(holders, to_us(now)) if presence is not None else 0
    finally:
        store.close()
