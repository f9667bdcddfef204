"""Visitor passes at the gate: the code's form, its signature, and every refusal, offline."""

from __future__ import annotations

import base64
import contextlib
import sqlite3
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from agent.core.clock import ManualClock
from agent.errors import GateError, Rejected
from agent.gate.app import App
from agent.models.config import GateConfig
from agent.models.pass_codec import (
    CROCKFORD,
    PREFIX,
    PassFormatError,
    SignedPass,
    decode,
    display_short,
    normalise_short,
    pack,
    unpack,
)
from agent.models.passes import PassUpdate, RevokedPass, VisitorPass
from drivers.base import Feedback
from tests.conftest import types
from tests.pass_rig import issue, last_light, pass_config, scan

QR_ALPHANUMERIC = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def gate(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig], key: Ed25519PrivateKey
) -> App:
    app = make_app(make_config(**pass_config(key)))
    app.start(threaded=False)
    app.loop.pump()
    return app


def pass_events(app: App) -> list[dict[str, Any]]:
    return [
        {"type": e.type.value, "door": e.door, **e.details}
        for e in app.events.recent(1000)
        if e.type.value.startswith("pass")
    ]


# -- the code ---------------------------------------------------------------------------
def test_a_pass_round_trips_through_its_code_and_fits_a_small_qr(key, clock) -> None:  # type: ignore[no-untyped-def]
    signed = issue(key, clock.now(), gate="g1", doors=["main", "side"], uses=3, unit="B-7")
    assert unpack(pack(signed.visitor_pass)) == signed.visitor_pass
    text = signed.text
    assert text.startswith(PREFIX) and set(text) <= QR_ALPHANUMERIC  # compact QR mode
    assert len(text) < 240, len(text)
    again = decode(f"  {text.lower()}\r\n")  # a scanner's case and line end do not matter
    assert again.visitor_pass == signed.visitor_pass and again.verify(key.public_key())
    assert again.short_code == signed.short_code
    assert len(signed.short_code) == 10 and set(signed.short_code) <= set(CROCKFORD)
    typed = display_short(signed.short_code).lower().replace("0", "o").replace("1", "l")
    assert normalise_short(typed) == signed.short_code  # forgiving of case and look-alikes
    assert normalise_short("ABCDE-FGHJ") is None and normalise_short("UUUUUUUUUU") is None
    assert "GP1" not in repr(signed) and signed.short_code not in repr(signed)


def test_a_pass_names_no_person_and_takes_no_extra_fields(key, clock) -> None:  # type: ignore[no-untyped-def]
    fields = set(VisitorPass.model_fields)
    assert not {"name", "visitor", "visitor_name", "phone"} & fields
    signed = issue(key, clock.now())
    with pytest.raises(ValidationError):
        VisitorPass(**{**signed.visitor_pass.model_dump(), "name": "Jane Doe"})


def test_a_pass_cannot_outlast_a_year_or_end_before_it_starts(key, clock) -> None:  # type: ignore[no-untyped-def]
    now = clock.now()
    with pytest.raises(ValidationError, match="366 days"):
        issue(key, now, valid_until=now + timedelta(days=400))
    with pytest.raises(ValidationError, match="after valid_from"):
        issue(key, now, valid_until=now - timedelta(hours=2))
    with pytest.raises(ValidationError, match="whole seconds"):
        issue(key, now, valid_until=now + timedelta(hours=1, microseconds=5))


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=700))
def test_the_decoder_raises_nothing_but_its_own_error_for_any_text(text: str) -> None:
    try:
        decoded = decode(text)
    except PassFormatError:
        return
    assert isinstance(decoded, SignedPass)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_the_payload_reader_raises_nothing_but_its_own_error_for_any_bytes(data: bytes) -> None:
    with contextlib.suppress(PassFormatError):
        unpack(data)
    body = base64.b32encode(data).decode().rstrip("=")
    with contextlib.suppress(PassFormatError):
        decode(f"{PREFIX}{body}.{'A' * 103}")


KEY = Ed25519PrivateKey.generate()
GOOD = issue(KEY, ManualClock().now())


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(GOOD.text) - 1), st.sampled_from(sorted(QR_ALPHANUMERIC)))
def test_a_code_changed_anywhere_is_refused_or_fails_its_signature(where: int, char: str) -> None:
    text = GOOD.text[:where] + char + GOOD.text[where + 1 :]
    try:
        changed = decode(text)
    except PassFormatError:
        return
    same = changed.payload == GOOD.payload and changed.signature == GOOD.signature
    assert same or not changed.verify(KEY.public_key())


# -- at the gate: granted ------------------------------------------------------------------
def test_a_scanned_pass_opens_its_door_once_and_counts_the_use(gate, key, clock) -> None:  # type: ignore[no-untyped-def]
    signed = issue(key, clock.now())
    outcome = scan(gate, signed.text)
    assert outcome.granted and outcome.reason == "granted" and outcome.uses_left == 0
    assert outcome.pass_id == signed.visitor_pass.id and outcome.unit == "A-12"
    assert not gate.doors["main"].locked  # the strike is open
    assert last_light(gate) is Feedback.GRANT
    used = pass_events(gate)[-1]
    assert used["type"] == "pass_used" and used["door"] == "main"
    assert used["uses_left"] == 0 and used["by"] == "scanner:main-qr" and used["via"] == "code"
    assert used["pass_id"] == signed.visitor_pass.id
    clock.advance(6)
    gate.loop.pump()  # the pulse ends
    again = scan(gate, signed.text)
    assert (again.granted, again.reason) == (False, "used_up")  # a replayed screenshot
    assert gate.doors["main"].locked and last_light(gate) is Feedback.DENY


def test_uses_are_counted_on_disk_across_a_restart(  # type: ignore[no-untyped-def]
    make_app, make_config, key, clock
) -> None:
    config = make_config(**pass_config(key))
    signed = issue(key, clock.now(), uses=2)
    first = make_app(config)
    first.start(threaded=False)
    assert scan(first, signed.text).uses_left == 1
    first.stop()
    second = make_app(config)
    second.start(threaded=False)
    assert scan(second, signed.text).uses_left == 0
    assert scan(second, signed.text).reason == "used_up"


def test_the_guard_typing_the_code_goes_the_same_way(gate, key, clock) -> None:  # type: ignore[no-untyped-def]
    signed = issue(key, clock.now(), doors=["side"])
    outcome = gate.admit_pass("side", signed.text, "guard:g-7")
    assert outcome.granted and outcome.by == "guard:g-7" and outcome.reader is None
    assert not gate.doors["side"].locked
    with pytest.raises(GateError, match="no door"):
        gate.admit_pass("back", signed.text, "guard:g-7")


# -- at the gate: refused ------------------------------------------------------------------
def test_a_forged_or_tampered_pass_is_refused_as_forged(gate, key, clock) -> None:  # type: ignore[no-untyped-def]
    stranger = issue(Ed25519PrivateKey.generate(), clock.now())
    assert scan(gate, stranger.text).reason == "forged"
    genuine = issue(key, clock.now(), uses=1)
    more = genuine.visitor_pass.model_copy(update={"uses": 50})
    tampered = SignedPass(more, pack(more), genuine.signature)
    outcome = scan(gate, tampered.text)
    assert (outcome.granted, outcome.reason, outcome.unit) == (False, "forged", None)
    assert gate.doors["main"].locked and last_light(gate) is Feedback.DENY
    refused = pass_events(gate)[-1]
    assert refused["type"] == "pass_refused" and refused["reason"] == "forged"
    assert "unit" not in refused  # nothing a forger wrote is reported as fact


def test_time_window_is_checked_on_the_gate_clock(gate, key, clock) -> None:  # type: ignore[no-untyped-def]
    now = clock.now()
    hour = timedelta(hours=1)
    later = issue(key, now, valid_from=now + 2 * hour, valid_until=now + 3 * hour)
    assert scan(gate, later.text).reason == "not_yet_valid"
    over = issue(key, now, valid_from=now - 3 * hour, valid_until=now - hour)
    assert scan(gate, over.text).reason == "expired"
    clock.advance(2 * 3600 + 1)
    assert scan(gate, later.text).granted


def test_place_and_mode_refusals(gate, key, clock) -> None:  # type: ignore[no-untyped-def]
    now = clock.now()
    assert scan(gate, issue(key, now, doors=["side"]).text).reason == "wrong_door"
    assert scan(gate, issue(key, now, site="other-site").text).reason == "wrong_site"
    assert scan(gate, issue(key, now, gate="g2").text).reason == "wrong_gate"
    assert scan(gate, issue(key, now, gate="g1").text).granted
    gate.set_lockdown(True, "test")
    locked = issue(key, now)
    assert scan(gate, locked.text).reason == "lockdown"
    gate.set_lockdown(False, "test")
    clock.trusted = False
    assert scan(gate, locked.text).reason == "clock_untrusted"
    clock.trusted = True
    assert scan(gate, locked.text).granted  # nothing above used it up


def test_in_a_release_a_pass_is_let_through_without_using_it(gate, key, clock) -> None:  # type: ignore[no-untyped-def]
    signed = issue(key, clock.now())
    gate.set_release(True, "test")
    outcome = scan(gate, signed.text)
    assert (outcome.granted, outcome.reason, outcome.uses_left) == (True, "emergency_release", 1)
    gate.set_release(False, "test")
    assert scan(gate, signed.text).uses_left == 0


def test_garbage_and_unknown_short_codes_are_refused_without_a_pass_id(gate) -> None:  # type: ignore[no-untyped-def]
    for text, reason in [
        ("hello", "malformed"),
        ("GP1.AAAA.BBBB", "malformed"),
        ("x" * 5000, "malformed"),
        ("ABCDE-FGHJK", "unknown"),
    ]:
        outcome = scan(gate, text)
        assert (outcome.granted, outcome.reason, outcome.pass_id) == (False, reason, None), text
    assert [e["reason"] for e in pass_events(gate)] == ["malformed"] * 3 + ["unknown"]
    assert gate.doors["main"].locked


# -- delivered ahead, revoked ------------------------------------------------------------
def test_a_delivered_pass_works_by_its_short_code_and_a_revoked_one_does_not(  # type: ignore[no-untyped-def]
    gate, key, clock
) -> None:
    signed = issue(key, clock.now(), uses=5)
    short = display_short(signed.short_code)
    assert gate.admit_pass("main", short, "guard:g-1").reason == "unknown"
    result = gate.update_passes(PassUpdate(request_id="r1", deliver=[signed.text]))
    assert result == {"revoked": 0, "delivered": 1}
    typed = gate.admit_pass("main", short.lower(), "guard:g-1")
    assert typed.granted and typed.via == "short_code" and typed.uses_left == 4
    gate.update_passes(PassUpdate(request_id="r2", revoke=[RevokedPass(id=signed.visitor_pass.id)]))
    assert gate.admit_pass("main", short, "guard:g-1").reason == "revoked"
    assert scan(gate, signed.text).reason == "revoked"
    assert types(gate).count("passes_updated") == 2


def test_a_delivery_with_one_bad_pass_changes_nothing(gate, key, clock) -> None:  # type: ignore[no-untyped-def]
    good = issue(key, clock.now())
    forged = issue(Ed25519PrivateKey.generate(), clock.now())
    elsewhere = issue(key, clock.now(), site="other-site")
    for bad, why in [(forged, "forged"), (elsewhere, "other-site")]:
        with pytest.raises(Rejected, match=why):
            gate.update_passes(PassUpdate(request_id="r", deliver=[good.text, bad.text]))
    with pytest.raises(Rejected, match=r"deliver\.0"):
        gate.update_passes(PassUpdate(request_id="r", deliver=["GP1.nonsense"]))
    assert gate.admit_pass("main", good.short_code, "guard:g-1").reason == "unknown"
    assert "passes_updated" not in types(gate)


def test_what_a_pass_leaves_behind_is_pruned_only_after_it_ends(gate, key, clock) -> None:  # type: ignore[no-untyped-def]
    signed = issue(key, clock.now(), uses=3)
    scan(gate, signed.text)
    gate.update_passes(PassUpdate(request_id="r", deliver=[signed.text],
                                  revoke=[RevokedPass(id=signed.visitor_pass.id)]))  # fmt: skip
    store = gate.stores.passes
    assert store.counts() == {"uses": 1, "revoked": 1, "delivered": 1}
    gate.passes.upkeep()
    assert store.counts() == {"uses": 1, "revoked": 1, "delivered": 1}
    clock.advance(4 * 3600 + 3 * 86400)
    clock.trusted = False
    gate.passes.upkeep()  # a clock nobody vouches for never drops a use count
    assert store.counts()["uses"] == 1
    clock.trusted = True
    gate.passes.upkeep()
    assert store.counts() == {"uses": 0, "revoked": 0, "delivered": 0}


def test_a_revocation_for_a_pass_never_seen_is_kept_as_long_as_any_pass_lasts(  # type: ignore[no-untyped-def]
    gate, key, clock
) -> None:
    signed = issue(key, clock.now(), valid_until=clock.now() + timedelta(days=300))
    gate.update_passes(PassUpdate(request_id="r", revoke=[RevokedPass(id=signed.visitor_pass.id)]))
    clock.advance(299 * 86400)
    gate.passes.upkeep()
    assert scan(gate, signed.text).reason == "revoked"


# -- privacy ----------------------------------------------------------------------------
def test_no_pass_code_and_no_name_is_kept_in_the_event_log(gate, key, clock) -> None:  # type: ignore[no-untyped-def]
    signed = issue(key, clock.now())
    scan(gate, signed.text)
    gate.admit_pass("main", signed.text, "guard:g-1")
    scan(gate, issue(Ed25519PrivateKey.generate(), clock.now()).text)
    allowed = {"type", "door", "reason", "pass_id", "unit", "uses_left", "valid_until", "by",
               "via", "reader"}  # fmt: skip
    for event in pass_events(gate):
        assert set(event) <= allowed, event
    raw = sqlite3.connect(gate.paths.events_db).execute("SELECT * FROM events").fetchall()
    text = repr(raw).upper()
    assert signed.text.split(".")[2][:40] not in text  # the signature, a bearer secret
    assert signed.short_code not in text


def test_a_damaged_pass_book_is_set_aside_with_an_alarm(  # type: ignore[no-untyped-def]
    make_app, make_config, key, clock
) -> None:
    config = make_config(**pass_config(key))
    config.storage.dir.mkdir(parents=True, exist_ok=True)
    (config.storage.dir / "passes.db").write_bytes(b"not a database, " * 256)
    app = make_app(config)
    app.start(threaded=False)
    app.loop.pump()
    (recovered,) = [e.details for e in app.events.recent(50) if e.type == "database_recovered"]
    assert recovered["database"] == "passes" and "passes.db.corrupt-" in recovered["moved_to"]
    assert scan(app, issue(key, clock.now()).text).granted


def test_a_backup_carries_the_uses_to_a_replacement_gate(  # type: ignore[no-untyped-def]
    make_app, make_config, key, clock, tmp_path
) -> None:
    import shutil

    from agent.store.backup import backup, restore

    config = make_config(**pass_config(key))
    signed = issue(key, clock.now())
    old = make_app(config)
    old.start(threaded=False)
    assert scan(old, signed.text).granted
    (tmp_path / "gate.toml").write_text("# the installer's file\n")
    manifest = backup(config, tmp_path / "gate.toml", tmp_path / "backup", clock.now())
    assert "passes.db" in manifest["files"]
    old.stop()
    shutil.rmtree(config.storage.dir)  # a new Pi
    restore(config, tmp_path / "backup", clock.now())
    new = make_app(config)
    new.start(threaded=False)
    assert scan(new, signed.text).reason == "used_up"


# -- hostile input through the control socket and the office's command -------------------
FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
ANY = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=12,
)  # fmt: skip


@FUZZ
@given(args=st.dictionaries(st.sampled_from(["door", "code", "reader"]), ANY, max_size=3))
def test_the_scan_op_answers_anything_in_one_line(gate: App, args: dict[str, Any]) -> None:
    from agent.faces.control import ControlServer
    from agent.faces.simulate import SimControls

    server = ControlServer(SimControls(gate), gate.paths.control_socket)
    reply = server.handle({"op": "scan", **args})
    assert isinstance(reply["ok"], bool)
    assert reply["ok"] or isinstance(reply["error"], str)
    assert gate.doors["main"].locked and gate.doors["side"].locked


@FUZZ
@given(body=ANY | st.fixed_dictionaries({"request_id": ANY, "revoke": ANY, "deliver": ANY}))
def test_a_pass_command_with_any_body_is_refused_or_done(gate: App, body: Any) -> None:
    from agent.link.commands import Commands

    commands = Commands(gate, lambda _why: None, lambda: None)
    try:
        ack = commands.run("pass", body)
    except (ValidationError, Rejected):
        return
    assert ack.ok and ack.command == "pass"
