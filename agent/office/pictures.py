"""``gate-office cmd picture --picture ID --incident CASE``: one plate picture from a gate,
asked for an incident (issue 22 item 7), kept in the office's folder with the incident's
id in its name (``--out``, default the current folder), owner-only."""

from __future__ import annotations

import argparse
import base64
import binascii
import os
import uuid
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agent.errors import ConfigError
from agent.models.pictures import PictureRequest
from agent.models.problems import error_list
from agent.office import options
from agent.office.answers import NoAnswer, refused
from agent.office.presence import online_status, site_statuses
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


def picture_data(gate: str, ack: dict[str, Any]) -> bytes:
    """The JPEG an ok ack carries; ConfigError when it is anything else."""
    result = ack.get("result") or {}
    try:
        data = base64.b64decode(str(result.get("data", "")), validate=True)
    except (binascii.Error, ValueError):
        data = b""
    if not data.startswith(JPEG) or len(data) > MAX_PICTURE:
        raise ConfigError(f"gate {gate} answered with something that is not a JPEG picture")
    return data


def fetch_picture(args: argparse.Namespace, picture: str, incident: str) -> bytes:
    """Ask the gate of ``args`` for one picture for ``incident`` (the web's way in): the
    JPEG, or a GateError (offline, no answer, refused) or ConfigError, each one line."""
    request_id = uuid.uuid4().hex
    body = picture_body(argparse.Namespace(picture=picture, incident=incident), request_id)
    topics = options.topics(args)
    with options.link(args, [site_statuses(topics), topics.cmd_ack]) as link:
        online_status(link, topics, "the picture")
        link.send(topics.cmd("picture"), body)
        ack = link.expect(topics.cmd_ack, lambda m: m.get("request_id") == request_id,
                          args.timeout)  # fmt: skip
    name = f"{topics.site}/{topics.gate}"
    if ack is None:
        raise NoAnswer(f"gate {name} is online but sent no answer in {args.timeout:g} s")
    if not ack.get("ok"):
        raise refused(ack)
    return picture_data(name, ack)


def save_picture(args: argparse.Namespace, gate: str, ack: dict[str, Any]) -> str:
    """Keep the picture an ok ack carries; what was done, in words."""
    data = picture_data(gate, ack)
    folder = Path(args.out or ".")
    path = folder / f"incident-{args.incident}-picture-{args.picture}.jpg"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return f"ok: picture {args.picture} from gate {gate} for incident {args.incident}: {path}"
