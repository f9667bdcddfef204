"""The cards app."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.apps import AppConfig


class CardsConfig(AppConfig):
    """Card records (site-key hashes only), card changes and their delivery to each gate."""

    name = "agent.office.web.cards"
    label = "cards"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from agent.office.web.cards.search import by_card
        from agent.office.web.register.search import add_searcher
        from agent.office.web.register.signals import resident_moved_out

        resident_moved_out.connect(on_moved_out, dispatch_uid="cards.on_moved_out")
        add_searcher(by_card)


def on_moved_out(sender: Any, resident: Any, when: date, actor: str = "", **_: Any) -> None:
    """A move-out applied at the register: the resident's cards revoked now when the day has
    come, else sent to the gates again ending on that day (``gate_list``)."""
    from django.utils import timezone

    from agent.office.web.cards import lifecycle

    if when <= timezone.localdate():
        lifecycle.move_out_resident(resident, actor or "move-out")
    else:
        lifecycle.move_out_planned(resident, actor or "move-out")
