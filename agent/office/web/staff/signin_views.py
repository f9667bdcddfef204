"""Signing in with an optional TOTP code, and each person's own account page.

A password that is right for an enrolled account does not sign in yet: the account waits
in the session for its code. Wrong codes count toward the same per-account lockout as
wrong passwords (Django's ``user_login_failed`` signal, which ``lockout`` listens to).
"""

from __future__ import annotations

import time

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.contrib.auth.models import User
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import LoginView, PasswordChangeView
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from agent.office.web.staff import totp
from agent.office.web.staff.accounts import audit
from agent.office.web.staff.forms import SignInForm
from agent.office.web.staff.lockout import LockoutBackend, locked_until
from agent.office.web.staff.models import StaffProfile, TotpDevice

PENDING = "gate_office_totp_pending"  # (user id, next page, when the password was right)
PENDING_S = 300
BACKEND = f"{LockoutBackend.__module__}.{LockoutBackend.__name__}"


class CodeForm(forms.Form):
    """The six digits an authenticator app shows."""

    code = forms.CharField(
        label=gettext_lazy("Code from the authenticator app"),
        max_length=10,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class SignInView(LoginView):
    """Django's sign-in; an account with a second factor is asked for its code next."""

    authentication_form = SignInForm
    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        user = form.get_user()
        if not totp.enrolled(user):
            return super().form_valid(form)
        self.request.session[PENDING] = [user.pk, self.get_success_url(), time.time()]
        return redirect("signin_code")


def _pending(request: HttpRequest) -> tuple[User, str] | None:
    held = request.session.get(PENDING)
    if not held or time.time() - float(held[2]) > PENDING_S:
        return None
    user = User.objects.filter(pk=held[0], is_active=True).first()
    return (user, str(held[1])) if user is not None else None


def signin_code(request: HttpRequest) -> HttpResponseBase:
    """The second step: the code; a wrong one counts toward the account's lockout."""
    pending = _pending(request)
    if pending is None:
        request.session.pop(PENDING, None)
        return redirect("login")
    user, target = pending
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = TotpDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:  # reset by a manager meanwhile: start again
            request.session.pop(PENDING, None)
            return redirect("login")
        if locked_until(user.username, timezone.now()) is None and totp.accept(
            device, form.cleaned_data["code"]
        ):
            request.session.pop(PENDING, None)
            login(request, user, backend=BACKEND)
            return redirect(target)
        credentials = {"username": user.username}
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        if locked_until(user.username, timezone.now()) is not None:
            request.session.pop(PENDING, None)
            messages.error(request, SignInForm.error_messages["locked"])
            return redirect("login")
        form.add_error("code", _("Wrong code."))
    return render(request, "staff/code.html", {"form": form})


@login_required
def account(request: HttpRequest) -> HttpResponse:
    """The signed-in person's own account: password and second factor."""
    return render(request, "staff/account.html", {"totp": totp.enrolled(request.user)})


@login_required
def totp_enrol(request: HttpRequest) -> HttpResponseBase:
    """A QR code to scan, then a code from the app to confirm it."""
    user = request.user
    assert isinstance(user, User)
    if totp.enrolled(user):
        return redirect("account")
    device = totp.start_enrolment(user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if totp.accept(device, form.cleaned_data["code"]):
            audit(request, user, "second factor enrolled")
            messages.success(request, _("Second factor on: sign-ins now ask for a code."))
            return redirect("account")
        form.add_error("code", _("Wrong code."))
    uri = totp.provisioning_uri(device, user.username)
    context = {"form": form, "qr": totp.qr_data_uri(uri), "secret": totp.secret_text(device)}
    response = render(request, "staff/totp_enrol.html", context)
    response.headers["Cache-Control"] = "no-store"
    return response


class ChangePasswordView(PasswordChangeView):
    """Django's own password change; it also ends a reset password's "change it" mark."""

    template_name = "staff/password.html"
    success_url = reverse_lazy("account")

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        response = super().form_valid(form)
        user = form.user
        StaffProfile.objects.update_or_create(user=user, defaults={"must_change_password": False})
        messages.success(self.request, _("Password changed."))
        return response
