"""The cards app."""

from __future__ import annotations

from django.apps import AppConfig


class CardsConfig(AppConfig):
    """Card records (site-key hashes only), card changes and their delivery to each gate."""

    name = "agent.office.web.cards"
    label = "cards"
    default_auto_field = "django.db.models.BigAutoField"
