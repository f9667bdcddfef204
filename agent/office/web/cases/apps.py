"""The cases app."""

from __future__ import annotations

from django.apps import AppConfig


class CasesConfig(AppConfig):
    """Complaints, behaviour cases and incidents, each with its timeline."""

    name = "agent.office.web.cases"
    label = "cases"
    default_auto_field = "django.db.models.BigAutoField"
