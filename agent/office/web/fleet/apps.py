"""The fleet app."""

from __future__ import annotations

from django.apps import AppConfig


class FleetConfig(AppConfig):
    """The gates' state and their events, read from the event store (agent.office.db)."""

    name = "agent.office.web.fleet"
    label = "fleet"
    default_auto_field = "django.db.models.BigAutoField"
