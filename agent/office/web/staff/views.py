"""Home, sign-in and language pages."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from agent.office.web.staff.forms import LanguageForm
from agent.office.web.staff.models import StaffProfile


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """What the signed-in person may open, by their role."""
    return render(request, "office/home.html")


@require_POST
def language(request: HttpRequest) -> HttpResponseBase:
    """Saves the language on the person's profile (and a cookie for the sign-in page)."""
    form = LanguageForm(request.POST)
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
        target = "/"
    response = redirect(target)
    if form.is_valid():
        chosen = form.cleaned_data["language"]
        if request.user.is_authenticated:
            StaffProfile.objects.update_or_create(user=request.user, defaults={"language": chosen})
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME, chosen, samesite="Lax", secure=request.is_secure()
        )
    return response
