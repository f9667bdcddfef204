"""Guard console accounts as the office keeps them, and each push of them to the gates."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from agent.models.guards import GuardEntry

GUARD_ID = RegexValidator(
    r"^[a-z0-9][a-z0-9._-]{0,31}$",
    _("a-z, 0-9, dot, dash or underscore; 1 to 32 characters"),
)


class GuardAccount(models.Model):
    """One guard's console account: only the scrypt hash the gates verify, never a password."""

    guard_id = models.CharField(_("guard account"), max_length=32, unique=True,
                                validators=[GUARD_ID])  # fmt: skip
    display_name = models.CharField(_("name"), max_length=100)
    password_hash = models.CharField(max_length=200)
    active = models.BooleanField(_("active"), default=True)
    changed = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["guard_id"]
        permissions = [
            ("manage_guards", "Manage guard console accounts"),
            ("push_guards", "Send guard console accounts to the gates"),
        ]

    def __str__(self) -> str:
        return self.guard_id

    def entry(self) -> GuardEntry:
        """What a gate gets: a disabled account stays listed, so it is refused, not unknown."""
        return GuardEntry(
            guard_id=self.guard_id, password_hash=self.password_hash, disabled=not self.active
        )


class GuardPush(models.Model):
    """One push of the whole list: who, when, which version, and each gate's answer."""

    at = models.DateTimeField(auto_now_add=True)
    actor = models.CharField(max_length=150)  # text, like the audit log: outlives the account
    version = models.BigIntegerField()
    count = models.PositiveIntegerField()
    report = models.JSONField(default=list)  # [{"site", "gate", "ok", "version"|"error"}]

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"guard push {self.version}"
