"""``{% card_alerts %}``: card changes still not applied at every gate, for the home page."""

from __future__ import annotations

from typing import Any

from django import template

from agent.office.web.cards import planning

register = template.Library()


@register.inclusion_tag("cards/alerts.html", takes_context=True)
def card_alerts(context: template.Context) -> dict[str, Any]:
    """The overdue deliveries, for staff who may see the cards."""
    user = context["request"].user
    shown = user.has_perm("cards.view_card")
    return {"overdue": list(planning.overdue()[:20]) if shown else []}
