"""Deletion on time for visitor passes: what the desk wrote down about a visitor.

``gate-office web purge`` (the daily timer) also erases, for each pass that ended (its
``valid_until``, or its revocation if earlier) at least the visitor retention period
(``GATE_OFFICE_VISITOR_RETENTION_DAYS``, default 90; ``--visitor-retention-days``)
before now: the visitor's name (a placeholder instead), the car's plate mask and HMAC,
and the signed code (an ended pass opens nothing, and the code names its unit). It keeps
the pass id (the gates' events name it), the host unit, the times, doors and uses, and
who issued and revoked it. One audit entry per pass, without personal data; a purged pass
is marked, so a second run does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q

from agent.office.web.audit import chain
from agent.office.web.audit.models import AuditEntry
from agent.office.web.register.models import ERASED_NAME
from agent.office.web.register.retention import ACTOR
from agent.office.web.visitors.models import VisitorPass


@dataclass
class PassPurge:
    """What a run purged (or, dry, would purge)."""

    cutoff: datetime
    dry_run: bool
    purged: list[int] = field(default_factory=list)

    def summary(self) -> str:
        """The one line the command prints."""
        verb = "would purge" if self.dry_run else "purged"
        return (
            f"{verb} {len(self.purged)} visitor pass(es) that ended on or before "
            f"{self.cutoff:%Y-%m-%d %H:%M} UTC"
        )


def due(cutoff: datetime) -> list[VisitorPass]:
    """The passes not yet purged that ended (expired or revoked) on or before ``cutoff``."""
    ended = Q(valid_until__lte=cutoff) | Q(revoked_at__lte=cutoff)
    return list(VisitorPass.objects.filter(ended, purged_at__isnull=True).order_by("pk"))


def _erase(found: VisitorPass, now: datetime, days: int) -> None:
    ended = found.ended_at
    found.visitor_name = ERASED_NAME
    found.plate_masked = found.plate_credential = found.code = ""
    found.purged_at = now
    found.save()
    reason = f"personal data deleted: ended {ended:%Y-%m-%d}, retention {days} days"
    chain.append(ACTOR, AuditEntry.Action.CHANGE, f"visitor_pass:{found.pass_id}", reason)


def purge_passes(now: datetime, days: int, dry_run: bool = False) -> PassPurge:
    """Erase (or, dry, only list) the passes due at ``now``; each in its own transaction."""
    result = PassPurge(now - timedelta(days=days), dry_run)
    for found in due(result.cutoff):
        if not dry_run:
            with transaction.atomic():
                _erase(found, now, days)
        result.purged.append(found.pk)
    return result
