"""The register's pages; each full-record view, reveal and change writes an audit entry."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from agent.office.web.audit import chain
from agent.office.web.audit.models import AuditEntry
from agent.office.web.register.forms import (
    ChangeRequestForm,
    DocumentCheckForm,
    HouseholdForm,
    ResidentForm,
    RevealForm,
    SearchForm,
    UnitForm,
)
from agent.office.web.register.models import ChangeRequest, Household, Resident, Unit
from agent.office.web.register.vehicles import VehicleForm


def _actor(request: HttpRequest) -> str:
    return request.user.get_username()


@login_required
@permission_required("register.view_unit", raise_exception=True)
def units(request: HttpRequest) -> HttpResponse:
    """Every unit and its households."""
    form = UnitForm()
    if request.method == "POST":
        if not request.user.has_perm("register.add_unit"):
            return HttpResponse(status=403)
        form = UnitForm(request.POST)
        if form.is_valid():
            unit = form.save()
            chain.append(_actor(request), AuditEntry.Action.CHANGE, f"unit:{unit.pk}")
            return redirect("units")
    listing = Unit.objects.prefetch_related("households")
    context = {"units": listing, "form": form, "search_form": SearchForm()}
    return render(request, "register/units.html", context)


@login_required
@permission_required("register.add_household", raise_exception=True)
def household_new(request: HttpRequest) -> HttpResponseBase:
    """A household in a unit; its residents are added on its page."""
    form = HouseholdForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        household = form.save()
        chain.append(_actor(request), AuditEntry.Action.CHANGE, f"household:{household.pk}")
        return redirect("household", household.pk)
    return render(request, "register/form.html", {"form": form, "title": _("New household")})


@login_required
@permission_required("register.view_household", raise_exception=True)
def household(request: HttpRequest, pk: int) -> HttpResponse:
    """A household: its unit, its residents (masked), its change requests."""
    found = get_object_or_404(Household.objects.select_related("unit"), pk=pk)
    context = {"household": found, "vehicle_form": VehicleForm()}
    return render(request, "register/household.html", context)


@login_required
@permission_required("register.add_resident", raise_exception=True)
def resident_new(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A resident of a household, with ID document and tenure."""
    found = get_object_or_404(Household, pk=pk)
    form = ResidentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            resident = form.save(commit=False)
            resident.household = found
            resident.save()
            chain.append(_actor(request), AuditEntry.Action.CHANGE, f"resident:{resident.pk}")
        return redirect("resident", resident.pk)
    title = _("New resident of %(household)s") % {"household": found}
    return render(request, "register/form.html", {"form": form, "title": title})


@login_required
@permission_required("register.view_resident", raise_exception=True)
def resident(request: HttpRequest, pk: int) -> HttpResponse:
    """A resident's full record, masked; the view itself is audited."""
    found = get_object_or_404(Resident.objects.select_related("household__unit"), pk=pk)
    chain.append(_actor(request), AuditEntry.Action.VIEW, f"resident:{found.pk}")
    context = {"resident": found, "reveal_form": RevealForm(), "check_form": DocumentCheckForm()}
    return render(request, "register/resident.html", context)


@require_POST
@login_required
@permission_required("register.reveal_personal", raise_exception=True)
def reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """The whole ID and phone numbers, once, for a stated reason."""
    found = get_object_or_404(Resident.objects.select_related("household__unit"), pk=pk)
    form = RevealForm(request.POST)
    context = {"resident": found, "reveal_form": form, "check_form": DocumentCheckForm()}
    if not form.is_valid():
        return render(request, "register/resident.html", context, status=400)
    reason = form.cleaned_data["reason"]
    chain.append(_actor(request), AuditEntry.Action.REVEAL, f"resident:{found.pk}", reason)
    context["revealed"] = {"id_number": found.id_number, "phone": found.phone}
    response = render(request, "register/resident.html", context)
    response.headers["Cache-Control"] = "no-store"
    return response


@require_POST
@login_required
@permission_required("register.add_documentcheck", raise_exception=True)
def document_check(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A record of the documents seen for a resident, by the signed-in clerk, now."""
    found = get_object_or_404(Resident, pk=pk)
    form = DocumentCheckForm(request.POST)
    if form.is_valid():
        with transaction.atomic():
            check = form.save(commit=False)
            check.resident = found
            check.checked_by = request.user  # type: ignore[assignment]
            check.save()
            chain.append(_actor(request), AuditEntry.Action.CHANGE, f"check:{check.pk}")
        messages.success(request, _("Document check recorded."))
        return redirect("resident", found.pk)
    context = {"resident": found, "reveal_form": RevealForm(), "check_form": form}
    return render(request, "register/resident.html", context, status=400)


@login_required
@permission_required("register.add_changerequest", raise_exception=True)
def change_new(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A change request for a household (seed 1b)."""
    found = get_object_or_404(Household, pk=pk)
    form = ChangeRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            change = form.save(commit=False)
            change.household = found
            change.recorded_by = request.user  # type: ignore[assignment]
            change.save()
            chain.append(_actor(request), AuditEntry.Action.CHANGE, f"change:{change.pk}")
        return redirect("household", found.pk)
    return render(request, "register/form.html", {"form": form, "title": _("Change request")})


@require_POST
@login_required
@permission_required("register.approve_changerequest", raise_exception=True)
def change_decide(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A manager approves or rejects a pending change request."""
    change = get_object_or_404(ChangeRequest, pk=pk, status=ChangeRequest.Status.PENDING)
    approve = request.POST.get("decision") == "approve"
    change.status = ChangeRequest.Status.APPROVED if approve else ChangeRequest.Status.REJECTED
    change.decided_by = request.user  # type: ignore[assignment]
    change.decided_at = timezone.now()
    with transaction.atomic():
        change.save()
        chain.append(_actor(request), AuditEntry.Action.CHANGE, f"change:{change.pk}")
    return redirect("household", change.household_id)
