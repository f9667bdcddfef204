"""A unit typed as staff write it (``3-2-501``: building, entrance, room): a compound's
thousands of units make a poor drop-down on every page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from agent.office.web.register.models import Unit


class UnitField(forms.CharField):
    """Cleans to the ``Unit`` named (None when left empty); an unknown one is told beside it."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 100)
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("placeholder", "3-2-501")

    def clean(self, value: Any) -> Unit | None:
        text = str(super().clean(value) or "")
        if not text:
            return None
        parts = text.split("-")
        tries = []
        if len(parts) >= 3:  # building-entrance-room; a building name may hold a dash itself
            tries.append(("-".join(parts[:-2]), parts[-2], parts[-1]))
        if len(parts) >= 2:
            tries.append(("-".join(parts[:-1]), "", parts[-1]))
        for building, entrance, room in tries:
            found = Unit.objects.filter(building=building, entrance=entrance, room=room).first()
            if found is not None:
                return found
        raise forms.ValidationError(
            _("No unit %(unit)s in the register (building-entrance-room, e.g. 3-2-501)."),
            params={"unit": text},
        )
