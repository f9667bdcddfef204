"""The visitors app."""

from __future__ import annotations

from django.apps import AppConfig


class VisitorsConfig(AppConfig):
    """Visitor passes: pre-registered at the desk, signed with the office key, revocable."""

    name = "agent.office.web.visitors"
    label = "visitors"
    default_auto_field = "django.db.models.BigAutoField"
