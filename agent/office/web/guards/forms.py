"""Forms of the guard pages: a new account, a new password."""

from __future__ import annotations

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from agent.office.web.guards.models import GuardAccount

NEW_PASSWORD = forms.PasswordInput(attrs={"autocomplete": "new-password"})


class GuardPasswordForm(forms.Form):
    """A password typed twice, checked by the office's password rules (10 characters or more)."""

    password1 = forms.CharField(label=_("Password"), strip=False, widget=NEW_PASSWORD)
    password2 = forms.CharField(label=_("Password again"), strip=False, widget=NEW_PASSWORD)

    def clean_password2(self) -> str:
        first = self.cleaned_data.get("password1") or ""
        second: str = self.cleaned_data["password2"]
        if first != second:
            raise ValidationError(_("The two passwords differ."), code="mismatch")
        validate_password(second)
        return second


class NewGuardForm(GuardPasswordForm, forms.ModelForm[GuardAccount]):
    """The account name the guard signs in with, the name shown, and a first password."""

    class Meta:
        model = GuardAccount
        fields = ["guard_id", "display_name"]

    field_order = ["guard_id", "display_name", "password1", "password2"]
