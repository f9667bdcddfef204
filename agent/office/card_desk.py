"""``gate-office card keygen | provision | read``: secure cards at the office desk (issue 20).

The site master key file is the office's key-file format: hex on one line, 0600,
never overwritten; 32 hex digits (16 bytes, AES-128). Provisioning prints what the
register needs to issue the card as usual: the UID hashed with the site key (the
allow-list's credential), its masked number, the credential id. Never the full UID,
never a key.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from agent.errors import ConfigError, FatalError, GateError
from agent.office.answers import OK, show
from agent.office.card_sim import open_card, save_card
from agent.store.credentials import CredentialHasher, read_key_file
from drivers.cards import CardNumber, mask
from drivers.secure.base import CardGone, CardTransport, SecureFailure
from drivers.secure.ev2 import ProtocolViolation
from drivers.secure.hostile import ManualClock, Tearing
from drivers.secure.keys import SiteKeys
from drivers.secure.provision import provision_desfire, provision_ntag424
from drivers.secure.session import read_secure

MASTER_KEY_BYTES = 16


class CardDeskError(GateError):
    """The desk could not provision or read the card (one line for the clerk)."""


def cmd_card_keygen(args: argparse.Namespace) -> int:
    """A new site master key file: 16 random bytes as hex, 0600, never overwritten."""
    try:
        fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise GateError(f"{args.out} exists; refusing to overwrite a site master key") from None
    except OSError as exc:
        raise ConfigError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_hex(MASTER_KEY_BYTES) + "\n")
    text = f"site master key written to {args.out} (see docs/secure-cards.md: the key ceremony)"
    show({"key_file": args.out}, args.json, text)
    return OK


def _key_file(path: str | None, what: str, size: int | None) -> bytes:
    if not path:
        raise ConfigError(f"no {what} file given")
    try:
        key = read_key_file(Path(path))
    except FatalError as exc:
        raise ConfigError(f"{what}: {exc}") from None
    if size is not None and len(key) != size:
        raise ConfigError(f"{what} {path} must hold {2 * size} hex digits ({size} bytes)")
    return key


def site_keys(args: argparse.Namespace) -> SiteKeys:
    """The site's secure-card keys from ``--site-master-key`` and ``--aid``."""
    master = _key_file(args.site_master_key, "site master key", MASTER_KEY_BYTES)
    try:
        aid = bytes.fromhex(args.aid)
        keys = SiteKeys(master, aid=aid)
    except ValueError:
        raise ConfigError("--aid is 6 hex digits (3 bytes)") from None
    if args.reader == "sim":  # sim cards carry no NXP originality signature
        return dataclasses.replace(keys, originality_key=b"")
    return keys


class NfcTransport:
    """APDUs through nfcpy's ISO-DEP (``Type4Tag.transceive``); any fault is ``CardGone``."""

    def __init__(self, tag: Any) -> None:
        self.tag = tag

    def exchange(self, apdu: bytes) -> bytes:
        """One APDU; the card leaving (or any RF fault) is ``CardGone``."""
        try:
            return bytes(self.tag.transceive(apdu))
        except Exception as exc:  # nfcpy raises its own errors for a lost card
            raise CardGone(f"the card left the reader ({type(exc).__name__})") from None


def senses_only(device: object) -> bool:
    """An ACR122U (nfcpy's ``acr122`` driver): it senses cards, but its firmware cannot
    carry a secure card's APDUs (a gate's reader is checked the same way:
    agent/models/secure.py)."""
    import nfc.clf.acr122

    return isinstance(device, nfc.clf.acr122.Device)


@contextmanager
def _nfc_card(device: str, wait_s: float) -> Iterator[CardTransport]:
    import nfc
    import nfc.clf
    import nfc.tag

    try:
        frontend = nfc.ContactlessFrontend(device)
    except (OSError, ValueError) as exc:
        raise CardDeskError(f"no reader found at {device}: {exc}") from None
    try:
        if senses_only(frontend.device):  # refused before a half-written card, not after
            raise CardDeskError(
                f"the reader at {device} is an ACR122U, whose firmware cannot run a secure "
                "card's session: use a PN532 or PN533 (docs/hardware.md)"
            )
        deadline = time.monotonic() + wait_s
        target = None
        while target is None and time.monotonic() < deadline:
            target = frontend.sense(nfc.clf.RemoteTarget("106A"), iterations=1)
        if target is None:
            raise CardDeskError(f"no card on the reader within {wait_s:g} s")
        tag = nfc.tag.activate(frontend, target)
        if tag is None or not hasattr(tag, "transceive") or tag.type != "Type4Tag":
            raise CardDeskError("the card on the reader is not an ISO 14443-4 card")
        yield NfcTransport(tag)
    finally:
        frontend.close()


@contextmanager
def desk_card(args: argparse.Namespace, kind: str | None) -> Iterator[CardTransport]:
    """The card on the desk reader as a transport; a sim card is saved afterwards."""
    reader: str = args.reader
    if reader == "sim":
        path = Path(args.sim_card)
        card = open_card(path, kind)
        tear = args.sim_tear_after
        try:
            yield card if tear is None else Tearing(card, tear)
        finally:
            save_card(path, card)
    elif reader.startswith("nfc:") and len(reader) > 4:
        with _nfc_card(reader[4:], args.wait) as transport:
            yield transport
    else:
        raise ConfigError(f"unknown reader {reader!r}: sim or nfc:PATH (usb, tty:..., udp:...)")


def cmd_card_provision(args: argparse.Namespace) -> int:
    """Format a blank card as a site credential; print the register's hash and mask."""
    keys = site_keys(args)
    hasher = CredentialHasher(_key_file(args.site_key, "site key (--site-key)", None))
    credential_id = args.credential_id
    if args.kind == "ntag424" and credential_id:
        raise ConfigError("an NTAG 424 carries no credential id: the register keys it by UID")
    if args.kind == "desfire" and not credential_id:
        credential_id = secrets.token_hex(8)
    try:
        with desk_card(args, args.kind) as card:
            if args.kind == "desfire":
                uid = provision_desfire(card, keys, credential_id)
            else:
                uid = provision_ntag424(card, keys)
    except CardGone:
        raise CardDeskError(
            "card torn: it left the reader mid-way and is no credential: "
            "put it aside and start again on a new blank"
        ) from None
    except ProtocolViolation as exc:
        raise CardDeskError(f"the card is not a blank {args.kind}: {exc}") from None
    credential, masked = hasher.identify(CardNumber.from_uid(uid))
    answer = {"kind": args.kind, "credential": credential, "masked": masked}
    answer["credential_id"] = credential_id
    said = f" credential id {credential_id}" if credential_id else ""
    text = f"provisioned {args.kind} card {masked}{said}; register credential {credential}"
    show(answer, args.json, text)
    return OK


def cmd_card_read(args: argparse.Namespace) -> int:
    """Run the gate's session against the card on the desk reader; print its proof."""
    keys = site_keys(args)
    try:
        with desk_card(args, None) as card:
            uid, proof = read_secure(card, keys, ManualClock())
    except SecureFailure as failure:
        raise CardDeskError(f"{failure.reason}: the {failure.kind} session failed") from None
    masked = mask(CardNumber.from_uid(uid).canonical())
    answer: dict[str, object] = {"kind": proof.kind, "verdict": proof.verdict, "masked": masked}
    answer |= {"credential_id": proof.credential_id, "counter": proof.counter}
    said = f" credential id {proof.credential_id}" if proof.credential_id else ""
    counter = f" counter {proof.counter}" if proof.counter is not None else ""
    show(answer, args.json, f"{proof.verdict} {proof.kind} card {masked}{said}{counter}")
    return OK
