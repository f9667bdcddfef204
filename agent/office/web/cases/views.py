"""The case pages: the list with overdue cases flagged, a new complaint, a case with its
steps, and the timeline alone (for the auditor)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from agent.office.web.audit import chain
from agent.office.web.cases import access, flow, kinds
from agent.office.web.cases.attachments import AttachmentForm
from agent.office.web.cases.forms import ComplaintForm, StepForm
from agent.office.web.cases.gate_picture import GatePictureForm, case_gates, case_pictures
from agent.office.web.cases.manage import DueForm, OwnerForm
from agent.office.web.cases.models import Case, CaseStep
from agent.office.web.cases.opening import open_case
from agent.office.web.staff.accounts import signed_in_account


@login_required
@permission_required("cases.view_case", raise_exception=True)
def case_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    listed = access.readable(
        request.user, Case.objects.select_related("unit", "owner").prefetch_related("sources")
    )
    cases = [(case, case.overdue(now)) for case in listed]
    extra = kinds.extra_kinds()
    return render(request, "cases/list.html", {"cases": cases, "extra_kinds": extra})


@login_required
@permission_required("cases.add_case", raise_exception=True)
def complaint_new(request: HttpRequest) -> HttpResponseBase:
    form = ComplaintForm(
        request.POST or None,
        initial={"received_at": timezone.localtime().replace(second=0, microsecond=0)},
        user=signed_in_account(request),
    )
    if request.method == "POST" and form.is_valid():
        actor = signed_in_account(request).get_username()
        with transaction.atomic():
            case = open_case(form, actor, kind=Case.Kind.COMPLAINT)
        return redirect("cases:case", pk=case.pk)
    return render(request, "cases/new.html", {"form": form})


def case_page(
    request: HttpRequest,
    case: Case,
    form: StepForm | None = None,
    attachment_form: AttachmentForm | None = None,
    owner_form: OwnerForm | None = None,
    due_form: DueForm | None = None,
) -> HttpResponse:
    """A case with its steps, attachments and the forms of the next step."""
    return render(
        request,
        "cases/case.html",
        {
            "case": case,
            "overdue": case.overdue(),
            "steps": case.steps.all(),
            "form": form or StepForm(case=case),
            "actions": flow.actions_from(case.state),
            "attachments": case.attachments.only("pk", "name", "added_by", "added_at"),
            "attachment_form": attachment_form or AttachmentForm(),
            "picture_form": GatePictureForm(case=case) if case_gates(case) else None,
            "gate_pictures": case_pictures(case),
            "open": case.state in flow.OPEN_STATES or bool(owner_form or due_form),
            "owner_form": owner_form or OwnerForm(case=case),
            "due_form": due_form or DueForm(case=case),
        },
    )


@login_required
@permission_required("cases.view_case", raise_exception=True)
def case(request: HttpRequest, pk: int) -> HttpResponse:
    return case_page(request, access.check(request.user, get_object_or_404(Case, pk=pk)))


@login_required
@permission_required("cases.handle_case", raise_exception=True)
@require_POST
def case_step(request: HttpRequest, pk: int) -> HttpResponseBase:
    actor = signed_in_account(request).get_username()
    with transaction.atomic():
        case = get_object_or_404(Case.objects.select_for_update(), pk=pk)
        access.check(request.user, case)
        form = StepForm(request.POST, case=case)
        if not form.is_valid():
            return case_page(request, case, form)
        data = form.cleaned_data
        before, case.state = case.state, data["state"]
        if data["action"] == "reopen":  # the reopened case is due anew from now
            case.set_due(start=timezone.now())
        if data["action"] == "answer":
            case.answer, case.told_at, case.told_how = (
                data["answer"],
                data["told_at"],
                data["told_how"],
            )
        case.save()
        note = data["note"] or (data["answer"] if data["action"] == "answer" else "")
        CaseStep.objects.create(
            case=case,
            actor=actor,
            action=data["action"],
            state_before=before,
            state_after=case.state,
            note=note,
        )
        chain.append(
            actor, f"case.{data['action']}", f"case {case.pk}", f"{before} -> {case.state}"
        )
    return redirect("cases:case", pk=case.pk)


@login_required
@permission_required("cases.view_timeline", raise_exception=True)
def timeline(request: HttpRequest, pk: int) -> HttpResponse:
    case = access.check(request.user, get_object_or_404(Case, pk=pk))
    return render(request, "cases/timeline.html", {"case": case, "steps": case.steps.all()})
