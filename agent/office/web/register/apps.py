"""The register app."""

from __future__ import annotations

from django.apps import AppConfig


class RegisterConfig(AppConfig):
    """Units, households, residents (sealed ID and phone numbers), checks, changes."""

    name = "agent.office.web.register"
    label = "register"
    default_auto_field = "django.db.models.BigAutoField"
