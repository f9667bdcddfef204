"""The pure decision engine: (entry, context) -> grant or deny with a reason. No I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from agent.core.kinds import HolderKind
from agent.core.pin import PinResult
from agent.core.schedules import Schedule
from agent.core.secure import CredentialPolicy, ProofFacts, proof_refusal, stricter


class GateMode(StrEnum):
    NORMAL = "normal"
    LOCKDOWN = "lockdown"  # deny all but entries flagged lockdown_override
    RELEASE = "release"  # emergency release: doors held unlocked


class Reason(StrEnum):
    GRANTED = "granted"
    RELEASED = "emergency_release"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    OUTSIDE_SCHEDULE = "outside_schedule"
    UNKNOWN_SCHEDULE = "unknown_schedule"
    SUSPENDED = "suspended"
    WRONG_DOOR = "wrong_door"
    LOCKDOWN = "lockdown"
    READER_LOCKED_OUT = "reader_locked_out"
    CARD_LOCKED_OUT = "card_locked_out"
    CLOCK_UNTRUSTED = "clock_untrusted"
    LIST_STALE = "list_stale"  # restored from a backup: the office may have revoked it since
    # secure credentials (issue 20): the proof a reader brought, or the policy
    CARD_NOT_GENUINE = "card_not_genuine"
    CARD_TORN = "card_torn"
    RELAY_SUSPECTED = "relay_suspected"
    REPLAYED_CARD = "replayed_card"
    CARD_NOT_NXP = "card_not_nxp"
    SECURE_CARD_REQUIRED = "secure_card_required"
    # presence (issue 21): where the holder was last seen, and how full the area is
    PASSBACK = "passback"
    AREA_FULL = "area_full"
    # card plus PIN (issue 21). PIN_REQUIRED is never recorded: the gate waits for the PIN
    PIN_REQUIRED = "pin_required"
    WRONG_PIN = "wrong_pin"
    PIN_TIMEOUT = "pin_timeout"
    PIN_NOT_SET = "pin_not_set"  # a PIN door, and the holder has no PIN on the list
    PIN_ABANDONED = "pin_abandoned"  # another card came to the reader before the PIN ended
    # vehicles (issue 22): the car park behind the barrier is full and refuses this vehicle
    CAR_PARK_FULL = "car_park_full"


# Denials that say something about the card or the person presenting it; the
# anomaly detector counts only these (a lockout must not feed itself).
SUSPICIOUS = frozenset(
    {
        Reason.UNKNOWN,
        Reason.EXPIRED,
        Reason.NOT_YET_VALID,
        Reason.OUTSIDE_SCHEDULE,
        Reason.SUSPENDED,
        Reason.WRONG_DOOR,
        Reason.CLOCK_UNTRUSTED,
        Reason.CARD_NOT_GENUINE,
        Reason.REPLAYED_CARD,
    }
)


@dataclass(frozen=True, slots=True)
class AllowEntry:
    """One allow-list row as the engine sees it (built from SQLite, not validated again)."""

    credential: str
    holder_id: str
    kind: HolderKind
    unit: str | None = None
    doors: frozenset[str] | None = None  # None: every door
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    schedule: str | None = None
    suspended: bool = False
    lockdown_override: bool = False
    masked: str = ""
    credential_policy: str = CredentialPolicy.PLAIN
    pin_hash: str | None = None  # card plus PIN: the holder's salted hash, never a PIN


@dataclass(frozen=True, slots=True)
class Decision:
    granted: bool
    reason: Reason


@dataclass(frozen=True, slots=True)
class DecisionContext:
    """Everything about the moment of a read except the allow-list entry."""

    door: str
    now: datetime  # aware UTC
    local: datetime  # the same instant in the gate's zone
    mode: GateMode = GateMode.NORMAL
    clock_trusted: bool = True
    untrusted_policy: str = "ignore_schedules"
    reader_locked: bool = False
    card_locked: bool = False
    list_stale: bool = False  # only lockdown_override holders until the office resends
    schedules: Mapping[str, Schedule] | None = None
    proof: ProofFacts | None = None  # None: the reader delivered only a number
    door_policy: str = CredentialPolicy.PLAIN
    passback: bool = False  # anti-passback refuses this holder here (a hard or timed area)
    area_full: bool = False  # the area this reader leads into is full and refuses this holder
    # card plus PIN (issue 21): whether the door asks for a PIN now, what the PIN typed
    # turned out to be (None: not typed yet), and a card locked after wrong PINs
    pin_required: bool = False
    pin: PinResult | None = None
    pin_locked: bool = False
    car_park: bool = False  # the area this reader leads into counts vehicles (a car park)


def policy_for(entry: AllowEntry, ctx: DecisionContext) -> CredentialPolicy:
    """The stricter of the holder's and the door's credential policy."""
    return stricter(entry.credential_policy, ctx.door_policy)


def _deny(reason: Reason) -> Decision:
    return Decision(False, reason)


GRANT = Decision(True, Reason.GRANTED)


def decide(entry: AllowEntry | None, ctx: DecisionContext) -> Decision:
    """Decide one read. Order matters: a failed proof (a clone opens nothing, and in a
    release the doors are held open anyway), life safety, lockouts, identity, rights, time."""
    if ctx.proof is not None and (refusal := proof_refusal(ctx.proof)) is not None:
        return _deny(Reason(refusal))
    if ctx.mode is GateMode.RELEASE:
        return Decision(True, Reason.RELEASED)
    if ctx.reader_locked:
        return _deny(Reason.READER_LOCKED_OUT)
    if entry is None:
        return _deny(Reason.UNKNOWN)
    if ctx.card_locked:
        return _deny(Reason.CARD_LOCKED_OUT)
    if ctx.pin_locked:
        return _deny(Reason.CARD_LOCKED_OUT)
    if ctx.proof is None and policy_for(entry, ctx) is CredentialPolicy.SECURE:
        return _deny(Reason.SECURE_CARD_REQUIRED)
    if entry.suspended:
        return _deny(Reason.SUSPENDED)
    if ctx.mode is GateMode.LOCKDOWN and not entry.lockdown_override:
        return _deny(Reason.LOCKDOWN)
    if ctx.list_stale and not entry.lockdown_override:
        return _deny(Reason.LIST_STALE)
    if entry.doors is not None and ctx.door not in entry.doors:
        return _deny(Reason.WRONG_DOOR)
    if not ctx.clock_trusted:
        untrusted = _decide_untrusted(entry, ctx.untrusted_policy)
        return _decide_last(entry, ctx) if untrusted.granted else untrusted
    if entry.valid_from is not None and ctx.now < entry.valid_from:
        return _deny(Reason.NOT_YET_VALID)
    if entry.valid_until is not None and ctx.now >= entry.valid_until:
        return _deny(Reason.EXPIRED)
    if entry.schedule is not None:
        schedule = (ctx.schedules or {}).get(entry.schedule)
        if schedule is None:
            return _deny(Reason.UNKNOWN_SCHEDULE)  # fail closed on a dangling name
        if not schedule.allows(ctx.local):
            return _deny(Reason.OUTSIDE_SCHEDULE)
    return _decide_last(entry, ctx)


def _decide_last(entry: AllowEntry, ctx: DecisionContext) -> Decision:
    """Last: only a card that may otherwise pass is held to where its holder is, and only
    a card that passes that waits for a PIN."""
    if ctx.passback:
        return _deny(Reason.PASSBACK)
    if ctx.area_full:
        return _deny(Reason.CAR_PARK_FULL if ctx.car_park else Reason.AREA_FULL)
    return _pin_decision(entry, ctx) if ctx.pin_required else GRANT


_PIN_REFUSALS = {
    PinResult.WRONG: Reason.WRONG_PIN,
    PinResult.TIMEOUT: Reason.PIN_TIMEOUT,
    PinResult.NOT_SET: Reason.PIN_NOT_SET,
    PinResult.ABANDONED: Reason.PIN_ABANDONED,
}


def _pin_decision(entry: AllowEntry, ctx: DecisionContext) -> Decision:
    """Last of all, so a card that would be refused anyway never waits for a PIN. A
    duress PIN opens exactly as the right one does: the alarm is the gate's business."""
    if entry.pin_hash is None:
        return _deny(Reason.PIN_NOT_SET)
    if ctx.pin is None:
        return _deny(Reason.PIN_REQUIRED)
    if ctx.pin in (PinResult.OK, PinResult.DURESS):
        return GRANT
    return _deny(_PIN_REFUSALS[ctx.pin])


def _decide_untrusted(entry: AllowEntry, policy: str) -> Decision:
    """Wall time may be years off before NTP: dates and schedules cannot be checked."""
    if policy == "ignore_schedules":
        return GRANT
    if policy == "residents_only":
        trusted_kinds = (HolderKind.RESIDENT, HolderKind.STAFF)
        return GRANT if entry.kind in trusted_kinds else _deny(Reason.CLOCK_UNTRUSTED)
    time_bound = entry.schedule or entry.valid_from or entry.valid_until
    return _deny(Reason.CLOCK_UNTRUSTED) if time_bound else GRANT
