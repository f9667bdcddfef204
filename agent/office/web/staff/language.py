"""Each person reads the office in the language of their profile; the site default otherwise."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from agent.office.web.staff.models import StaffProfile


def language_of(request: HttpRequest) -> str:
    """The signed-in person's language, else the cookie set on the sign-in page, else the site's."""
    user = request.user
    if user.is_authenticated:
        chosen = StaffProfile.objects.filter(user=user).values_list("language", flat=True).first()
        if chosen:
            return chosen
    cookie = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    if cookie in dict(settings.LANGUAGES):
        return cookie
    return str(settings.LANGUAGE_CODE)


class StaffLanguageMiddleware:
    """Activates the language for the request and says it in Content-Language."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = language_of(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response
