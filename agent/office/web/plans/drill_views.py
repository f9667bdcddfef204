"""The drill pages: schedule one for an approved version, start and stop it at the gates,
tick off steps, note what went wrong, read its comparison with the plan; the calendar."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from agent.errors import GateError
from agent.office.web.audit import chain
from agent.office.web.plans import calendar, gates
from agent.office.web.plans.compare import compare
from agent.office.web.plans.forms import ScheduleForm, TickForm, WentWrongForm
from agent.office.web.plans.models import Drill, DrillTick, PlanVersion
from agent.office.web.plans.muster import drill_musters
from agent.office.web.staff.accounts import signed_in_account


@login_required
@permission_required("plans.run_drill", raise_exception=True)
@require_POST
def schedule(request: HttpRequest, pk: int) -> HttpResponseBase:
    v = get_object_or_404(PlanVersion.objects.select_related("plan"), pk=pk)
    form = ScheduleForm(request.POST)
    if v.approved_at is None:
        form.add_error(None, _("Only an approved version can be drilled."))
    if not form.is_valid():
        return render(
            request, "plans/version.html", {"v": v, "drills": v.drills.all(), "schedule_form": form}
        )
    actor = signed_in_account(request).get_username()
    drill = Drill.objects.create(
        version=v, scheduled_at=form.cleaned_data["scheduled_at"], scheduled_by=actor
    )
    chain.append(actor, "drill.schedule", f"drill {drill.pk}", str(v))
    return redirect("plans:drill", pk=drill.pk)


def drill_page(
    request: HttpRequest, drill: Drill, tick_form: TickForm | None = None
) -> HttpResponse:
    """The drill with its comparison report (the gates' reports matched first)."""
    store_error = ""
    try:
        gates.match_reports(drill)
    except GateError as exc:  # no event store configured: the page still shows the rest
        store_error = str(exc)
    v = drill.version
    ticks = list(drill.ticks.all())
    start = drill.started_at
    tick_rows = [
        {
            "step": t.step,
            "by": t.by,
            "minutes": (t.at - start).total_seconds() / 60 if start else 0.0,
        }
        for t in ticks
    ]
    result = compare(v.doors, float(v.release_within_s), drill.reports, v.steps, tick_rows)
    now = timezone.localtime().replace(microsecond=0)
    return render(
        request,
        "plans/drill.html",
        {
            "drill": drill,
            "v": v,
            "result": result,
            "ticks": ticks,
            "store_error": store_error,
            "complete": drill.complete(),
            "awaiting": drill.awaiting(timezone.now()),
            "running": bool(start) and not drill.complete(),
            "tick_form": tick_form or TickForm(steps=v.steps, initial={"at": now}),
            "notes_form": WentWrongForm(initial={"went_wrong": drill.went_wrong}),
            "musters": drill_musters(drill.reports),
        },
    )


@login_required
@permission_required("plans.view_emergencyplan", raise_exception=True)
def drill(request: HttpRequest, pk: int) -> HttpResponse:
    return drill_page(
        request, get_object_or_404(Drill.objects.select_related("version__plan"), pk=pk)
    )


def _gate_message(request: HttpRequest, rows: list[dict[str, object]]) -> None:
    for row in rows:
        if not row["ok"]:
            messages.error(request, f"{row['site']}/{row['gate']}: {row['error']}")


@login_required
@permission_required("plans.run_drill", raise_exception=True)
@require_POST
def start(request: HttpRequest, pk: int) -> HttpResponseBase:
    actor = signed_in_account(request).get_username()
    with transaction.atomic():  # the request id is kept before anything is sent
        drill = get_object_or_404(Drill.objects.select_for_update(), pk=pk)
        if drill.started_at is not None:
            messages.error(request, _("This drill was started already."))
            return redirect("plans:drill", pk=drill.pk)
        if drill.version.approved_at is None:
            messages.error(request, _("Only an approved version can be drilled."))
            return redirect("plans:drill", pk=drill.pk)
        if not drill.version.releases():  # a lockdown plan: no drill command for the gates
            drill.started_at, drill.started_by = timezone.now(), actor
            drill.save()
            chain.append(actor, "drill.start", f"drill {drill.pk}", "steps only")
            messages.success(
                request,
                _(
                    "This plan releases no doors: nothing was sent to the "
                    "gates; tick off its steps."
                ),
            )
            return redirect("plans:drill", pk=drill.pk)
        drill.request_id, drill.started_at, drill.started_by = (
            uuid.uuid4().hex,
            timezone.now(),
            actor,
        )
        drill.save()
    rows = gates.start(drill, f"plan {drill.version} drill {drill.pk} by {actor}")
    drill.start_answers = rows
    _gate_message(request, rows)
    if not any(r["ok"] for r in rows):  # no gate runs it: the drill can be started again
        drill.request_id, drill.started_at, drill.started_by = "", None, ""
        drill.save()
        return redirect("plans:drill", pk=drill.pk)
    drill.save(update_fields=["start_answers"])
    chain.append(actor, "drill.start", f"drill {drill.pk}", drill.request_id)
    messages.success(request, _("Drill started at the plan's gates."))
    return redirect("plans:drill", pk=drill.pk)


@login_required
@permission_required("plans.run_drill", raise_exception=True)
@require_POST
def stop(request: HttpRequest, pk: int) -> HttpResponseBase:
    actor = signed_in_account(request).get_username()
    drill = get_object_or_404(Drill, pk=pk)
    if drill.started_at is None:
        messages.error(request, _("This drill has not started."))
        return redirect("plans:drill", pk=drill.pk)
    rows = gates.stop(drill)
    drill.stopped_at = drill.stopped_at or timezone.now()
    drill.save(update_fields=["stopped_at", "reports"])
    chain.append(actor, "drill.stop", f"drill {drill.pk}", drill.request_id)
    _gate_message(request, rows)
    if all(r["ok"] for r in rows):
        messages.success(request, _("Drill stopped: the gates' reports are kept."))
    return redirect("plans:drill", pk=drill.pk)


@login_required
@permission_required("plans.tick_drill", raise_exception=True)
@require_POST
def tick(request: HttpRequest, pk: int) -> HttpResponseBase:
    drill = get_object_or_404(Drill.objects.select_related("version__plan"), pk=pk)
    form = TickForm(request.POST, steps=drill.version.steps)
    if drill.started_at is None:
        form.add_error(None, _("Steps are ticked off once the drill has started."))
    if not form.is_valid():
        return drill_page(request, drill, form)
    data = form.cleaned_data
    DrillTick.objects.create(
        drill=drill,
        step=data["step"],
        at=data["at"],
        note=data["note"],
        by=signed_in_account(request).get_username(),
    )
    return redirect("plans:drill", pk=drill.pk)


@login_required
@permission_required("plans.tick_drill", raise_exception=True)
@require_POST
def notes(request: HttpRequest, pk: int) -> HttpResponseBase:
    drill = get_object_or_404(Drill, pk=pk)
    form = WentWrongForm(request.POST)
    if form.is_valid():
        drill.went_wrong = form.cleaned_data["went_wrong"]
        drill.save(update_fields=["went_wrong"])
        messages.success(request, _("Notes saved."))
    return redirect("plans:drill", pk=drill.pk)


@login_required
@permission_required("plans.view_emergencyplan", raise_exception=True)
def calendar_page(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    try:
        year_number = int(request.GET.get("year") or timezone.localtime(now).year)
    except ValueError:
        year_number = timezone.localtime(now).year
    rows = [(row, row.overdue(now)) for row in calendar.year(year_number, now)]
    return render(
        request, "plans/calendar.html", {"rows": rows, "year": year_number, "months": range(1, 13)}
    )
