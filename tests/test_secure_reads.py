"""Secure cards through the gate's real read pipeline (issue 20): a sim reader hands the
gate a CardRead carrying a SecureProof, as a DESFire or NTAG 424 reader driver would."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agent.console.words import event_text
from agent.core.clock import ManualClock
from agent.gate.app import App
from agent.models.config import GateConfig
from agent.store.backup import backup, restore
from agent.store.credentials import write_new_key
from drivers.cards import GENUINE, SecureProof
from drivers.sim import SimCardReader
from tests.conftest import BASE, enroll, tap

CARD = "uid:04A1B2C3D4E5F6"


def ntag(counter: int, verdict: str = GENUINE, **kw: Any) -> SecureProof:
    return SecureProof("ntag424", verdict, counter=counter, **kw)


def doors(main: str, side: str) -> list[dict[str, Any]]:
    first, second = (dict(d) for d in BASE["doors"])
    return [{**first, "credential": main}, {**second, "credential": side}]


@pytest.fixture
def secure_config(tmp_path: Path, make_config: Callable[..., GateConfig]) -> GateConfig:
    write_new_key(tmp_path / "master.key", 16)
    return make_config(
        doors=doors("secure", "secure_preferred"),
        secure={"master_key_file": "master.key"},
        storage={"after_restore": "restored_list"},
    )


@pytest.fixture
def gate(make_app: Callable[..., App], secure_config: GateConfig) -> App:
    app = make_app(secure_config)
    app.start(threaded=False)
    app.loop.pump()
    return app


def show(app: App, card: str, proof: SecureProof | None, reader: str = "main-in") -> dict[str, Any]:
    """Tap ``card`` with ``proof`` on a sim reader; the decision for that read."""
    device = app.devices.readers[reader]
    assert isinstance(device, SimCardReader)
    decided: list[Any] = []
    app.add_decision_listener(decided.append)
    try:
        read = device.present(card, proof)
        app.loop.pump()
    finally:
        app.reads.listeners.remove(decided.append)
    (record,) = [r for r in decided if r.read_id == read.read_id]
    return asdict(record)


def events(app: App, type_: str) -> list[dict[str, Any]]:
    return [e.details for e in app.events.recent(1000) if e.type.value == type_]


def test_the_gate_hands_readers_the_site_master_key(gate: App, tmp_path: Path) -> None:
    site = gate.devices.readers["main-in"].context.secure
    assert site is not None
    assert site.master_key == bytes.fromhex((tmp_path / "master.key").read_text().strip())


def test_a_genuine_card_opens_and_a_replayed_counter_does_not(gate: App) -> None:
    enroll(gate, CARD)
    assert show(gate, CARD, ntag(5))["granted"]
    replay = show(gate, CARD, ntag(5))
    assert (replay["granted"], replay["reason"]) == (False, "replayed_card")
    assert show(gate, CARD, ntag(4))["reason"] == "replayed_card"
    assert show(gate, CARD, ntag(6))["granted"]
    alarms = events(gate, "replayed_card")
    assert [a["counter"] for a in alarms] == [5, 4]
    assert all(a["holder_id"] == "R-1" and "04A1B2C3" not in str(a).upper() for a in alarms)


def test_counters_survive_a_restart(
    make_app: Callable[..., App], secure_config: GateConfig, gate: App
) -> None:
    enroll(gate, CARD)
    assert show(gate, CARD, ntag(9))["granted"]
    gate.stop()
    again = make_app(secure_config)
    again.start(threaded=False)
    again.loop.pump()
    assert show(again, CARD, ntag(9))["reason"] == "replayed_card"


def test_after_a_restore_the_first_counter_is_taken_and_said(
    make_app: Callable[..., App], secure_config: GateConfig, gate: App, tmp_path: Path
) -> None:
    enroll(gate, CARD)
    assert show(gate, CARD, ntag(3))["granted"]
    gate.stop()
    config_file = tmp_path / "gate.toml"
    config_file.write_text("# the test's config is built in memory\n")
    now = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)
    backup(secure_config, config_file, tmp_path / "backup", now)
    restore(secure_config, tmp_path / "backup", now)
    again = make_app(secure_config)
    again.start(threaded=False)
    again.loop.pump()
    assert show(again, CARD, ntag(2))["granted"]  # below the backup's: taken, and said
    (restarted,) = events(again, "card_counter_restarted")
    assert restarted["counter"] == 2 and restarted["holder_id"] == "R-1"
    assert show(again, CARD, ntag(2))["reason"] == "replayed_card"  # and kept from then on
    assert len(events(again, "card_counter_restarted")) == 1


def test_clones_are_refused_and_their_alarm_limited(gate: App, clock: ManualClock) -> None:
    enroll(gate, CARD)
    for _ in range(3):
        refused = show(gate, CARD, SecureProof("desfire", "card_not_genuine"))
        assert (refused["granted"], refused["reason"]) == (False, "card_not_genuine")
    assert [a["held_back"] for a in events(gate, "clone_suspected")] == [0]
    clock.advance(61)
    show(gate, CARD, SecureProof("desfire", "card_not_genuine"))
    assert [a["held_back"] for a in events(gate, "clone_suspected")] == [0, 2]
    assert gate.doors["main"].locked


def test_relay_torn_and_foreign_chips(gate: App) -> None:
    enroll(gate, CARD)
    relay = show(gate, CARD, SecureProof("desfire", "relay_suspected", elapsed_s=0.25))
    assert relay["reason"] == "relay_suspected"
    assert events(gate, "relay_suspected")[0]["elapsed_ms"] == 250.0
    slow = show(gate, CARD, SecureProof("desfire", GENUINE, elapsed_s=0.301))  # budget 300 ms
    assert slow["reason"] == "relay_suspected"  # the gate checks the driver's timing again
    assert events(gate, "relay_suspected")[1]["elapsed_ms"] == 301.0
    assert show(gate, CARD, SecureProof("desfire", GENUINE, elapsed_s=0.299))["granted"]
    assert show(gate, CARD, SecureProof("desfire", "card_torn"))["reason"] == "card_torn"
    foreign = show(gate, CARD, ntag(20, originality=False))
    assert foreign["reason"] == "card_not_nxp"
    assert events(gate, "card_not_nxp")[0]["denied"] is True


def test_plain_cards_at_secure_and_migrating_doors(gate: App) -> None:
    enroll(gate, CARD)
    refused = tap(gate, CARD)  # a number-only read
    assert (refused["granted"], refused["reason"]) == (False, "secure_card_required")
    assert tap(gate, CARD, reader="side-in")["granted"]  # secure_preferred: let in, noted
    (used,) = events(gate, "plain_card_used")
    assert used == {"reader": "side-in", "holder_id": "R-1", "kind": "resident", "unit": None}
    assert show(gate, CARD, ntag(1), reader="side-in")["granted"]
    assert len(events(gate, "plain_card_used")) == 1  # a secure card is not noted


def test_the_console_says_it_in_plain_words(gate: App) -> None:
    from agent.console.render import catalogue
    from agent.console.words import reason_words

    enroll(gate, CARD, unit="B-12")
    show(gate, CARD, SecureProof("desfire", "card_not_genuine"))
    tap(gate, CARD, reader="side-in")
    (clone,) = [e for e in gate.events.recent(100) if e.type.value == "clone_suspected"]
    (plain,) = [e for e in gate.events.recent(100) if e.type.value == "plain_card_used"]
    zh = catalogue("zh-Hans").gettext
    assert event_text(clone) == "A copied card was shown at main (resident R-1, unit B-12)"
    assert event_text(clone, zh).startswith("main 出现复制卡") and "R-1" in event_text(clone, zh)
    assert event_text(plain) == "Plain card used at side by resident R-1, unit B-12"
    assert reason_words("secure_card_required", zh) == "此门需要使用加密卡"
