"""The register's forms; a bad field is told beside it and nothing is saved."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from agent.office.web.register.idnumber import is_valid_mainland_id, normalise
from agent.office.web.register.models import (
    ChangeRequest,
    DocumentCheck,
    Household,
    Resident,
    Unit,
)


class UnitForm(forms.ModelForm[Unit]):
    """A new unit."""

    class Meta:
        model = Unit
        fields = ["building", "entrance", "room"]


class HouseholdForm(forms.ModelForm[Household]):
    """A new household in a unit."""

    class Meta:
        model = Household
        fields = ["unit"]


class ResidentForm(forms.ModelForm[Resident]):
    """A resident with the ID and phone numbers typed in plain and stored sealed."""

    id_number = forms.CharField(label=_("ID number"), max_length=40)
    phone = forms.CharField(label=_("phone"), max_length=20, required=False)

    class Meta:
        model = Resident
        fields = ["name", "id_type", "move_in", "move_out", "tenure", "proof_seen"]
        widgets = {
            "move_in": forms.DateInput(attrs={"type": "date"}),
            "move_out": forms.DateInput(attrs={"type": "date"}),
        }

    def clean_phone(self) -> str:
        phone = "".join(str(self.cleaned_data["phone"]).split())
        if phone and not phone.lstrip("+").isdigit():
            raise forms.ValidationError(_("A phone number has digits only."))
        return phone

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        number = normalise(str(data.get("id_number") or ""))
        data["id_number"] = number
        if data.get("id_type") == Resident.IdType.MAINLAND_ID and not is_valid_mainland_id(number):
            self.add_error(
                "id_number",
                _("Not a valid resident identity card number: 18 characters and the check digit."),
            )
        move_in, move_out = data.get("move_in"), data.get("move_out")
        if move_in and move_out and move_out < move_in:
            self.add_error("move_out", _("The move-out date is before the move-in date."))
        return data

    def save(self, commit: bool = True) -> Resident:
        resident = super().save(commit=False)
        resident.id_number = self.cleaned_data["id_number"]
        resident.phone = self.cleaned_data["phone"]
        if commit:
            resident.save()
        return resident


class DocumentCheckForm(forms.ModelForm[DocumentCheck]):
    """Which documents the clerk saw."""

    documents = forms.MultipleChoiceField(
        label=_("documents checked"),
        choices=DocumentCheck.Document.choices,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = DocumentCheck
        fields = ["documents", "note"]


class ChangeRequestForm(forms.ModelForm[ChangeRequest]):
    """A change someone asked for."""

    class Meta:
        model = ChangeRequest
        fields = ["kind", "description", "asked_by"]


class RevealForm(forms.Form):
    """The reason a reveal needs."""

    reason = forms.CharField(label=_("reason"), min_length=4, max_length=200)
