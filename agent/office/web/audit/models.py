"""One audit entry; rows are only ever added (``chain.append``), never changed or deleted."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from agent.errors import GateError


class AppendOnlyError(GateError):
    """An attempt to change or delete an audit entry."""


class AuditEntry(models.Model):
    """Who did what to which record, when, why; chained to the entry before by its hash."""

    class Action(models.TextChoices):
        VIEW = "view", _("viewed a full record")
        REVEAL = "reveal", _("revealed ID and phone numbers")
        CHANGE = "change", _("changed the register")
        EXPORT = "export", _("exported a record")

    position = models.PositiveBigIntegerField(unique=True)
    at = models.DateTimeField(_("time"))
    actor = models.CharField(_("staff"), max_length=150)  # text: outlives the account
    # 40: room for the cases' actions (case.reassign, ...), not only the register's four
    action = models.CharField(_("action"), max_length=40, choices=Action.choices)
    target = models.CharField(_("record"), max_length=100)
    reason = models.TextField(_("reason"), blank=True)
    previous_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return f"audit {self.position}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("audit entries are never changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit entries are never deleted")
