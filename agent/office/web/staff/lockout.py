"""Per-account lockout: failed sign-ins lock that account only, never everyone at one address.

A counter on the account's profile, kept by Django's own sign-in signals; the backend
refuses a locked account even with the right password until the lock ends.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models import F
from django.utils import timezone

from agent.office.web.staff.models import StaffProfile


def locked_until(username: str, now: datetime) -> datetime | None:
    """When the account's lock ends, or None when it may sign in."""
    until = (
        StaffProfile.objects.filter(user__username=username, locked_until__gt=now)
        .values_list("locked_until", flat=True)
        .first()
    )
    return until


class LockoutBackend(ModelBackend):
    """Django's password check, refusing an account while it is locked."""

    def user_can_authenticate(self, user: User | AnonymousUser | None) -> bool:
        if not super().user_can_authenticate(user) or user is None:
            return False
        return locked_until(user.get_username(), timezone.now()) is None


def _failed(sender: object, credentials: dict[str, Any], **kwargs: Any) -> None:
    username = credentials.get("username")
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        return  # no account, nothing to lock (and nothing shared to lock instead)
    profile, _ = StaffProfile.objects.get_or_create(user=user)
    StaffProfile.objects.filter(pk=profile.pk).update(failed_sign_ins=F("failed_sign_ins") + 1)
    profile.refresh_from_db()
    if profile.failed_sign_ins >= settings.GATE_OFFICE_LOCKOUT_FAILURES:
        seconds = settings.GATE_OFFICE_LOCKOUT_SECONDS
        StaffProfile.objects.filter(pk=profile.pk).update(
            failed_sign_ins=0, locked_until=timezone.now() + timedelta(seconds=seconds)
        )


def _signed_in(sender: object, user: AbstractBaseUser, **kwargs: Any) -> None:
    StaffProfile.objects.update_or_create(
        user=user, defaults={"failed_sign_ins": 0, "locked_until": None}
    )


def connect() -> None:
    """Hook the counter to the signals (the app's ``ready``)."""
    user_login_failed.connect(_failed, dispatch_uid="gate-office-lockout-failed")
    user_logged_in.connect(_signed_in, dispatch_uid="gate-office-lockout-reset")
