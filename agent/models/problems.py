"""Validation errors as people read them: (key path, message) pairs."""

from __future__ import annotations

import re

from pydantic import ValidationError

_NAMED = re.compile(r"^([a-z_]+(?:\.[a-z0-9_]+)+): (.+)$")


def error_list(exc: ValidationError) -> list[tuple[str, str]]:
    """One pair per problem; a whole-file check's lines each keep their own path."""
    out = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"]) or "(top level)"
        for line in err["msg"].removeprefix("Value error, ").splitlines():
            # a whole-file check names its key path first: "doors.0.relay: ..."
            named = _NAMED.match(line) if path == "(top level)" else None
            out.append((named[1], named[2]) if named else (path, line))
    return out
