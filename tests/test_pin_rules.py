"""Card plus PIN's pure parts (issue 21): when a door asks, the duress variant, where the
PIN sits in the decision's order, the hash, and the config's checks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.core.decision import AllowEntry, DecisionContext, GateMode, Reason, decide
from agent.core.kinds import HolderKind
from agent.core.pin import PinResult, duress_variant, pin_required
from agent.core.schedules import compile_all
from agent.errors import ConfigError
from agent.gate.app import App
from agent.gate.pin_entry import check_pin
from agent.models.config import GateConfig, ScheduleConfig
from agent.store.pins import hash_pin, verify_pin
from tests.conftest import BASE

NIGHT = {"night": ScheduleConfig.model_validate(
    {"windows": [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                  "start": "22:00", "end": "06:00"}]})}  # fmt: skip
SCHEDULES = compile_all(NIGHT, {})
NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
CHEAP = hash_pin("4826", log2_n=12)
ENTRY = AllowEntry("c" * 64, "R-1", HolderKind.RESIDENT, pin_hash="scrypt$...")


def at(hour: int) -> datetime:
    return NOW.replace(hour=hour)


def test_when_a_door_asks_for_a_pin() -> None:
    assert not pin_required(None, at(23), SCHEDULES)
    assert pin_required("always", at(12), SCHEDULES)
    assert pin_required("night", at(23), SCHEDULES) and pin_required("night", at(3), SCHEDULES)
    assert not pin_required("night", at(12), SCHEDULES)
    assert pin_required("night", at(12), SCHEDULES, clock_trusted=False)  # fails closed
    assert pin_required("gone", at(12), SCHEDULES)  # a schedule removed: fails closed


@given(st.text(alphabet="0123456789", min_size=1, max_size=12))
def test_the_duress_variant_is_never_the_pin_and_wraps_nine_to_zero(pin: str) -> None:
    variant = duress_variant(pin, "last_digit_plus_one")
    assert variant is not None and variant != pin and variant[:-1] == pin[:-1]
    assert int(variant[-1]) == (int(pin[-1]) + 1) % 10
    assert duress_variant(pin, "off") is None


def ctx(**kw: object) -> DecisionContext:
    return DecisionContext(door="main", now=NOW, local=NOW, **kw)  # type: ignore[arg-type]


def test_the_pin_is_asked_last_and_only_of_a_card_that_would_open() -> None:
    assert decide(ENTRY, ctx(pin_required=True)).reason is Reason.PIN_REQUIRED
    assert decide(None, ctx(pin_required=True)).reason is Reason.UNKNOWN
    locked = ctx(pin_required=True, mode=GateMode.LOCKDOWN)
    assert decide(ENTRY, locked).reason is Reason.LOCKDOWN
    released = ctx(pin_required=True, mode=GateMode.RELEASE)
    assert decide(ENTRY, released).reason is Reason.RELEASED  # the doors are open anyway
    untrusted = ctx(pin_required=True, clock_trusted=False)
    assert decide(ENTRY, untrusted).reason is Reason.PIN_REQUIRED
    no_pin = AllowEntry("c" * 64, "R-1", HolderKind.RESIDENT)
    assert decide(no_pin, ctx(pin_required=True)).reason is Reason.PIN_NOT_SET
    outcomes = {r: decide(ENTRY, ctx(pin_required=True, pin=r)).reason for r in PinResult}
    assert outcomes == {
        PinResult.OK: Reason.GRANTED, PinResult.DURESS: Reason.GRANTED,
        PinResult.WRONG: Reason.WRONG_PIN, PinResult.TIMEOUT: Reason.PIN_TIMEOUT,
        PinResult.NOT_SET: Reason.PIN_NOT_SET, PinResult.ABANDONED: Reason.PIN_ABANDONED,
    }  # fmt: skip
    assert decide(ENTRY, ctx(pin_locked=True)).reason is Reason.CARD_LOCKED_OUT
    assert decide(ENTRY, ctx()).reason is Reason.GRANTED  # a door without a PIN: as before


@settings(max_examples=10, deadline=None)
@given(st.text(alphabet="0123456789", min_size=4, max_size=8))
def test_a_hash_matches_its_pin_its_duress_variant_as_duress_and_nothing_else(pin: str) -> None:
    encoded = hash_pin(pin, log2_n=12)
    variant = duress_variant(pin, "last_digit_plus_one")
    assert variant is not None
    assert check_pin(pin, encoded, "last_digit_plus_one") is PinResult.OK
    assert check_pin(variant, encoded, "last_digit_plus_one") is PinResult.DURESS
    assert check_pin(variant, encoded, "off") is PinResult.WRONG
    assert check_pin(pin + "0", encoded, "last_digit_plus_one") is PinResult.WRONG


@pytest.mark.parametrize(
    "encoded",
    [
        "", "scrypt$13$8$1$bad", "bcrypt$13$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAA",
        "scrypt$30$8$1$AAAAAAAAAAAAAAAAAAAAAA==$" + "A" * 44,  # a gigabyte: refused unhashed
        "scrypt$x$8$1$AAAAAAAAAAAAAAAAAAAAAA==$" + "A" * 44,
    ],
)  # fmt: skip
def test_damaged_or_too_costly_hashes_are_a_wrong_pin_not_a_fault(encoded: str) -> None:
    assert verify_pin("1234", encoded) is False


def test_config_problems_name_their_key(make_config: Callable[..., GateConfig]) -> None:
    door = {**BASE["doors"][0], "pin": "nigth"}
    with pytest.raises(ConfigError) as caught:
        make_config(pin={"min_digits": 9, "max_digits": 6})
    assert caught.value.errors == [("pin", "min_digits is above max_digits")]
    with pytest.raises(ConfigError) as caught:
        make_config(pin={"duress": "plus_one", "attempts": 0})
    assert [path for path, _ in caught.value.errors] == ["pin.attempts", "pin.duress"]
    good = make_config(doors=[door | {"pin": "always"}], pin={"lockout_s": 60})
    assert good.doors[0].pin == "always" and good.pin.timeout_s == 10
    with pytest.raises(ConfigError) as caught:
        make_config(doors=[door])
    assert caught.value.errors == [
        ("doors.0.pin", "'nigth' is neither 'always' nor a schedule of [schedules]")
    ]


def test_check_config_warns_of_a_pin_door_whose_reader_has_no_keypad(
    make_config: Callable[..., GateConfig],
) -> None:
    from agent.faces.checks import warnings

    wedge = {"id": "main-in", "driver": "keyboard", "device": "/dev/input/event9",
             "technology": "uid"}  # fmt: skip
    door = {**BASE["doors"][0], "readers": [wedge], "pin": "always"}
    found = dict(warnings(make_config(doors=[door])))
    assert "has no keypad" in found["doors.0.readers.0"]
    assert "doors.0.readers.0" not in dict(warnings(make_config(doors=[door | {"pin": None}])))


def test_the_pin_hash_survives_snapshots_patches_and_older_list_files(
    make_app: Callable[..., App],
) -> None:
    import sqlite3

    from agent.store.allowlist import AllowListStore
    from agent.store.catalog import live_list
    from tests.conftest import enroll

    app = make_app()
    app.start(threaded=False)
    entry = enroll(app, "uid:04A1B2C3", pin_hash=CHEAP)
    store = app.allowlist
    assert store.lookup(entry.credential).pin_hash == CHEAP  # type: ignore[union-attr]
    other = entry.model_copy(update={"credential": "d" * 64, "holder_id": "R-2"})
    assert store.stage("snap", 2, 0, 1, [entry, other])
    store.commit_staged("snap", 2)
    assert store.lookup("d" * 64).pin_hash == CHEAP  # type: ignore[union-attr]
    store.patch(2, 3, [entry.model_copy(update={"pin_hash": None})], [])
    assert store.lookup(entry.credential).pin_hash is None  # type: ignore[union-attr]
    folder = store.folder
    app.stop()
    live = live_list(folder / "allowlist.db")
    assert live is not None
    conn = sqlite3.connect(live)
    for column in ("pin_hash", "credential_policy"):  # a file of a release before both
        conn.execute(f"ALTER TABLE allowlist DROP COLUMN {column}")
    conn.commit()
    conn.close()
    reopened = AllowListStore(folder / "allowlist.db", app.config.zone())
    try:
        found = reopened.lookup("d" * 64)
        assert found is not None and found.pin_hash is None
    finally:
        reopened.close()
