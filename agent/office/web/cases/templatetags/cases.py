"""``{% overdue_cases %}``: one line on the home page when open cases are past due."""

from __future__ import annotations

from typing import Any

from django import template

from agent.errors import GateError
from agent.office.web.cases import access
from agent.office.web.cases.models import Case

register = template.Library()


@register.inclusion_tag("cases/overdue.html", takes_context=True)
def overdue_cases(context: template.Context) -> dict[str, Any]:
    """The count of overdue cases, for staff who may see the cases."""
    user = context["request"].user
    if not user.has_perm("cases.view_case"):
        return {"overdue": 0}
    return {"overdue": access.readable(user, Case.overdue_cases()).count()}


@register.inclusion_tag("office/dashboard.html", takes_context=True)
def case_dashboard(context: template.Context) -> dict[str, Any]:
    """The dashboard for staff who may see the cases (the gates' part if they may see gates)."""
    from django.utils import timezone

    from agent.office.web.cases import dashboard

    user = context["request"].user
    if not user.has_perm("cases.view_case"):
        return {"dashboard": None}
    try:
        board = dashboard.build(
            timezone.now(),
            with_gates=user.has_perm("fleet.view_fleet"),
            cases=access.readable(user, Case.objects.all()),
            with_drills=user.has_perm("plans.view_emergencyplan"),
        )
    except GateError as exc:  # a broken office config: told in one line, the page still works
        return {"dashboard": None, "problem": str(exc).splitlines()[0]}
    return {"dashboard": board, "ages": dashboard.AGES, "drills": board.drills}
