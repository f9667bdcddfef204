"""The office's acknowledgement of an incident case the gates raised: it has seen it.

Acknowledging is the procedure's acceptance (the case goes on to investigation, measures,
the answer and the close like any other), recorded as its own step.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.db import transaction
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from agent.office.web.audit import chain
from agent.office.web.cases import flow
from agent.office.web.cases.models import Case, CaseStep
from agent.office.web.staff.accounts import signed_in_account


@login_required
@permission_required("cases.handle_case", raise_exception=True)
@require_POST
def acknowledge(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Received (or reopened) to accepted; pressed again (a second tab): nothing more."""
    actor = signed_in_account(request).get_username()
    with transaction.atomic():
        case = get_object_or_404(Case.objects.select_for_update(), pk=pk, kind=Case.Kind.INCIDENT)
        if "accept" in flow.actions_from(case.state):
            before, case.state = case.state, flow.next_state(case.state, "accept")
            case.save(update_fields=["state"])
            CaseStep.objects.create(
                case=case, actor=actor, action="acknowledge", state_before=before,
                state_after=case.state,
            )  # fmt: skip
            chain.append(actor, "case.acknowledge", f"case {case.pk}", f"{before} -> {case.state}")
    return redirect("cases:case", pk=case.pk)
