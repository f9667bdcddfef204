"""The plan pages: the list, a plan's versions, drafting (a new version from the one in
force), approving, and the printable version."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db import transaction
from django.db.models import Max
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from agent.office.web.audit import chain
from agent.office.web.plans.calendar import last_drill_per_plan
from agent.office.web.plans.forms import PlanVersionForm, ScheduleForm, as_text
from agent.office.web.plans.models import EmergencyPlan, PlanVersion
from agent.office.web.staff.accounts import signed_in_account


def _plan(scenario: str) -> EmergencyPlan:
    if scenario not in EmergencyPlan.Scenario.values:
        raise Http404
    plan, _created = EmergencyPlan.objects.get_or_create(scenario=scenario)
    return plan


@login_required
@permission_required("plans.view_emergencyplan", raise_exception=True)
def plan_list(request: HttpRequest) -> HttpResponse:
    last = dict(last_drill_per_plan())
    rows = []
    for value, label in EmergencyPlan.Scenario.choices:
        plan = EmergencyPlan.objects.filter(scenario=value).first()
        approved = plan.approved() if plan else None
        draft = plan.draft() if plan else None
        rows.append((value, label, approved, draft, last.get(plan) if plan else None))
    return render(request, "plans/list.html", {"rows": rows})


@login_required
@permission_required("plans.view_emergencyplan", raise_exception=True)
def plan(request: HttpRequest, scenario: str) -> HttpResponse:
    plan = _plan(scenario)
    return render(
        request,
        "plans/plan.html",
        {
            "plan": plan,
            "versions": plan.versions.all(),
            "approved": plan.approved(),
            "draft": plan.draft(),
            "schedule_form": ScheduleForm(),
        },
    )


@login_required
@permission_required("plans.write_plan", raise_exception=True)
def draft(request: HttpRequest, scenario: str) -> HttpResponseBase:
    """Edit the plan's draft; without one, a new version starts from the one in force."""
    plan = _plan(scenario)
    current = plan.draft()
    base = current or plan.approved()
    initial = {}
    if base is not None and current is None:  # a copy of the approved version's fields
        initial = {f: getattr(base, f) for f in PlanVersionForm.Meta.fields}
    if base is not None:
        initial.update(as_text(base))
    form = PlanVersionForm(request.POST or None, instance=current, initial=initial)
    if request.method == "POST" and form.is_valid():
        actor = signed_in_account(request).get_username()
        with transaction.atomic():
            version = form.save(commit=False)
            if current is None:
                top = plan.versions.aggregate(n=Max("number"))["n"] or 0
                version.plan, version.number, version.drafted_by = plan, top + 1, actor
            version.drafted_at = timezone.now()
            version.save()
            chain.append(actor, "plan.draft", f"plan {plan.scenario}", f"v{version.number}")
        messages.success(request, _("Draft saved."))
        return redirect("plans:version", pk=version.pk)
    return render(request, "plans/draft.html", {"plan": plan, "form": form, "base": base})


@login_required
@permission_required("plans.view_emergencyplan", raise_exception=True)
def version(request: HttpRequest, pk: int) -> HttpResponse:
    v = get_object_or_404(PlanVersion.objects.select_related("plan"), pk=pk)
    return render(
        request,
        "plans/version.html",
        {"v": v, "drills": v.drills.all(), "schedule_form": ScheduleForm()},
    )


@login_required
@permission_required("plans.view_emergencyplan", raise_exception=True)
def printable(request: HttpRequest, pk: int) -> HttpResponse:
    v = get_object_or_404(PlanVersion.objects.select_related("plan"), pk=pk)
    return render(request, "plans/print.html", {"v": v})


@login_required
@permission_required("plans.approve_plan", raise_exception=True)
@require_POST
def approve(request: HttpRequest, pk: int) -> HttpResponseBase:
    actor = signed_in_account(request).get_username()
    with transaction.atomic():
        v = get_object_or_404(PlanVersion.objects.select_for_update(), pk=pk)
        if v.approved_at is not None:
            messages.error(request, _("This version is approved already."))
            return redirect("plans:version", pk=v.pk)
        if not v.steps or not v.doors:
            messages.error(request, _("A plan needs steps and doors before it is approved."))
            return redirect("plans:version", pk=v.pk)
        v.approved_by, v.approved_at = actor, timezone.now()
        v.save()
        chain.append(actor, "plan.approve", f"plan {v.plan.scenario}", f"v{v.number}")
    messages.success(request, _("Version approved: it is the plan in force."))
    return redirect("plans:version", pk=v.pk)
