"""The register app."""

from __future__ import annotations

from django.apps import AppConfig


class RegisterConfig(AppConfig):
    """Units, households, residents (sealed ID and phone numbers), checks, changes."""

    name = "agent.office.web.register"
    label = "register"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # the built-in searchers (unit, name, phone) register before other apps add theirs
        from agent.office.web.register import search  # noqa: F401
