"""The forms of abnormal behaviour cases: the case itself, a measure against a resident and
the report to the police. Times in the future are refused beside the field."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agent.office.web.cases.behaviour_models import BehaviourKind, Rung
from agent.office.web.cases.forms import ResidentsField, residents_of_unit
from agent.office.web.cases.models import Case
from agent.office.web.register.models import Resident

WHEN = forms.DateTimeInput(attrs={"type": "datetime-local"})


def not_in_future(when: datetime) -> datetime:
    """``when``, or a refusal when it is still to come."""
    if when > timezone.now():
        raise forms.ValidationError(_("This time is in the future."))
    return when


class BehaviourCaseForm(forms.ModelForm[Case]):
    """A behaviour case: the unit, the residents concerned, what happened and when, the owner."""

    behaviour = forms.ChoiceField(label=_("kind of behaviour"), choices=BehaviourKind.choices)
    occurred_at = forms.DateTimeField(label=_("when it happened"), widget=WHEN)
    residents = ResidentsField(
        queryset=Resident.objects.filter(move_out__isnull=True).select_related("household__unit"),
        label=_("residents concerned"),
    )
    owner = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("username"),
        label=_("person in charge"),
    )

    class Meta:
        model = Case
        fields = ["title", "unit", "residents", "behaviour", "occurred_at", "description", "owner"]

    def clean_occurred_at(self) -> datetime:
        return not_in_future(self.cleaned_data["occurred_at"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        residents_of_unit(self, data)
        return data


class ResidentField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """A resident of the case, by name (who may read the case may read the names)."""

    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


class MeasureForm(forms.Form):
    """A measure of the ladder (short of the police, which has its own form) against one of
    the case's residents."""

    resident = ResidentField(queryset=Resident.objects.none(), label=_("resident"))
    rung = forms.ChoiceField(label=_("measure"))
    at = forms.DateTimeField(label=_("when"), widget=WHEN)
    note = forms.CharField(label=_("note"), widget=forms.Textarea, required=False)

    def __init__(self, *args: Any, case: Case, ladder: Sequence[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["resident"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = case.residents.all()
        rung = self.fields["rung"]
        assert isinstance(rung, forms.ChoiceField)
        rung.choices = [(r, Rung(r).label) for r in ladder if r != Rung.POLICE]

    def clean_at(self) -> datetime:
        return not_in_future(self.cleaned_data["at"])


class PoliceForm(forms.Form):
    """The case reported to the police: when, the station, the officer, the report number."""

    reported_at = forms.DateTimeField(label=_("reported at"), widget=WHEN)
    station = forms.CharField(label=_("police station"), max_length=100)
    officer = forms.CharField(label=_("police officer"), max_length=100)
    number = forms.CharField(label=_("police report number"), max_length=50)

    def clean_reported_at(self) -> datetime:
        return not_in_future(self.cleaned_data["reported_at"])
