"""The console's forms: urlencoded bodies parsed with limits, then validated by pydantic.

Everything a browser sends is outside input: a body over ``MAX_BODY`` bytes, a field
given twice, an unknown field or a value too long is refused with a message that
names the field, and nothing is recorded.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar
from urllib.parse import parse_qsl

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, ValidationError

from agent.errors import GateError
from agent.models.base import Strict
from agent.models.incidents import IncidentKind

MAX_BODY = 8 * 1024
MAX_FIELDS = 20
M = TypeVar("M", bound=BaseModel)


class FormError(GateError):
    """A form that cannot be taken; ``fields`` are (field, why) pairs for the page."""

    def __init__(self, message: str, fields: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or []


def _one_line(value: str) -> str:
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValueError("control characters are not allowed")
    return value


def _lines(value: str) -> str:
    # notes keep their line breaks; nothing else below space (no escape sequences)
    return _one_line(value.replace("\r\n", "\n").replace("\n", " ").replace("\t", " ")) and value


def _bounded(max_length: int, min_length: int = 0) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


OneLine = AfterValidator(_one_line)
Unit = Annotated[str, _bounded(32, 1), OneLine]
Purpose = Annotated[str, _bounded(200, 1), OneLine]
Line = Annotated[str, _bounded(80), OneLine]
Note = Annotated[str, _bounded(500, 1), AfterValidator(_lines)]
Notes = Annotated[str, _bounded(2000), AfterValidator(_lines)]
# a mainland plate starts with its province's character (issue 22): 京A12345
Plate = Annotated[str, StringConstraints(strip_whitespace=True, max_length=16,
                                         pattern=r"^[\u4e00-\u9fffA-Za-z0-9 ·.-]*$")]  # fmt: skip
HourMinute = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
DoorChoice = Annotated[str, StringConstraints(max_length=63)]
YesNo = Literal["yes", "no"]


def parse_body(body: bytes) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body as a dict; FormError if it is not one."""
    if len(body) > MAX_BODY:
        raise FormError(f"the form is over {MAX_BODY} bytes")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, strict_parsing=False,
            max_num_fields=MAX_FIELDS, errors="strict",
        )  # fmt: skip
    except (UnicodeDecodeError, ValueError):
        raise FormError("the form could not be read") from None
    out: dict[str, str] = {}
    for key, value in pairs:
        if key in out:
            raise FormError(f"the field {key[:40]!r} was sent twice")
        out[key] = value
    return out


def validate(model: type[M], fields: dict[str, str]) -> M:
    """``model`` from the fields (blank optional ones dropped); FormError names each problem."""
    data = {
        k: v for k, v in fields.items() if k != "csrf" and not (v == "" and _optional(model, k))
    }
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [(".".join(str(p) for p in e["loc"]) or "form", e["msg"]) for e in exc.errors()]
        raise FormError("please check the form", problems[:10]) from None


def _optional(model: type[BaseModel], name: str) -> bool:
    info = model.model_fields.get(name)
    return info is not None and not info.is_required()


class SignIn(Strict):
    guard_id: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class VisitorForm(Strict):
    """A visitor registered by a guard; ``open_door`` empty: the door stays shut."""

    host_unit: Unit
    purpose: Purpose
    party_size: int = Field(1, ge=1, le=50)
    plate: Plate = ""
    id_seen: YesNo
    name: Line | None = None
    open_door: DoorChoice = ""
    pending: int | None = Field(None, ge=1, description="the seq of the button press it completes")


class AlarmAck(Strict):
    alarm_seq: int = Field(ge=1)
    note: Note
    all: YesNo = "no"  # every open alarm, with this one note


class DoorOpen(Strict):
    door: Annotated[str, StringConstraints(min_length=1, max_length=63)]


class IncidentOpen(Strict):
    kind: IncidentKind
    police_called: YesNo = "no"
    police_called_at: HourMinute | None = None
    door: DoorChoice = ""
    notes: Notes = ""


class IncidentUpdate(Strict):
    status: Literal["open", "acknowledged"] = "open"
    police_called: YesNo = "no"
    police_called_at: HourMinute | None = None
    notes: Notes = ""


class IncidentClose(Strict):
    notes: Notes = ""


class PassCode(Strict):
    door: Annotated[str, StringConstraints(min_length=1, max_length=63)]
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1024)]
