"""The pure rules for a visitor pass whose signature is already good: (facts, moment) -> verdict.

A pass carries its own rights (site, gate, doors, window, uses); the gate adds what it
knows (uses counted so far, revocations) and the moment (door, mode, clock). No I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from agent.core.decision import GateMode

CLOCK_SKEW = timedelta(minutes=5)  # how far ahead of the gate's clock the office's may be


class PassReason(StrEnum):
    """Why a pass was let through or refused (``pass_used`` / ``pass_refused`` events)."""

    GRANTED = "granted"
    RELEASED = "emergency_release"  # the door is held open: no use is counted
    MALFORMED = "malformed"  # not a pass code at all, or a broken one
    FORGED = "forged"  # the signature is not the office's
    UNKNOWN = "unknown"  # a short code the gate was never sent
    THROTTLED = "throttled"  # too many wrong short codes from this source: not looked up
    WRONG_SITE = "wrong_site"
    WRONG_GATE = "wrong_gate"
    WRONG_DOOR = "wrong_door"
    LOCKDOWN = "lockdown"
    CLOCK_UNTRUSTED = "clock_untrusted"
    ISSUED_IN_FUTURE = "issued_in_future"  # signed "later" than now, past the clock skew
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    USED_UP = "used_up"
    STORAGE_FAULT = "storage_fault"  # the use could not be counted: nothing opens
    AREA_FULL = "area_full"  # the area behind the door is full and refuses visitors


@dataclass(frozen=True, slots=True)
class PassFacts:
    """A verified pass and what this gate knows about it."""

    site: str
    gate: str | None  # None: any gate of the site
    doors: frozenset[str] | None  # None: every door
    valid_from: datetime  # aware UTC
    valid_until: datetime
    issued_at: datetime
    uses: int
    used: int  # uses counted here so far
    revoked: bool


@dataclass(frozen=True, slots=True)
class PassMoment:
    """Where and when the pass is shown."""

    site: str
    gate: str
    door: str
    now: datetime  # aware UTC
    mode: GateMode  # the door's mode: release when the door is held open
    clock_trusted: bool


def judge(facts: PassFacts, at: PassMoment) -> PassReason:
    """Order matters: place first (a pass from elsewhere is never let in), then life
    safety, then the mode, the door, time, revocation and, last, the uses left."""
    if facts.site != at.site:
        return PassReason.WRONG_SITE
    if facts.gate is not None and facts.gate != at.gate:
        return PassReason.WRONG_GATE
    if at.mode is GateMode.RELEASE:
        return PassReason.RELEASED
    if at.mode is GateMode.LOCKDOWN:
        return PassReason.LOCKDOWN
    if facts.doors is not None and at.door not in facts.doors:
        return PassReason.WRONG_DOOR
    if not at.clock_trusted:
        # a pass is a time window and nothing else: without a clock it cannot be checked
        return PassReason.CLOCK_UNTRUSTED
    if facts.issued_at > at.now + CLOCK_SKEW:
        return PassReason.ISSUED_IN_FUTURE  # a forged-ahead or mis-clocked issue: never valid
    if at.now < facts.valid_from:
        return PassReason.NOT_YET_VALID
    if at.now >= facts.valid_until:
        return PassReason.EXPIRED
    if facts.revoked:
        return PassReason.REVOKED
    if facts.used >= facts.uses:
        return PassReason.USED_UP
    return PassReason.GRANTED


def admitted(reason: PassReason) -> bool:
    return reason in (PassReason.GRANTED, PassReason.RELEASED)
