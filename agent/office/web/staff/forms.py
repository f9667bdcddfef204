"""The sign-in form: Django's, telling a locked account apart from a wrong password."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agent.office.web.staff.lockout import locked_until
from agent.office.web.staff.models import LANGUAGE_CHOICES


class SignInForm(AuthenticationForm):
    """Refuses a locked account with its own message (no password is checked then)."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("Wrong username or password."),
        "locked": _(
            "This account is locked after too many failed sign-ins. "
            "Try again later or ask a manager."
        ),
    }

    def clean(self) -> dict[str, object]:
        username = str(self.data.get("username") or "")
        if username and locked_until(username, timezone.now()) is not None:
            raise forms.ValidationError(self.error_messages["locked"], code="locked")
        return super().clean()


class LanguageForm(forms.Form):
    """The language a person reads the office in."""

    language = forms.ChoiceField(choices=LANGUAGE_CHOICES)
