"""``[secure]``: the site master key that secure cards' keys are diversified from, and
how a secure card's proof is judged (issue 20). The card keys are never stored here."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from agent.core.secure import CredentialPolicy
from agent.models.base import Strict

if TYPE_CHECKING:
    from agent.models.config import GateConfig

# reader drivers that can run a card's key exchange; every other one delivers a number
SECURE_DRIVERS = frozenset({"nfc", "sim"})


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
    del options  # no reader option changes it today
    return driver in SECURE_DRIVERS


def secure_problems(config: GateConfig) -> list[str]:
    """Config errors: a door asks for secure cards and no master key is named."""
    if needs_secure(config) and config.secure.master_key_file is None:
        return [
            "secure.master_key_file: a door requires secure cards "
            '(credential = "secure" or "secure_preferred"); name the site master key file'
        ]
    return []


def reader_warnings(config: GateConfig) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(errors, warnings) for readers of secure doors that can only deliver numbers."""
    errors: list[tuple[str, str]] = []
    warnings: list[tuple[str, str]] = []
    for i, door in enumerate(config.doors):
        if door.credential is CredentialPolicy.PLAIN:
            continue
        for j, reader in enumerate(door.readers):
            if can_carry_secure(reader.driver, reader.options):
                continue
            text = (
                f'the "{reader.driver}" reader delivers only card numbers, but door '
                f"{door.id!r} has credential = {door.credential.value!r}: "
            )
            if door.credential is CredentialPolicy.SECURE:
                errors.append((f"doors.{i}.readers.{j}", text + "every card is refused there"))
            else:
                warnings.append(
                    (f"doors.{i}.readers.{j}", text + "no card read there is ever secure")
                )
    return errors, warnings
