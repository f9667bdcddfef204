"""The guards app."""

from __future__ import annotations

from django.apps import AppConfig


class GuardsConfig(AppConfig):
    """Guard console accounts and their pushes to the gates."""

    name = "agent.office.web.guards"
    label = "guards"
    default_auto_field = "django.db.models.BigAutoField"
