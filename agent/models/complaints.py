"""A complaint a guard takes at the gate (``complaint_taken``): the unit as written and
what happened, nothing more. No resident's name or phone number is kept on the gate: the
office finds the resident in its register from the unit."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from agent.models.base import Strict

WHAT_MAX = 500
_PHONE = re.compile(r"\d{7,}")  # a run of 7 digits or more reads as a phone number


def _no_phone(value: str) -> str:
    if _PHONE.search(re.sub(r"[\s()+-]", "", value)):
        raise ValueError("no phone numbers: the office has them in its register")
    return value


def _one_line(value: str) -> str:
    if re.search(r"[\x00-\x1f\x7f]", value):
        raise ValueError("one line, no control characters")
    return value


class ComplaintTaken(Strict):
    """The details of a ``complaint_taken`` event, as the console records it."""

    complaint: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{10}$")] = Field(
        description="the complaint's id, made at the gate"
    )
    guard: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    unit: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32),
        AfterValidator(_one_line),
    ] = Field(description="the unit as the resident said it, e.g. 3-2-501")  # fmt: skip
    what: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=WHAT_MAX),
        AfterValidator(_no_phone),
    ] = Field(description="what happened, in the guard's words; no names or phone numbers")
