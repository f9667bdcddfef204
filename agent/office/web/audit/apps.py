"""The audit app."""

from __future__ import annotations

from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The hash-chained audit log."""

    name = "agent.office.web.audit"
    label = "audit"
    default_auto_field = "django.db.models.BigAutoField"
