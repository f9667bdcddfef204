from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agent.core.decision import AllowEntry, DecisionContext, GateMode, Reason, decide
from agent.core.kinds import HolderKind
from agent.core.schedules import Schedule
from agent.models.config import ScheduleConfig

ZONE = ZoneInfo("Africa/Cairo")
NOW = datetime(2026, 6, 10, 7, 0, tzinfo=UTC)  # Wednesday 10:00 local
DAY = Schedule.compile(
    ScheduleConfig.model_validate(
        {
            "windows": [
                {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "18:00"}
            ]
        }
    )
)


def entry(**kw: object) -> AllowEntry:
    fields: dict[str, object] = {
        "credential": "c" * 64,
        "holder_id": "R-1",
        "kind": HolderKind.RESIDENT,
    }
    fields.update(kw)
    return AllowEntry(**fields)  # type: ignore[arg-type]


def ctx(**kw: object) -> DecisionContext:
    fields: dict[str, object] = {
        "door": "main",
        "now": NOW,
        "local": NOW.astimezone(ZONE),
        "schedules": {"day": DAY},
    }
    fields.update(kw)
    return DecisionContext(**fields)  # type: ignore[arg-type]


CASES = [
    ("plain resident", entry(), ctx(), True, Reason.GRANTED),
    ("unknown card", None, ctx(), False, Reason.UNKNOWN),
    ("suspended", entry(suspended=True), ctx(), False, Reason.SUSPENDED),
    ("expired", entry(valid_until=NOW), ctx(), False, Reason.EXPIRED),
    (
        "valid until later",
        entry(valid_until=NOW + timedelta(seconds=1)),
        ctx(),
        True,
        Reason.GRANTED,
    ),
    (
        "not yet valid",
        entry(valid_from=NOW + timedelta(seconds=1)),
        ctx(),
        False,
        Reason.NOT_YET_VALID,
    ),
    ("valid from now", entry(valid_from=NOW), ctx(), True, Reason.GRANTED),
    ("wrong door", entry(doors=frozenset({"side"})), ctx(), False, Reason.WRONG_DOOR),
    ("right door", entry(doors=frozenset({"main", "side"})), ctx(), True, Reason.GRANTED),
    ("inside schedule", entry(schedule="day"), ctx(), True, Reason.GRANTED),
    (
        "outside schedule",
        entry(schedule="day"),
        ctx(now=NOW + timedelta(hours=9), local=(NOW + timedelta(hours=9)).astimezone(ZONE)),
        False,
        Reason.OUTSIDE_SCHEDULE,
    ),
    (
        "dangling schedule fails closed",
        entry(schedule="gone"),
        ctx(),
        False,
        Reason.UNKNOWN_SCHEDULE,
    ),
    ("lockdown", entry(), ctx(mode=GateMode.LOCKDOWN), False, Reason.LOCKDOWN),
    (
        "lockdown override",
        entry(lockdown_override=True),
        ctx(mode=GateMode.LOCKDOWN),
        True,
        Reason.GRANTED,
    ),
    ("release opens for anyone", None, ctx(mode=GateMode.RELEASE), True, Reason.RELEASED),
    (
        "release beats lockout",
        None,
        ctx(mode=GateMode.RELEASE, reader_locked=True),
        True,
        Reason.RELEASED,
    ),
    ("reader locked out", entry(), ctx(reader_locked=True), False, Reason.READER_LOCKED_OUT),
    ("card locked out", entry(), ctx(card_locked=True), False, Reason.CARD_LOCKED_OUT),
    (
        "suspended beats lockdown override",
        entry(suspended=True, lockdown_override=True),
        ctx(mode=GateMode.LOCKDOWN),
        False,
        Reason.SUSPENDED,
    ),
    # untrusted clock policies
    (
        "untrusted: ignore schedules",
        entry(schedule="day", valid_until=NOW - timedelta(days=9)),
        ctx(clock_trusted=False, untrusted_policy="ignore_schedules"),
        True,
        Reason.GRANTED,
    ),
    (
        "untrusted: residents only, resident",
        entry(schedule="day"),
        ctx(clock_trusted=False, untrusted_policy="residents_only"),
        True,
        Reason.GRANTED,
    ),
    (
        "untrusted: residents only, visitor",
        entry(kind=HolderKind.VISITOR),
        ctx(clock_trusted=False, untrusted_policy="residents_only"),
        False,
        Reason.CLOCK_UNTRUSTED,
    ),
    (
        "untrusted: deny scheduled",
        entry(schedule="day"),
        ctx(clock_trusted=False, untrusted_policy="deny_scheduled"),
        False,
        Reason.CLOCK_UNTRUSTED,
    ),
    (
        "untrusted: deny scheduled, unscheduled",
        entry(),
        ctx(clock_trusted=False, untrusted_policy="deny_scheduled"),
        True,
        Reason.GRANTED,
    ),
    (
        "untrusted: still no wrong door",
        entry(doors=frozenset({"side"})),
        ctx(clock_trusted=False),
        False,
        Reason.WRONG_DOOR,
    ),
]


@pytest.mark.parametrize(
    ("name", "row", "context", "granted", "reason"), CASES, ids=[c[0] for c in CASES]
)
def test_decision_table(
    name: str, row: AllowEntry | None, context: DecisionContext, granted: bool, reason: Reason
) -> None:
    decision = decide(row, context)
    assert (decision.granted, decision.reason) == (granted, reason)
