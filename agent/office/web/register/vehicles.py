"""A household's vehicles: plates sealed, masked and indexed (search by plate).

The vehicle gate itself (plates read at the barrier) is its own work; the register records
which household a plate belongs to, after the vehicle licence was seen.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.db import IntegrityError, models, transaction
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from agent.office.web.audit import chain
from agent.office.web.audit.models import AuditEntry
from agent.office.web.register.plates import mask_plate, normalise_plate
from agent.office.web.register.sealing import blind_index, seal
from agent.office.web.staff.accounts import signed_in_account

if TYPE_CHECKING:
    from agent.office.web.register.search import Hit


class Vehicle(models.Model):
    """A vehicle of a household, known by its plate (never stored in clear)."""

    household = models.ForeignKey(
        "register.Household", on_delete=models.CASCADE, related_name="vehicles"
    )
    plate_sealed = models.TextField()
    plate_index = models.CharField(max_length=64, unique=True)
    plate_masked = models.CharField(_("plate"), max_length=16)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "register"
        ordering = ["added_at"]

    def __str__(self) -> str:
        return self.plate_masked


def index_of_plate(plate: str) -> str:
    """The keyed index of a normalised plate: search and the uniqueness check compare these."""
    return blind_index("plate", plate)


class VehicleForm(forms.Form):
    """A plate typed at the desk, checked and normalised."""

    plate = forms.CharField(label=_("licence plate"), max_length=20)

    def clean_plate(self) -> str:
        plate = normalise_plate(self.cleaned_data["plate"])
        if plate is None:
            raise forms.ValidationError(_("This is not a licence plate (e.g. 京A12345)."))
        if Vehicle.objects.filter(plate_index=index_of_plate(plate)).exists():
            raise forms.ValidationError(_("This plate is registered already."))
        return plate


@require_POST
@login_required
@permission_required("register.add_vehicle", raise_exception=True)
def vehicle_new(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A plate added to a household; refused beside the field, nothing half-saved."""
    from agent.office.web.register.models import Household

    found = get_object_or_404(Household.objects.select_related("unit"), pk=pk)
    staff = signed_in_account(request)
    form = VehicleForm(request.POST)
    if form.is_valid():
        plate = form.cleaned_data["plate"]
        try:
            with transaction.atomic():
                vehicle = Vehicle.objects.create(
                    household=found, plate_sealed=seal(plate), plate_index=index_of_plate(plate),
                    plate_masked=mask_plate(plate), added_by=staff,
                )  # fmt: skip
                actor = staff.get_username()
                chain.append(actor, AuditEntry.Action.CHANGE, f"vehicle:{vehicle.pk}", "added")
            _send_lists(actor)
            return redirect("household", found.pk)
        except IntegrityError:  # another desk registered it a moment ago
            form.add_error("plate", _("This plate is registered already."))
    context = {"household": found, "vehicle_form": form}
    return render(request, "register/household.html", context, status=400)


def _send_lists(actor: str) -> None:
    """The gates get the register's whole list again, now with this plate (issue 22)."""
    from agent.office.web.cards import planning
    from agent.office.web.cards.models import CardChange

    planning.plan(CardChange.objects.create(kind=CardChange.Kind.RESYNC, made_by=actor))


def by_plate(text: str) -> Iterable[Hit]:
    """The register's searcher for plates (registered in ``search``)."""
    from agent.office.web.register.search import Hit

    plate = normalise_plate(text)
    if plate is None:
        return []
    found = Vehicle.objects.filter(plate_index=index_of_plate(plate)).select_related("household")
    return [Hit(v.household, None, _("plate")) for v in found]
