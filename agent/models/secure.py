"""``[secure]``: the site master key that secure cards' keys are diversified from, and
how a secure card's proof is judged (issue 20). The card keys are never stored here."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from agent.core.secure import CredentialPolicy
from agent.models.base import Strict

if TYPE_CHECKING:
    from agent.models.config import GateConfig

# reader drivers that can run a card's key exchange; every other one delivers a number
SECURE_DRIVERS = frozenset({"nfc", "sim"})
# nfc devices: the ACR122U (USB 072f:2200) only senses cards, its firmware cannot carry a
# card session's APDUs (a PN532 or PN533 can); a usb path without vendor:product may be one
ACR122U = "usb:072f:2200"
_NAMED_USB = re.compile(r"^usb:[0-9a-f]{4}:[0-9a-f]{4}$")
_NFC_DEFAULT_DEVICE = "tty:serial0:pn532"  # drivers/nfc.py's default


class SecureConfig(Strict):
    """The site master key file (hex, like the credential key) and the proof's limits."""

    master_key_file: Path | None = None
    # the DESFire application: the office's provisioning writes the same default
    application_id: int = Field(0xA1C0DE, ge=1, le=0xFFFFFF)
    # a whole exchange slower than this is taken for a relay. A DESFire read is 7 round
    # trips, at least 33 ms on the air at 106 kbit/s (bench/secure_read.py), plus the
    # card's own work and the reader's host link: measure yours and lower it
    relay_budget_ms: float = Field(300.0, gt=0, le=2000)
    not_nxp: Literal["deny", "alarm"] = "deny"  # a card without NXP's signature
    alarm_every_s: float = Field(60.0, gt=0, le=86_400)  # clone alarms, per reader


def needs_secure(config: GateConfig) -> bool:
    """Whether any door asks for secure cards (and so the gate needs the master key)."""
    return any(d.credential is not CredentialPolicy.PLAIN for d in config.doors)


def can_carry_secure(driver: str, options: dict[str, object]) -> bool:
    """Whether a reader can deliver a secure card's proof: nfc (nfcpy) readers, which the
    gate speaks to the card through. OSDP readers deliver numbers here: transparent mode
    (osdp_XWR/XRD) would carry the APDUs, but libosdp 3.2 has no such command."""
    if driver == "nfc" and _nfc_device(options) == ACR122U:
        return False
    return driver in SECURE_DRIVERS


def _nfc_device(options: dict[str, object]) -> str:
    return str(options.get("device", _NFC_DEFAULT_DEVICE)).lower()


def _maybe_acr122u(driver: str, options: dict[str, object]) -> bool:
    """An nfc reader on a usb path that does not name the reader (``usb``, ``usb:072f``,
    ``usb:BUS:DEV``): the first one found may be an ACR122U."""
    device = _nfc_device(options)
    return driver == "nfc" and device.startswith("usb") and not _NAMED_USB.match(device)


def secure_problems(config: GateConfig) -> list[str]:
    """Config errors: a door asks for secure cards and no master key is named."""
    if needs_secure(config) and config.secure.master_key_file is None:
        return [
            "secure.master_key_file: a door requires secure cards "
            '(credential = "secure" or "secure_preferred"); name the site master key file'
        ]
    return []


def reader_warnings(config: GateConfig) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(errors, warnings) for readers of secure doors that cannot run a secure card's
    session: those that deliver only numbers, and ACR122U nfc readers."""
    errors: list[tuple[str, str]] = []
    warnings: list[tuple[str, str]] = []
    for i, door in enumerate(config.doors):
        if door.credential is CredentialPolicy.PLAIN:
            continue
        policy = f"door {door.id!r} has credential = {door.credential.value!r}"
        for j, reader in enumerate(door.readers):
            where = f"doors.{i}.readers.{j}"
            if _maybe_acr122u(reader.driver, reader.options):
                device = reader.options.get("device")
                unknown = (
                    f'the "nfc" reader\'s device "{device}" does not say which reader it '
                    f"opens, and {policy}: an ACR122U cannot run a secure card's session "
                    "(a PN532 or PN533 can); name the device, e.g. usb:04cc:2533 for a PN533"
                )
                warnings.append((where, unknown))
            if can_carry_secure(reader.driver, reader.options):
                continue
            if reader.driver == "nfc":
                text = (
                    f'the "nfc" reader at {ACR122U} is an ACR122U, whose firmware cannot run '
                    f"a secure card's session (a PN532 or PN533 can), but {policy}: "
                )
            else:
                text = f'the "{reader.driver}" reader delivers only card numbers, but {policy}: '
            if door.credential is CredentialPolicy.SECURE:
                errors.append((where, text + "every card is refused there"))
            else:
                warnings.append((where, text + "no card read there is ever secure"))
    return errors, warnings
