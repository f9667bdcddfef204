"""The pages of abnormal behaviour cases: a new case, a measure against a resident (with the
ladder's suggestion), the report to the police, and a resident's measures.

Each measure and police report is a step on the case's timeline and an audit entry. Only
accounts with ``cases.view_behaviour`` read these cases; a clerk may enter one (taken at the
desk) and hands it on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from agent.models.behaviour_ladder import BehaviourConfig, counted, suggest
from agent.office.web.audit import chain
from agent.office.web.cases import access
from agent.office.web.cases.behaviour_forms import BehaviourCaseForm, MeasureForm, PoliceForm
from agent.office.web.cases.behaviour_models import (
    BehaviourDetails,
    BehaviourMeasure,
    PoliceReport,
    Rung,
)
from agent.office.web.cases.models import Case, CaseStep
from agent.office.web.cases.opening import open_case
from agent.office.web.register.models import Resident
from agent.office.web.staff.accounts import signed_in_account
from agent.office.web.workplace import workplace_config

HANDLE = ("cases.handle_case", access.VIEW_BEHAVIOUR)


@dataclass(frozen=True)
class Standing:
    """One resident of a case: the measures taken against them and the next rung suggested."""

    resident: Resident
    measures: list[BehaviourMeasure]
    suggested: str


def standing(
    resident: Resident, details: BehaviourDetails, config: BehaviourConfig, now: datetime
) -> Standing:
    """The resident's measures (every case) and the ladder's suggestion for this case."""
    measures = list(resident.behaviour_measures.select_related("case"))
    taken = counted(((m.at, m.rung) for m in measures), now, config.window_months)
    rung = suggest(config.ladder, taken, details.kind in config.serious)
    return Standing(resident, measures, str(Rung(rung).label) if rung else _("none: reported"))


def behaviour_case(request: HttpRequest, pk: int) -> tuple[Case, BehaviourDetails]:
    """The behaviour case ``pk`` (404 for another kind) once the reader may read it."""
    case = access.check(request.user, get_object_or_404(Case, pk=pk))
    return case, get_object_or_404(BehaviourDetails, case=case)


@login_required
@permission_required(("cases.add_case", "register.view_resident"), raise_exception=True)
def behaviour_new(request: HttpRequest) -> HttpResponseBase:
    form = BehaviourCaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        actor = signed_in_account(request).get_username()
        with transaction.atomic():
            case = open_case(form, actor, kind=Case.Kind.BEHAVIOUR, received_at=timezone.now())
            BehaviourDetails.objects.create(
                case=case,
                kind=form.cleaned_data["behaviour"],
                occurred_at=form.cleaned_data["occurred_at"],
            )
        if access.may_read(request.user, case):
            return redirect("cases:case", pk=case.pk)
        messages.success(request, _("Case %(pk)s recorded and handed on.") % {"pk": case.pk})
        return redirect("cases:list")
    return render(request, "cases/behaviour_new.html", {"form": form})


@login_required
@permission_required(HANDLE, raise_exception=True)
def measure_new(request: HttpRequest, pk: int) -> HttpResponseBase:
    case, details = behaviour_case(request, pk)
    config = workplace_config().behaviour
    form = MeasureForm(request.POST or None, case=case, ladder=config.ladder)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        actor = signed_in_account(request).get_username()
        resident = data["resident"]
        with transaction.atomic():
            measure = BehaviourMeasure.objects.create(
                case=case, resident=resident, rung=data["rung"], at=data["at"], by=actor,
                note=data["note"],
            )  # fmt: skip
            note = f"{resident.name}: {measure.get_rung_display()}"
            CaseStep.objects.create(
                case=case,
                actor=actor,
                action="measure",
                state_before=case.state,
                state_after=case.state,
                note=f"{note}\n{data['note']}".strip(),
            )
            chain.append(
                actor, "case.measure", f"case {case.pk}", f"{resident.holder_id}: {measure.rung}"
            )
        return redirect("cases:case", pk=case.pk)
    now = timezone.now()
    rows = [standing(r, details, config, now) for r in case.residents.all()]
    return render(
        request, "cases/measure.html", {"case": case, "form": form, "rows": rows, "config": config}
    )


@login_required
@permission_required(HANDLE, raise_exception=True)
def police_new(request: HttpRequest, pk: int) -> HttpResponseBase:
    case, _details = behaviour_case(request, pk)
    form = PoliceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        actor = signed_in_account(request).get_username()
        with transaction.atomic():
            report = PoliceReport.objects.create(case=case, recorded_by=actor, **data)
            for resident in case.residents.all():  # the top of the ladder, for each of them
                BehaviourMeasure.objects.create(
                    case=case, resident=resident, rung=Rung.POLICE, at=report.reported_at, by=actor
                )
            CaseStep.objects.create(
                case=case,
                actor=actor,
                action="police",
                state_before=case.state,
                state_after=case.state,
                note=f"{report.station}, {report.officer}, {report.number}",
            )
            chain.append(actor, "case.police", f"case {case.pk}", report.number)
        return redirect("cases:case", pk=case.pk)
    return render(request, "cases/police.html", {"case": case, "form": form})


@login_required
@permission_required((access.VIEW_BEHAVIOUR, "register.view_resident"), raise_exception=True)
def resident_measures(request: HttpRequest, pk: int) -> HttpResponse:
    resident = get_object_or_404(Resident, pk=pk)
    measures = resident.behaviour_measures.select_related("case").order_by("-at", "-pk")
    return render(
        request, "cases/resident_measures.html", {"resident": resident, "measures": measures}
    )
