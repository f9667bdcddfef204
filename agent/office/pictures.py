"""``gate-office cmd picture --picture ID --incident CASE``: one plate picture from a gate,
asked for an incident (issue 22 item 7), kept in the office's folder with the incident's
id in its name (``--out``, default the current folder), owner-only."""

from __future__ import annotations

import argparse
import base64
import binascii
import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agent.errors import ConfigError
from agent.models.pictures import PictureRequest
from agent.models.problems import error_list
from agent.store.pictures import MAX_PICTURE

JPEG = b"\xff\xd8\xff"


def picture_body(args: argparse.Namespace, request_id: str) -> dict[str, Any]:
    """The ``cmd/picture`` body from the flags; ConfigError (one line) when they do not fit."""
    if not args.incident:
        raise ConfigError("cmd picture needs --incident CASE: a picture leaves a gate only "
                          "for an incident")  # fmt: skip
    if not args.picture:
        raise ConfigError("cmd picture needs --picture ID (the id a plate event names)")
    try:
        request = PictureRequest(request_id=request_id, picture=args.picture,
                                 incident=args.incident)  # fmt: skip
    except ValidationError as exc:
        path, why = error_list(exc)[0]
        raise ConfigError(f"cmd picture: --{path}: {why}") from None
    return request.model_dump(mode="json")


def save_picture(args: argparse.Namespace, gate: str, ack: dict[str, Any]) -> str:
    """Keep the picture an ok ack carries; what was done, in words."""
    result = ack.get("result") or {}
    try:
        data = base64.b64decode(str(result.get("data", "")), validate=True)
    except (binascii.Error, ValueError):
        data = b""
    if not data.startswith(JPEG) or len(data) > MAX_PICTURE:
        raise ConfigError(f"gate {gate} answered with something that is not a JPEG picture")
    folder = Path(args.out or ".")
    path = folder / f"incident-{args.incident}-picture-{args.picture}.jpg"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return f"ok: picture {args.picture} from gate {gate} for incident {args.incident}: {path}"
