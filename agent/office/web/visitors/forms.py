"""The visitor pass form; doors are checked against the doors the chosen gates reported."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from agent.errors import CardFormatError, ConfigError
from agent.models.passes import MAX_LIFETIME, MAX_USES
from agent.office.web.cards.hashing import plate_identity
from agent.office.web.fleet.unitfield import UnitField

EVERY_GATE = "*"


def _local_input() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class IssueForm(forms.Form):
    """A visitor pre-registered for a host unit: which gates and doors, when, how often."""

    visitor_name = forms.CharField(label=_("visitor's name"), max_length=100)
    unit = UnitField(label=_("host unit"))
    gate = forms.ChoiceField(label=_("gate"))
    doors = forms.MultipleChoiceField(
        label=_("doors"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every door of the chosen gates."),
    )
    valid_from = forms.DateTimeField(label=_("valid from"), widget=_local_input())
    valid_until = forms.DateTimeField(label=_("valid until"), widget=_local_input())
    uses = forms.IntegerField(label=_("uses"), min_value=1, max_value=MAX_USES, initial=1)
    deliver = forms.BooleanField(
        label=_("Deliver to the gates now (the short code works there)"), required=False
    )
    plate = forms.CharField(
        label=_("car plate"),
        required=False,
        max_length=20,
        help_text=_("Optional: the gates' cameras let this car in with the pass (it is "
                    "delivered to the gates now)."),
    )  # fmt: skip

    def __init__(self, *args: Any, doors_of: dict[tuple[str, str], set[str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.doors_of = doors_of
        sites = sorted({site for site, _gate in doors_of})
        choices = [(f"{s}/{EVERY_GATE}", _("every gate of %(site)s") % {"site": s}) for s in sites]
        choices += [(f"{s}/{g}", f"{s}/{g}") for s, g in sorted(doors_of)]
        cast(forms.ChoiceField, self.fields["gate"]).choices = choices
        every_door = sorted(set().union(*doors_of.values())) if doors_of else []
        doors = cast(forms.MultipleChoiceField, self.fields["doors"])
        doors.choices = [(d, d) for d in every_door]

    def clean_plate(self) -> tuple[str, str] | None:
        """The plate's (HMAC, mask) as the gates compute them; the plate itself is not kept."""
        text = str(self.cleaned_data.get("plate") or "").strip()
        if not text:
            return None
        try:
            return plate_identity(text)
        except CardFormatError:
            raise forms.ValidationError(_("Not a licence plate (e.g. 京A12345)."),
                                        code="format") from None  # fmt: skip
        except ConfigError:
            raise forms.ValidationError(
                _("A plate cannot be added: the workplace has no site key (--site-key)."),
                code="no_key",
            ) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("valid_from"), data.get("valid_until")
        if start and end:
            data["valid_from"], data["valid_until"] = (
                start.replace(microsecond=0), end.replace(microsecond=0)
            )  # fmt: skip
            if end <= start:
                self.add_error("valid_until", _("The pass must end after it starts."))
            elif end - start > MAX_LIFETIME:
                limit = {"days": MAX_LIFETIME.days}
                self.add_error("valid_until", _("A pass lasts at most %(days)s days.") % limit)
        if data.get("gate"):
            self._check_doors(data)
        return data

    def _check_doors(self, data: dict[str, Any]) -> None:
        site, _sep, gate = str(data["gate"]).partition("/")
        chosen = [g for s, g in self.doors_of if s == site and gate in (EVERY_GATE, g)]
        unknown = [g for g in chosen if not self.doors_of[site, g]]
        if unknown and gate != EVERY_GATE:
            self.add_error("gate", _("The office does not know this gate's doors yet (it has "
                                     "sent no status): a pass cannot name its doors."))  # fmt: skip
            return
        have = set().union(*(self.doors_of[site, g] for g in chosen))
        missing = [d for d in data.get("doors") or [] if d not in have]
        if missing:
            where = (
                data["gate"] if gate != EVERY_GATE else _("any gate of %(site)s") % {"site": site}
            )
            self.add_error(
                "doors",
                _("No door %(doors)s at %(gate)s; it has %(have)s.")
                % {"doors": ", ".join(missing), "gate": where, "have": ", ".join(sorted(have))},
            )

    @property
    def site_and_gate(self) -> tuple[str, str]:
        """The chosen site, and the gate ("" for every gate of the site)."""
        site, _sep, gate = str(self.cleaned_data["gate"]).partition("/")
        return site, "" if gate == EVERY_GATE else gate


class RevokeForm(forms.Form):
    """Nothing to fill in: the button is the decision (CSRF still applies)."""
