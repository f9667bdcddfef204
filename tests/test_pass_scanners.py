"""QR and barcode scanners: their decoders, a serial scanner on a pty and a keyboard-wedge
scanner on evdev's reader over a pipe, each delivering to a real App, and the simulated
scanner through the control socket and ``gate-agent sim scan``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from evdev import ecodes
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.core.clock import ManualClock, SystemClock
from agent.core.runner import Threads
from agent.faces.control import ControlServer, request
from agent.faces.simulate import SimControls
from agent.gate.app import App
from agent.link.signing import load_private_key, public_key_text
from agent.models.config import GateConfig
from agent.models.pass_codec import display_short
from drivers import registry
from drivers.base import DriverContext, ReaderHooks, Scan
from drivers.frames import BadFrame
from drivers.keyboard import EventSource
from drivers.scan_text import MAX_SCAN_LEN, ScanLineParser
from drivers.scanner_keyboard import KeyboardScanner, ScanKeyDecoder
from drivers.scanner_serial import SerialScanner
from tests.conftest import ROOT
from tests.helpers import AgentProcess, cli, write_sim_config
from tests.pass_rig import issue, pass_config
from tests.reader_rig import wait_for
from tests.test_keyboard import PipeEvents
from tests.test_serial_reader import Pty

CODE = "GP1.AEB7OBAFTHYMG3K2.KRSXG5A"  # a code's shape; the decoders do not read meaning


# -- the line decoders ------------------------------------------------------------------
def test_serial_lines_end_at_cr_or_lf_and_keep_their_case() -> None:
    parser = ScanLineParser()
    assert parser.feed(CODE.encode() + b"\r\n") == [CODE]
    assert parser.feed(b"]Q1abc") == [] and parser.feed(b"\n\n\r") == ["]Q1abc"]
    assert ScanLineParser(strip_prefix="]Q1").feed(b"]Q1abc\r") == ["abc"]
    assert parser.feed(b"caf\xc3\xa9\n") == [BadFrame("line is not printable ASCII")]
    assert parser.feed(b"x" * (MAX_SCAN_LEN + 5) + b"\nok\n") == [BadFrame("line too long"), "ok"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=80), max_size=20))
def test_serial_decoder_takes_any_bytes(chunks: list[bytes]) -> None:
    parser = ScanLineParser()
    for chunk in chunks:
        for item in parser.feed(chunk):
            assert isinstance(item, BadFrame) or (item and item.isprintable())


KEY = ecodes.EV_KEY


def typed(text: str) -> list[tuple[int, int, int]]:
    """A US-layout wedge typing ``text`` then Enter; capitals with a held shift."""
    codes = {".": ecodes.KEY_DOT, "-": ecodes.KEY_MINUS, "\n": ecodes.KEY_ENTER}
    events: list[tuple[int, int, int]] = []
    for char in text:
        code = codes.get(char) or getattr(ecodes, f"KEY_{char.upper()}")
        shift = char.isupper()
        if shift:
            events.append((KEY, ecodes.KEY_LEFTSHIFT, 1))
        events += [(KEY, code, 1), (ecodes.EV_SYN, 0, 0), (KEY, code, 0)]
        if shift:
            events.append((KEY, ecodes.KEY_LEFTSHIFT, 0))
    return events


def test_key_decoder_follows_shift_and_spoils_lines_with_odd_keys() -> None:
    decoder = ScanKeyDecoder()
    assert decoder.feed(typed(CODE + "\n")) == [CODE]
    assert decoder.feed(typed("abc-12\n")) == ["abc-12"]
    odd = [*typed("ab"), (KEY, ecodes.KEY_F5, 1), *typed("cd\n")]
    assert decoder.feed(odd) == [BadFrame("unexpected key")]
    assert decoder.feed([(KEY, ecodes.KEY_TAB, 1)]) == []  # a bare end is no scan


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([KEY, 0, 4]), st.integers(0, 300), st.integers(0, 2))))
def test_key_decoder_takes_any_key_events(events: list[tuple[int, int, int]]) -> None:
    for item in ScanKeyDecoder().feed(events):
        assert isinstance(item, BadFrame | str)


# -- scanners delivering to a gate ----------------------------------------------------------
@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def scanner_gate(
    make_app: Callable[..., App],
    make_config: Callable[..., GateConfig],
    key: Ed25519PrivateKey,
    scanner: dict[str, Any],
) -> App:
    """A running gate (threads, the real clock) whose main door has ``scanner``."""
    overrides = pass_config(key)
    overrides["doors"][0]["readers"][1] = {"id": "main-qr", **scanner}
    app = make_app(make_config(**overrides), clock=SystemClock())
    app.start(threaded=True)
    return app


def pass_events(app: App) -> list[dict[str, Any]]:
    return [e.details | {"type": e.type.value} for e in app.events.recent(100)
            if e.type.value.startswith("pass_")]  # fmt: skip


@pytest.fixture
def pty(tmp_path: Path) -> Iterator[tuple[Pty, Path]]:
    link = tmp_path / "ttyACM-qr"
    port = Pty(link)
    yield port, link
    port.close()


def test_a_serial_scanner_on_a_pty_lets_a_pass_in(make_app, make_config, key, pty) -> None:  # type: ignore[no-untyped-def]
    port, link = pty
    options = {"driver": "scanner-serial", "port": str(link), "retry_min_s": 0.02}
    app = scanner_gate(make_app, make_config, key, options)
    wait_for(lambda: app.status(0).readers["main-qr"].state == "ok", "the scanner connected")
    signed = issue(key, SystemClock().now().replace(microsecond=0), uses=2)
    port.write(signed.text.encode() + b"\r\n")
    wait_for(lambda: pass_events(app), "the pass decided")
    assert not app.doors["main"].locked
    port.write(signed.text.encode() + b"\r\n")  # held under it: the same presentation
    port.write(b"garbage\xff\r\n" + signed.text.lower().encode() + b"\n")
    wait_for(lambda: len(pass_events(app)) == 2, "the second scan")
    first, second = pass_events(app)
    assert (first["type"], first["uses_left"], first["reader"]) == ("pass_used", 1, "main-qr")
    assert (second["type"], second["uses_left"]) == ("pass_used", 0)  # new text: a new scan
    scanner = app.devices.readers["main-qr"]
    assert scanner.frame_errors == 1 and isinstance(scanner, SerialScanner)


class PipeScanner(KeyboardScanner):
    """The real keyboard-wedge scanner with its device node opened from a pipe instead."""

    def __init__(self, sources: list[PipeEvents]) -> None:
        opts = {"device": "/dev/input/event-qr", "retry_min_s": 0.02, "retry_max_s": 0.1}
        model = KeyboardScanner.Options.model_validate(opts)
        super().__init__("main-qr", model, DriverContext(ManualClock()))
        self.sources = sources

    def _open_device(self) -> EventSource:
        if not self.sources:
            raise FileNotFoundError("no such device")
        return self.sources.pop(0)


def test_a_keyboard_wedge_scanner_delivers_what_it_types() -> None:
    pipe = PipeEvents()
    scanner = PipeScanner([pipe])
    scans: list[Scan] = []
    health: list[tuple[bool, str]] = []
    threads = Threads("test")
    hooks = ReaderHooks(read=lambda _r: None, health=lambda ok, d: health.append((ok, d)),
                        scan=scans.append)  # fmt: skip
    scanner.start(hooks, threads)
    try:
        wait_for(lambda: health == [(True, "connected")], "connected")
        pipe.send(typed(CODE + "\n" + CODE + "\n"))
        pipe.send(typed("ok\n"))
        wait_for(lambda: len(scans) == 2, "two scans")
        assert [s.text for s in scans] == [CODE, "ok"]  # the repeat was held back
        assert CODE not in repr(scans[0])  # a pass is a credential: never in a log line
    finally:
        threads.stop()
        pipe.unplug()
        pipe.close()


def test_scanner_options_are_checked() -> None:
    context = DriverContext(ManualClock())
    with pytest.raises(ValueError, match="exactly one"):
        registry.create("reader", "scanner-keyboard", "qr", {}, context)
    with pytest.raises(ValueError, match="port"):
        registry.create("reader", "scanner-serial", "qr", {"baud": 9600}, context)


def test_the_simulated_scanner_through_the_control_socket(  # type: ignore[no-untyped-def]
    make_app, make_config, key, tmp_path
) -> None:
    app = make_app(make_config(**pass_config(key)), clock=SystemClock())
    sim = SimControls(app)
    app.add_part(ControlServer(sim, tmp_path / "control.sock"))
    app.start(threaded=True)
    signed = issue(key, SystemClock().now().replace(microsecond=0))
    reply = request(tmp_path / "control.sock", "scan", door="side", code=signed.text)
    assert reply["ok"] and reply["result"]["granted"], reply
    assert reply["result"]["reader"] == "side-qr" and reply["result"]["uses_left"] == 0
    again = request(tmp_path / "control.sock", "scan", door="side", code=signed.text)
    assert again["result"]["reason"] == "used_up"
    assert not request(tmp_path / "control.sock", "scan", door="side", code=7)["ok"]
    assert app.admit_pass("main", display_short(signed.short_code), "guard:g-2").reason == "unknown"


def test_gate_agent_sim_scan_with_a_pass_from_gate_office(tmp_path: Path) -> None:
    """The shipped simulator: `gate-office pass issue` with the demo office key, then
    `gate-agent sim scan` against a running agent."""
    demo_key = load_private_key(ROOT / "config" / "sim-office.key")
    mqtt = f'[mqtt]\nenabled = false\noffice_public_key = "{public_key_text(demo_key)}"\n'
    config = write_sim_config(tmp_path, mqtt=mqtt)
    office = subprocess.run(
        [sys.executable, "-m", "agent.office.cli", "--key", str(ROOT / "config" / "sim-office.key"),
         "--site", "palm-grove", "--gate", "main-gate", "--json", "pass", "issue", "--unit", "C-3",
         "--until", "+2h", "--doors", "pedestrian", "--allow-unknown-doors"],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "GATE_OFFICE_DB": str(tmp_path / "office.db")},
    )  # fmt: skip
    assert office.returncode == 0, office.stderr
    issued = json.loads(office.stdout)
    agent = AgentProcess(config)
    try:
        result = cli(config, "sim", "scan", "pedestrian", issued["code"])
        assert result.stdout.startswith(f"LET IN (granted) pass {issued['pass']['id']} unit C-3")
        again = cli(config, "sim", "scan", "pedestrian", issued["code"])
        assert again.stdout.startswith("REFUSED (used_up)")
        wrong = cli(config, "sim", "scan", "vehicle", issued["code"], check=False)
        assert wrong.returncode == 1 and "no simulated scanner" in wrong.stderr
    finally:
        assert agent.terminate() == 0


def test_check_config_warns_of_scanners_without_the_office_key(make_config) -> None:  # type: ignore[no-untyped-def]
    from agent.faces.checks import warnings
    from tests.pass_rig import scanner_doors

    found = dict(warnings(make_config(doors=scanner_doors())))
    assert (
        "refused as forged at doors.0.readers.1, doors.1.readers.1"
        in found["mqtt.office_public_key"]
    )
    assert "mqtt.office_public_key" not in dict(
        warnings(make_config(**pass_config(Ed25519PrivateKey.generate())))
    )
