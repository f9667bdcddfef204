"""The yearly drill calendar: per plan in force, the drills a year it asks for, those done
and scheduled this year, month by month, and what is due or overdue; and the last drill
of each plan (for the dashboard)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from agent.office.web.plans.models import Drill, EmergencyPlan, PlanVersion


@dataclass
class PlanYear:
    """One plan's year: ``months`` holds each month's drills (index 0 is January)."""

    plan: EmergencyPlan
    version: PlanVersion
    required: int
    year_number: int
    done: int = 0
    scheduled: int = 0
    months: list[list[Drill]] = field(default_factory=lambda: [[] for _ in range(12)])

    @property
    def due(self) -> int:
        """Drills still to be scheduled this year."""
        return max(0, self.required - self.done - self.scheduled)

    def overdue(self, now: datetime) -> int:
        """Drills that should have run by the end of last month (spread evenly over the
        year) but did not; a past year's missing drills are all overdue."""
        local = timezone.localtime(now)
        if self.year_number != local.year:
            return max(0, self.required - self.done) if self.year_number < local.year else 0
        expected = self.required * (local.month - 1) // 12
        return max(0, expected - self.done)


def year(year_number: int, now: datetime | None = None) -> list[PlanYear]:
    """Each plan with an approved version, for ``year_number`` (local time)."""
    now = now or timezone.now()
    rows = []
    for plan in EmergencyPlan.objects.all():
        version = plan.approved()
        if version is None:
            continue
        row = PlanYear(plan, version, version.drills_per_year, year_number)
        drills = Drill.objects.filter(version__plan=plan).order_by("scheduled_at")
        for drill in drills:
            when = timezone.localtime(drill.started_at or drill.scheduled_at)
            if when.year != year_number:
                continue
            if drill.started_at is not None:
                row.done += 1
            elif drill.scheduled_at >= now:
                row.scheduled += 1
            else:
                continue  # scheduled, never started, its time gone: not a drill
            row.months[when.month - 1].append(drill)
        rows.append(row)
    return rows


def last_drill_per_plan() -> list[tuple[EmergencyPlan, Drill | None]]:
    """Each plan with its most recently started drill (None: never drilled)."""
    out = []
    for plan in EmergencyPlan.objects.all():
        last = (
            Drill.objects.filter(version__plan=plan, started_at__isnull=False)
            .order_by("-started_at")
            .first()
        )
        out.append((plan, last))
    return out
