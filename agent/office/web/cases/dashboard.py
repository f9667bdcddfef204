"""The figures of the dashboard and of the daily digest, read at one moment ``now``: open
cases by kind and age, the overdue ones, the last drill per emergency plan, gates offline
and alarms not acknowledged.

Rows of plain values (no models), so the home page and the mailed digest show the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from agent.errors import GateError
from agent.office.web.cases import flow, kinds
from agent.office.web.cases.models import Case
from agent.office.web.events import event_store

AGES = (_("under 1 day"), _("1 to 3 days"), _("3 to 7 days"), _("over 7 days"))
_AGE_LIMITS_DAYS = (1, 3, 7)


def age_bucket(received_at: datetime, now: datetime) -> int:
    """Which of ``AGES`` a case received at ``received_at`` is in at ``now``."""
    days = (now - received_at).total_seconds() / 86400
    return next((i for i, limit in enumerate(_AGE_LIMITS_DAYS) if days < limit), 3)


@dataclass(frozen=True)
class KindRow:
    """The open cases of one kind, counted per age."""

    kind: str
    ages: tuple[int, ...]

    @property
    def label(self) -> str:
        """The kind in the language current when it is shown."""
        return kinds.label(self.kind)

    @property
    def total(self) -> int:
        return sum(self.ages)


@dataclass(frozen=True)
class OverdueRow:
    """An open case past its due time (no resident's data but the unit)."""

    pk: int
    title: str
    kind: str
    unit: str
    owner: str
    due_at: datetime

    @property
    def kind_label(self) -> str:
        """The kind in the language current when it is shown."""
        return kinds.label(self.kind)


@dataclass(frozen=True)
class GateLine:
    """A gate offline (``since``) or with alarms not acknowledged (``alarms``)."""

    name: str
    since: datetime | None = None
    alarms: int = 0


@dataclass(frozen=True)
class DrillLine:
    """An emergency plan and its most recently started drill (``drill`` None: never)."""

    scenario: str
    drill: int | None = None
    started_at: datetime | None = None

    @property
    def label(self) -> str:
        """The scenario in the language current when it is shown."""
        from agent.office.web.plans.models import EmergencyPlan

        return str(EmergencyPlan.Scenario(self.scenario).label)


@dataclass(frozen=True)
class Gates:
    """The gates' side; ``problem`` says why it could not be read ("" when it was)."""

    offline: list[GateLine] = field(default_factory=list)
    alarms: list[GateLine] = field(default_factory=list)
    problem: str = ""


@dataclass(frozen=True)
class Dashboard:
    """Everything shown; ``gates`` is None without an event store (or the right to see it),
    ``drills`` None without the right to read the plans."""

    now: datetime
    open_by_kind: list[KindRow]
    overdue: list[OverdueRow]
    gates: Gates | None
    drills: list[DrillLine] | None = None


def open_by_kind(now: datetime, cases: QuerySet[Case]) -> list[KindRow]:
    """Every kind the site knows (and any other an open case has), its open cases by age."""
    counts: dict[str, list[int]] = {k: [0] * len(AGES) for k in kinds.BUILT_IN}
    counts.update({k: [0] * len(AGES) for k, _label in kinds.extra_kinds()})
    opened = cases.filter(state__in=flow.OPEN_STATES).values_list("kind", "received_at")
    for kind, received in opened:
        counts.setdefault(kind, [0] * len(AGES))[age_bucket(received, now)] += 1
    return [KindRow(k, tuple(ages)) for k, ages in counts.items()]


def overdue(now: datetime, cases: QuerySet[Case]) -> list[OverdueRow]:
    """The open cases past their due time at ``now``, the longest overdue first."""
    found = cases.filter(state__in=flow.OPEN_STATES, due_at__lt=now)
    return [
        OverdueRow(
            pk=case.pk,
            title=case.title,
            kind=case.kind,
            unit=str(case.unit) if case.unit else "-",
            owner=case.owner.get_username(),
            due_at=case.due_at,
        )
        for case in found.select_related("unit", "owner").order_by("due_at")
    ]


def last_drills() -> list[DrillLine]:
    """Each emergency plan with its last drill (plans.calendar.last_drill_per_plan)."""
    from agent.office.web.plans.calendar import last_drill_per_plan

    return [
        DrillLine(plan.scenario, last.pk, last.started_at) if last else DrillLine(plan.scenario)
        for plan, last in last_drill_per_plan()
    ]


def gates() -> Gates | None:
    """Gates offline and alarms not acknowledged, from the event store (None: none set)."""
    if not str(settings.GATE_OFFICE_EVENTS_DB):
        return None
    try:
        store = event_store()
        try:
            rows = store.db.gates()
        finally:
            store.close()
    except GateError as exc:
        return Gates(problem=str(exc))
    return Gates(
        offline=[
            GateLine(f"{g.site}/{g.gate}", since=g.online_since) for g in rows if g.online is False
        ],
        alarms=[
            GateLine(f"{g.site}/{g.gate}", alarms=g.open_alarms) for g in rows if g.open_alarms
        ],
    )


def build(
    now: datetime,
    with_gates: bool = True,
    cases: QuerySet[Case] | None = None,
    with_drills: bool = True,
) -> Dashboard:
    """The dashboard at ``now`` over ``cases`` (those the reader may read; all by default);
    the gates left out unless ``with_gates``, the plans' last drills unless ``with_drills``."""
    among = Case.objects.all() if cases is None else cases
    return Dashboard(
        now,
        open_by_kind(now, among),
        overdue(now, among),
        gates() if with_gates else None,
        last_drills() if with_drills else None,
    )
