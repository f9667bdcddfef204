"""Who may read which case: abnormal behaviour cases only with ``cases.view_behaviour``
(managers and case officers); to everyone else they are refused (403) and left off lists."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from agent.office.web.cases.models import Case

VIEW_BEHAVIOUR = "cases.view_behaviour"


def may_read(user: Any, case: Case) -> bool:
    """Whether ``user`` may read ``case`` beyond the permission of the page itself."""
    return case.kind != Case.Kind.BEHAVIOUR or bool(user.has_perm(VIEW_BEHAVIOUR))


def check(user: Any, case: Case) -> Case:
    """``case`` when ``user`` may read it; PermissionDenied (403) otherwise."""
    if not may_read(user, case):
        raise PermissionDenied
    return case


def readable(user: Any, cases: QuerySet[Case]) -> QuerySet[Case]:
    """``cases`` less the behaviour cases ``user`` may not read."""
    if user.has_perm(VIEW_BEHAVIOUR):
        return cases
    return cases.exclude(kind=Case.Kind.BEHAVIOUR)
