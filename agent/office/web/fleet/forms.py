"""The event filters: every field optional; times typed in the site's zone."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from agent.core.kinds import EventType
from agent.office.web.fleet.unitfield import UnitField


def _local_input() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class EventFilterForm(forms.Form):
    """What the event view narrows to; the unit filter only for those who see units."""

    gate = forms.ChoiceField(label=_("gate"), required=False)
    door = forms.SlugField(label=_("door"), required=False, max_length=32)
    holder = forms.CharField(label=_("holder id"), required=False, max_length=64)
    unit = UnitField(label=_("unit"), required=False)
    type = forms.MultipleChoiceField(
        label=_("event type"),
        required=False,
        choices=[(t.value, t.value) for t in EventType],
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    since = forms.DateTimeField(label=_("from"), required=False, widget=_local_input())
    until = forms.DateTimeField(label=_("until"), required=False, widget=_local_input())

    def __init__(self, *args: Any, gates: list[tuple[str, str]], units: bool, **kwargs: Any):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["gate"]).choices = [("", _("every gate"))] + [
            (f"{s}/{g}", f"{s}/{g}") for s, g in gates
        ]
        if not units:
            del self.fields["unit"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and until <= since:
            self.add_error("until", _("The end of the range is not after its start."))
        return data
