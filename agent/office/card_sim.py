"""The ``sim`` desk reader: one software secure card kept in a JSON state file.

A rehearsal of the desk ceremony without hardware: ``card provision --reader sim``
makes a blank card (a random 7-byte NXP UID) when the file does not exist yet, runs
the real provisioning APDUs against it, and saves what the card then holds, so
``card read --reader sim`` reads the same card back. The file holds the card's keys
(as a real card does): it is written 0600 and is for rehearsals only.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from agent.errors import ConfigError
from drivers.secure.softcard import Application, SoftDesfire, StdFile
from drivers.secure.softcard_ntag import SoftNtag424

SoftCard = SoftDesfire | SoftNtag424


def blank(kind: str) -> SoftCard:
    """A factory-fresh card of ``kind`` with a random NXP UID (first byte 04)."""
    uid = b"\x04" + secrets.token_bytes(6)
    return SoftDesfire(uid) if kind == "desfire" else SoftNtag424(uid)


def _app(app: Application) -> dict[str, Any]:
    files = {
        str(no): {"data": f.data.hex(), "mode": f.mode, "read": f.read_key, "write": f.write_key}
        for no, f in app.files.items()
    }
    return {"keys": [k.hex() for k in app.keys], "files": files, "type": app.key_type}


def _app_of(data: dict[str, Any]) -> Application:
    files = {
        int(no): StdFile(bytearray.fromhex(f["data"]), f["mode"], f["read"], f["write"])
        for no, f in data["files"].items()
    }
    keys = [bytes.fromhex(k) for k in data["keys"]]
    return Application(keys, files, key_type=data.get("type", "aes"))


def dump(card: SoftCard) -> dict[str, Any]:
    """The card's state as JSON-ready data."""
    if isinstance(card, SoftNtag424):
        return {
            "kind": "ntag424",
            "uid": card.uid.hex(),
            "keys": [k.hex() for k in card.ndef_app.keys],
            "counter": card.counter,
            "ndef": card.file.hex(),
            "settings": card.settings.hex(),
        }
    apps = {aid.hex(): _app(app) for aid, app in card.apps.items()}
    return {
        "kind": "desfire",
        "uid": card.uid.hex(),
        "picc": _app(card.picc),
        "picc_settings": card.picc_settings,
        "apps": apps,
    }


def load_state(data: dict[str, Any]) -> SoftCard:
    """Inverse of ``dump``."""
    uid = bytes.fromhex(data["uid"])
    if data["kind"] == "ntag424":
        keys = [bytes.fromhex(k) for k in data["keys"]]
        ndef, settings = bytes.fromhex(data["ndef"]), bytes.fromhex(data["settings"])
        return SoftNtag424(uid, keys=keys, counter=data["counter"], ndef=ndef, settings=settings)
    card = SoftDesfire(uid, picc_settings=data["picc_settings"], picc=_app_of(data["picc"]))
    card.apps = {bytes.fromhex(aid): _app_of(app) for aid, app in data["apps"].items()}
    return card


def open_card(path: Path, kind: str | None) -> SoftCard:
    """The card in ``path``; a new blank ``kind`` when there is none (``kind`` None: refuse)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        if kind is None:
            raise ConfigError(f"no sim card in {path}: provision one first") from None
        return blank(kind)
    try:
        card = load_state(json.loads(text))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ConfigError(f"{path} is not a sim card's state") from None
    return card


def save_card(path: Path, card: SoftCard) -> None:
    """Write the card's state (0600), replacing the file in one rename."""
    part = path.with_name(path.name + ".part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(dump(card), out)
    os.replace(part, path)
