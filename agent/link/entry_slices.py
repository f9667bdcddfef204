"""A message's long entry list validated a slice at a time, with a call between slices."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from agent.errors import Rejected
from agent.models.wire import AllowListEntry

SLICE = 50  # entries validated per call: ~0.1 ms, so the core thread is never kept waiting
_ENTRIES: TypeAdapter[list[AllowListEntry]] = TypeAdapter(list[AllowListEntry])
M = TypeVar("M", bound=BaseModel)


def go_on() -> None:
    return None


def validation_errors(exc: ValidationError) -> list[tuple[str, str]]:
    """(path, message) for each of a pydantic error's problems."""
    return [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]


def validate_in_slices(
    model: type[M], body: object, field: str, between: Callable[[], object] = go_on
) -> M:
    """``model.model_validate(body)``, but the long entry list in slices, ``between``
    called before each (the gate's give-way).

    pydantic validates a list in one call that holds the GIL; for 5,000 entries that
    is 15 ms in which no card could be decided.
    """
    if not isinstance(body, dict) or not isinstance(body.get(field), list):
        return model.model_validate(body)
    items: list[Any] = body[field]
    header = model.model_validate({**body, field: []})
    limit = model.model_fields[field].metadata
    max_items = next((m.max_length for m in limit if hasattr(m, "max_length")), None)
    if max_items is not None and len(items) > max_items:
        raise Rejected("invalid message", [(field, f"at most {max_items} entries")])
    entries: list[AllowListEntry] = []
    errors: list[tuple[str, str]] = []
    for start in range(0, len(items), SLICE):
        between()
        try:
            entries += _ENTRIES.validate_python(items[start : start + SLICE])
        except ValidationError as exc:
            for err in exc.errors():
                index, *rest = err["loc"]
                path = ".".join(str(p) for p in (field, start + int(index), *rest))
                errors.append((path, err["msg"]))
    if errors:
        raise Rejected("invalid message", errors)
    return header.model_copy(update={field: entries})
