"""``gate-office cmd forgive --holder ID``: forgive a holder's anti-passback at a gate.

The gate records ``passback_forgiven`` with ``by: office:<user>`` and forgets where the
holder is, so their next tap is taken as it comes; a holder the gate never saw is
forgiven all the same (an event is recorded).
"""

from __future__ import annotations

import argparse
import getpass
from typing import Any

from pydantic import ValidationError

from agent.errors import ConfigError
from agent.models.occupancy import ForgiveCommand
from agent.models.problems import error_list


def office_user(args: argparse.Namespace) -> str:
    """Who asks: ``--by``, else the login name of whoever runs the command."""
    by = getattr(args, "by", None)
    if by:
        return str(by)
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name for this uid (a bare container)
        return "unknown"


def forgive_body(args: argparse.Namespace, request_id: str) -> dict[str, Any]:
    """The ``cmd/forgive`` body from the flags; ConfigError (one line) when they do not fit."""
    if not args.holder:
        raise ConfigError("cmd forgive needs --holder ID")
    try:
        command = ForgiveCommand(request_id=request_id, holder_id=args.holder,
                                 by=f"office:{office_user(args)}",
                                 reason=args.reason or "")  # fmt: skip
    except ValidationError as exc:
        path, why = error_list(exc)[0]
        flag = {"holder_id": "--holder", "by": "--by", "reason": "--reason"}.get(path, path)
        raise ConfigError(f"cmd forgive: {flag}: {why}") from None
    return command.model_dump(mode="json")


def forgive_ack_text(gate: str, ack: dict[str, Any]) -> str:
    """A forgive's ok ack in words."""
    result = ack.get("result") or {}
    was = result.get("was")
    where = f"was in {was}" if was else "not known to be in any area"
    return (f"ok: holder {result.get('holder_id')} forgiven at gate {gate} ({where}); "
            f"event seq {result.get('seq')}")  # fmt: skip
