"""The staff app."""

from __future__ import annotations

from django.apps import AppConfig


class StaffConfig(AppConfig):
    """Connects the lockout counter to Django's sign-in signals."""

    name = "agent.office.web.staff"
    label = "staff"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from agent.office.web.staff import lockout

        lockout.connect()
