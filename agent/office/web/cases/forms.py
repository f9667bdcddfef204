"""The complaint form (entered from the resident's paper form) and the step form."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agent.office.web.cases import flow
from agent.office.web.cases.models import STEP_LABELS, Case
from agent.office.web.register.models import Resident


class ResidentsField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    """Residents shown with their unit."""

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.household.unit})"


def residents_of_unit(form: forms.BaseForm, data: dict[str, Any]) -> None:
    """Refuse, beside the field, linked residents who do not live in the chosen unit."""
    unit = data.get("unit")
    if unit is not None and any(r.household.unit_id != unit.pk for r in data.get("residents", [])):
        form.add_error("residents", _("Only residents of the chosen unit can be linked."))


class ComplaintForm(forms.ModelForm[Case]):
    """A complaint as the resident wrote it on the complaint form."""

    owner = forms.ModelChoiceField(
        queryset=User.objects.order_by("username"), label=_("person in charge")
    )

    residents = ResidentsField(
        queryset=Resident.objects.filter(move_out__isnull=True).select_related("household__unit"),
        label=_("residents concerned"),
        required=False,
    )

    class Meta:
        model = Case
        fields = [
            "title",
            "resident_name",
            "unit",
            "residents",
            "description",
            "received_at",
            "owner",
        ]
        widgets = {"received_at": forms.DateTimeInput(attrs={"type": "datetime-local"})}

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not user.has_perm("register.view_resident"):  # names are the register's to show
            del self.fields["residents"]

    def clean_received_at(self) -> datetime:
        received: datetime = self.cleaned_data["received_at"]
        if received > timezone.now():
            raise forms.ValidationError(_("A complaint cannot be received in the future."))
        return received

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        residents_of_unit(self, data)
        return data

    def clean_owner(self) -> User:
        owner: User = self.cleaned_data["owner"]
        if not owner.is_active:
            raise forms.ValidationError(_("This account is disabled; choose another owner."))
        return owner


ACTION_LABELS = {k: label for k, label in STEP_LABELS.items() if k in flow.ACTIONS}


class StepForm(forms.Form):
    """One action on a case, with its note; the answer's fields when answering."""

    action = forms.ChoiceField(label=_("action"), choices=list(ACTION_LABELS.items()))
    note = forms.CharField(label=_("note"), widget=forms.Textarea, required=False)
    answer = forms.CharField(label=_("what was done"), widget=forms.Textarea, required=False)
    told_at = forms.DateTimeField(
        label=_("resident told at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    told_how = forms.CharField(label=_("how the resident was told"), required=False)

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.case = case

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        action = data.get("action")
        if action is None:
            return data
        try:
            data["state"] = flow.next_state(self.case.state, action)
        except flow.StepRefused:
            self.add_error(
                "action",
                _("“%(action)s” is not allowed while the case is “%(state)s”.")
                % {"action": ACTION_LABELS[action], "state": self.case.get_state_display()},
            )
            return data
        if action == "answer":
            for field in ("answer", "told_at", "told_how"):
                if not data.get(field):
                    self.add_error(field, _("The answer to the resident needs this."))
        return data
