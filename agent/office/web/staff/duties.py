"""What a signed-in person must do before anything else: change a password a manager reset,
and (where the site requires it) a manager's enrolment of a second factor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect

from agent.office.web.staff import totp
from agent.office.web.staff.models import StaffProfile
from agent.office.web.staff.roles import MANAGER

ALWAYS_OPEN = {"logout", "language", "login", "signin_code"}


class StaffDutiesMiddleware:
    """Sends the person to the password or second-factor page until it is done."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponseBase | None:
        user = request.user
        match = request.resolver_match
        name = match.url_name if match else None
        if not user.is_authenticated or name in ALWAYS_OPEN:
            return None
        must_change = StaffProfile.objects.filter(user=user, must_change_password=True).exists()
        if must_change:
            return None if name == "password_change" else redirect("password_change")
        if (
            settings.GATE_OFFICE_MANAGER_TOTP
            and name != "totp_enrol"
            and user.groups.filter(name=MANAGER).exists()
            and not totp.enrolled(user)
        ):
            return redirect("totp_enrol")
        return None
