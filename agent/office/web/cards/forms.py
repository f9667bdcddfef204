"""The card forms: the number from the desk reader is hashed in ``clean`` and never kept,
never shown again; a bad, duplicate or taken card is told beside the field."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agent.errors import CardFormatError, ConfigError
from agent.office import pins
from agent.office.web.cards import secure_desk
from agent.office.web.cards.hashing import card_identity
from agent.office.web.cards.models import Card
from agent.office.web.register.models import Resident

SECURE_PROBLEMS = {
    "not_blank": _("This card is not a blank secure card: use a new one."),
    "torn": _("The card left the reader before it was ready: use a new one."),
    "no_uid": _("A secure card is read on the reader by its UID."),
    "no_key": _("Secure cards cannot be made: the site master key cannot be read."),
}
READER_PROBLEMS = {
    "none": _("No card on the desk reader: hold it there and press read again."),
    "broken": _("The desk reader cannot be used: check its cable, or type the number."),
}


class CardNumberInput(forms.TextInput):
    """The field a keyboard-wedge reader types into: focused, never refilled with the number."""

    def __init__(self) -> None:
        super().__init__(attrs={"autofocus": True, "autocomplete": "off", "spellcheck": "false"})

    def format_value(self, value: Any) -> str | None:
        return None


class IssueCardForm(forms.Form):
    """A card for a resident: its number (reader or typed) and, for a temporary card, an end."""

    kind = forms.ChoiceField(
        label=_("kind"),
        choices=Card.Kind.choices,
        required=False,
        help_text=_("A secure card is made on the desk reader before it is issued."),
    )
    card_number = forms.CharField(
        label=_("card number"),
        max_length=64,
        widget=CardNumberInput(),
        help_text=_("Hold the card on the desk reader, or type its number."),
    )
    valid_until = forms.DateField(
        label=_("valid until (temporary card)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, resident: Resident, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.resident = resident
        self.credential = self.masked = ""
        if not secure_desk.available():
            del self.fields["kind"]

    def clean_card_number(self) -> str:
        reader = str(self.data.get("reader", ""))
        if reader:  # the NFC desk reader was asked and gave no card
            raise forms.ValidationError(READER_PROBLEMS.get(reader, READER_PROBLEMS["broken"]))
        try:
            self.credential, self.masked = card_identity(str(self.cleaned_data["card_number"]))
        except CardFormatError:
            raise forms.ValidationError(
                _("Not a card number a reader gives (e.g. 04A224B2C15E80 or uid:04A224B2)."),
                code="format",
            ) from None
        except ConfigError:
            raise forms.ValidationError(
                _("Cards cannot be issued: the workplace has no site key (--site-key)."),
                code="no_key",
            ) from None
        holder = (
            Card.objects.filter(credential=self.credential, status=Card.Status.ISSUED)
            .select_related("resident__household__unit")
            .first()
        )
        if holder is not None:
            raise self.taken(holder)
        kind = self.cleaned_data.get("kind") or Card.Kind.PLAIN
        if kind != Card.Kind.PLAIN:
            try:
                secure_desk.provision(kind, str(self.cleaned_data["card_number"]))
            except secure_desk.ProvisionFailed as failed:
                raise forms.ValidationError(
                    SECURE_PROBLEMS[failed.code], code=failed.code
                ) from None
        return self.masked  # the raw number goes no further than this method

    def taken(self, holder: Card) -> forms.ValidationError:
        """The message for a card issued already, to this resident or to someone else."""
        if holder.resident_id == self.resident.pk:
            return forms.ValidationError(
                _("This card is already issued to this resident."), code="duplicate"
            )
        return forms.ValidationError(
            _("This card is already issued to another resident (%(unit)s)."),
            code="taken",
            params={"unit": holder.resident.household.unit},
        )

    def clean_valid_until(self) -> date | None:
        until: date | None = self.cleaned_data["valid_until"]
        if until is not None and until < timezone.localdate():
            raise forms.ValidationError(_("The end date of a temporary card cannot be past."))
        return until


class ReissueForm(IssueCardForm):
    """A new card for a lost or damaged one."""

    reason = forms.ChoiceField(
        label=_("why"),
        choices=[("lost", _("the card was lost")), ("damaged", _("the card is damaged"))],
    )


class EndCardForm(forms.Form):
    """A card reported lost, handed back or revoked."""

    status = forms.ChoiceField(
        choices=[
            (Card.Status.LOST.value, _("report lost")),
            (Card.Status.RETURNED.value, _("returned")),
            (Card.Status.REVOKED.value, _("revoke")),
        ]
    )


class PinInput(forms.PasswordInput):
    """A PIN field: digits on a phone's keypad, never refilled, never remembered."""

    def __init__(self) -> None:
        super().__init__(attrs={"autocomplete": "new-password", "inputmode": "numeric"})


# agent.office.pins says why a PIN is refused: in the page's language here, the same
# rule as `gate-office pin hash`
PIN_PROBLEMS = {
    pins.NOT_DIGITS: _("A PIN is digits only."),
    pins.WRONG_LENGTH: _("A PIN has 4 to 12 digits."),
    pins.TOO_EASY: _("One digit repeated or a straight run (1111, 1234) is too easy to guess."),
}


class PinForm(forms.Form):
    """The resident's PIN for card plus PIN doors, typed twice; only its hash is kept."""

    pin = forms.CharField(label=_("PIN"), widget=PinInput(), strip=False)
    again = forms.CharField(label=_("PIN again"), widget=PinInput(), strip=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        pin, again = data.get("pin"), data.get("again")
        if pin is None:
            return data
        if (problem := pins.pin_problem(pin)) is not None:
            self.add_error("pin", PIN_PROBLEMS[problem])
        elif again is not None and again != pin:
            self.add_error("again", _("The two PINs differ."))
        return data
