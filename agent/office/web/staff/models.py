"""What the office keeps about a staff account beyond Django's user: language, lockout."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

LANGUAGE_CHOICES = [("zh-hans", "简体中文"), ("en", "English")]


class StaffProfile(models.Model):
    """One per account: the language the person reads, and the failed sign-ins so far."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile"
    )
    language = models.CharField(_("language"), max_length=10, choices=LANGUAGE_CHOICES, blank=True)
    failed_sign_ins = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    # set when a manager resets the password: the person chooses their own before anything else
    must_change_password = models.BooleanField(default=False)

    class Meta:
        permissions = [("manage_staff", "Manage staff accounts and roles")]

    def __str__(self) -> str:
        return f"profile of {self.user_id}"


class TotpDevice(models.Model):
    """A person's TOTP second factor (RFC 6238): the secret sealed with the field key,
    confirmed once a code from it was entered, and the last time step used (no replay)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="totp_device"
    )
    sealed_secret = models.TextField()
    confirmed = models.BooleanField(default=False)
    last_step = models.BigIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"totp of {self.user_id}"
