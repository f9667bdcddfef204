"""Forms of the staff pages: a new account, its role, a password a manager sets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms
from django.contrib.auth.forms import SetPasswordForm, UserCreationForm
from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy as _

from agent.office.web.staff.models import LANGUAGE_CHOICES
from agent.office.web.staff.roles import (
    AUDITOR,
    CASE_OFFICER,
    CLERK,
    GUARD_SUPERVISOR,
    MANAGER,
)

if TYPE_CHECKING:  # generic in django-stubs only
    _Creation = UserCreationForm[User]
    _SetPassword = SetPasswordForm[User]
else:
    _Creation, _SetPassword = UserCreationForm, SetPasswordForm

ROLE_CHOICES = [
    (MANAGER, _("manager")),
    (CLERK, _("clerk")),
    (GUARD_SUPERVISOR, _("guard supervisor")),
    (AUDITOR, _("auditor")),
    (CASE_OFFICER, _("case officer")),
]


class NewStaffForm(_Creation):
    """Username and password (Django's validators), a role and a language."""

    role = forms.ChoiceField(label=_("role"), choices=ROLE_CHOICES)
    language = forms.ChoiceField(label=_("language"), choices=LANGUAGE_CHOICES)


class RoleForm(forms.Form):
    """The one role an account has."""

    role = forms.ChoiceField(label=_("role"), choices=ROLE_CHOICES)


class ResetPasswordForm(_SetPassword):
    """A password a manager gives; the person must choose their own at the next sign-in."""
