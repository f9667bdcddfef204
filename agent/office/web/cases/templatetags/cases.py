"""``{% overdue_cases %}``: one line on the home page when open cases are past due."""

from __future__ import annotations

from typing import Any

from django import template

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
