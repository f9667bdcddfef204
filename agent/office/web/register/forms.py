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
from agent.office.web.register.phones import normalise_phone


def clean_phone_field(typed: str) -> str:
    """The normalised phone number, "" for none; a message for anything else."""
    if not typed.strip():
        return ""
    phone = normalise_phone(typed)
    if phone is None:
        raise forms.ValidationError(_("A phone number has digits only."))
    return phone


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
        return clean_phone_field(str(self.cleaned_data["phone"]))

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


class CorrectionForm(ResidentForm):
    """A manager's correction of a typing mistake; empty number fields keep what is held."""

    id_number = forms.CharField(
        label=_("ID number"),
        max_length=40,
        required=False,
        help_text=_("Leave empty to keep the number on record."),
    )
    phone = forms.CharField(
        label=_("phone"),
        max_length=20,
        required=False,
        help_text=_("Leave empty to keep the number on record."),
    )
    reason = forms.CharField(label=_("reason for the correction"), min_length=4, max_length=200)

    def clean_phone(self) -> str:
        typed = str(self.cleaned_data["phone"])
        return clean_phone_field(typed) if typed.strip() else self.instance.phone

    def clean(self) -> dict[str, Any]:
        if not str(self.cleaned_data.get("id_number") or "").strip():
            self.cleaned_data["id_number"] = self.instance.id_number
        return super().clean()


class SearchForm(forms.Form):
    """One box: a unit, a name, a phone number, or a key another app searches (a card)."""

    q = forms.CharField(label=_("unit, name, card, plate or phone"), max_length=100)


class ExportForm(forms.Form):
    """A data-subject export: why, and as what."""

    reason = forms.CharField(label=_("reason"), min_length=4, max_length=200)
    output = forms.ChoiceField(
        label=_("export as"),
        choices=[("html", _("printable page")), ("json", _("JSON file"))],
        initial="html",
    )
