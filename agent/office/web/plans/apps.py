"""The plans app."""

from __future__ import annotations

from django.apps import AppConfig


class PlansConfig(AppConfig):
    """Emergency plans per scenario, drills against an approved version, their reports."""

    name = "agent.office.web.plans"
    label = "plans"
    default_auto_field = "django.db.models.BigAutoField"
