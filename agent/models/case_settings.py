"""``[workplace.cases]``: the kinds of case a site adds, working days to the due time per
kind, and the site's holidays (skipped when counting them)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from agent.models.base import Strict

BUILT_IN_KINDS = ("complaint", "behaviour", "incident")

# a kind's key as stored on the case (20 characters at most, like the column)
KindKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,19}$")]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]


class CaseKind(Strict):
    """A kind of case the site adds to complaint, behaviour and incident, named in both
    languages (``[[workplace.cases.kinds]]``)."""

    key: KindKey
    zh: Label
    en: Label


class CaseSettings(Strict):
    """``[workplace.cases]``; ``due_days`` may name built-in and added kinds alike."""

    kinds: list[CaseKind] = []
    due_days: dict[str, Annotated[int, Field(ge=1, le=60)]] = {}
    holidays: list[date] = []

    @model_validator(mode="after")
    def _known_kinds(self) -> CaseSettings:
        keys = [kind.key for kind in self.kinds]
        taken = [key for key in keys if key in BUILT_IN_KINDS or keys.count(key) > 1]
        if taken:
            raise ValueError(f"kind {taken[0]!r} is built in or named twice")
        unknown = sorted(set(self.due_days) - set(BUILT_IN_KINDS) - set(keys))
        if unknown:
            raise ValueError(f"due_days names {unknown[0]!r}, which is no kind")
        return self
