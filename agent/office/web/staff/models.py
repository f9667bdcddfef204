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

    class Meta:
        permissions = [("manage_staff", "Manage staff accounts and roles")]

    def __str__(self) -> str:
        return f"profile of {self.user_id}"
