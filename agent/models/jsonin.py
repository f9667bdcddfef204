"""JSON from outside the gate, parsed so that no input can escape as a RecursionError."""

from __future__ import annotations

import json
from typing import Any

TOO_DEEP = "nested too deeply"


def loads_bounded(data: str | bytes, max_depth: int | None = None) -> Any:
    """``json.loads`` whose only error is ValueError; optionally refuse deep nesting."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise ValueError(TOO_DEEP) from None
    if max_depth is not None and _deeper_than(value, max_depth):
        raise ValueError(f"{TOO_DEEP} (more than {max_depth} levels)")
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False
