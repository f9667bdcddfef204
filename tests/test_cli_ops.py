"""``gate-agent`` as an installer operates it: which config it reads, exit codes, global
flags, local times, ``events --follow``, ``config show`` and logging under journald."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from agent import __version__
from agent.core.clock import SystemClock
from agent.core.kinds import EventType
from agent.faces import configs
from agent.faces.cli import main
from agent.faces.logs import (
    JournalFormatter,
    PlainFormatter,
    parse_levels,
    syslog_priority,
    under_journald,
)
from agent.faces.show import redacted
from agent.faces.simulate import SimControls, SimError
from agent.gate.app import App
from agent.store.eventlog import EventLog
from tests.conftest import BASE, ROOT
from tests.helpers import AgentProcess, cli, write_sim_config

CAIRO = ZoneInfo("Africa/Cairo")  # the sim config's gate.timezone
CLI = [sys.executable, "-m", "agent.faces.cli"]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_sim_config(tmp_path)


@contextlib.contextmanager
def fresh_logging() -> Iterator[None]:
    """A root logger as a new process has it (without pytest's handlers), restored after."""
    root = logging.getLogger()
    names = ("agent.faces.events", "agent.link", "nfc")
    saved = list(root.handlers), root.level, {n: logging.getLogger(n).level for n in names}
    root.handlers[:] = []
    try:
        yield
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        for name, level in saved[2].items():
            logging.getLogger(name).setLevel(level)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse: --help, --version, usage errors
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def gate_named(tmp_path: Path, gate_id: str) -> Path:
    folder = tmp_path / gate_id
    folder.mkdir()
    path = write_sim_config(folder)
    path.write_text(path.read_text().replace('gate_id = "main-gate"', f'gate_id = "{gate_id}"'))
    return path


def append(config: Path, *types: tuple[EventType, str | None]) -> None:
    """Events written by another process, as the running agent writes them."""
    log = EventLog(config.parent / "state" / "events.db", SystemClock(), "palm-grove", "main-gate")
    for kind, door in types:
        log.append(kind, door, reason="test")
    log.close()


def assert_cairo(text: str) -> None:
    when = datetime.fromisoformat(text)
    assert when.utcoffset() == CAIRO.utcoffset(when.replace(tzinfo=None)), text


# -- 1. which config -------------------------------------------------------------------
def test_without_c_only_the_env_or_the_installed_file_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    installed = tmp_path / "etc" / "gate.toml"
    monkeypatch.setattr(configs, "SYSTEM_CONFIG", installed)
    monkeypatch.delenv("GATE_AGENT_CONFIG", raising=False)
    monkeypatch.chdir(ROOT)  # beside config/sim.toml: it must still not be picked up
    for argv in (
        ["status"],
        ["events"],
        ["allowlist", "list"],
        ["config", "show"],
        ["sim", "tap", "uid:04A1B2C3", "--door", "vehicle"],
        ["check-config"],
        ["safe-state"],
        ["learn", "--reader", "ped-in"],
    ):
        code, out, err = run(argv, capsys)
        assert code == 2 and out == "", (argv, code, out)
        assert len(err.splitlines()) == 1 and err.startswith("error: no config file"), err
        assert "$GATE_AGENT_CONFIG" in err and str(installed) in err, err

    installed.parent.mkdir()
    installed.write_text(gate_named(tmp_path, "etc-gate").read_text())
    code, out, _ = run(["status", "--json"], capsys)
    assert code == 3 and json.loads(out)["gate"] == "etc-gate"
    code, out, _ = run(["check-config"], capsys)
    assert code == 0 and out.startswith(f"{installed}: OK")

    monkeypatch.setenv("GATE_AGENT_CONFIG", str(gate_named(tmp_path, "env-gate")))
    assert json.loads(run(["status", "--json"], capsys)[1])["gate"] == "env-gate"
    given = gate_named(tmp_path, "given-gate")
    assert (
        json.loads(run(["status", "--json", "-c", str(given)], capsys)[1])["gate"] == "given-gate"
    )
    monkeypatch.setenv("GATE_AGENT_CONFIG", str(tmp_path / "gone.toml"))
    code, _, err = run(["events"], capsys)
    assert code == 2 and "gone.toml: no such file (from $GATE_AGENT_CONFIG)" in err


def test_dev_sim_names_the_simulator_config() -> None:
    script = (ROOT / "dev").read_text()
    sim_case = script[script.index("    sim)") : script.index(";;")]
    assert "gate-agent run --demo -c config/sim.toml" in sim_case


# -- 2, 3. exit codes, flags, no tracebacks ------------------------------------------------
def test_exit_codes_are_documented_and_status_says_3_when_stopped(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["--help"], capsys)
    assert code == 0
    for line in ("0  done", "1  runtime error", "2  configuration or usage error", "3  the agent"):
        assert line in out, out
    code, out, _ = run(["status", "-c", str(config)], capsys)
    assert code == 3 and out.startswith("agent: not running")
    code, out, _ = run(["status", "--json", "-c", str(config)], capsys)
    assert code == 3 and json.loads(out)["running"] is False
    with socket.socket(socket.AF_UNIX) as stale:  # the socket a killed agent leaves behind
        stale.bind(str(config.parent / "state" / "control.sock"))
    code, out, _ = run(["status", "-c", str(config)], capsys)
    assert code == 3 and out.startswith("agent: not running")


def test_global_flags_before_or_after_the_subcommand(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    c = str(config)
    assert run(["status", "-c", c, "--log-level", "debug"], capsys)[0] == 3
    assert run(["-c", c, "--log-level", "debug", "status"], capsys)[0] == 3
    assert run(["allowlist", "list", "-c", c], capsys)[0] == 0
    assert run(["-c", c, "allowlist", "--log-level", "info", "list"], capsys)[0] == 0
    with fresh_logging():
        assert run(["-c", c, "events", "--log-level", "error"], capsys)[0] == 0
        assert logging.getLogger().level == logging.ERROR
    assert run(["--version"], capsys)[1] == f"gate-agent {__version__}\n"
    for spec in ("bogus", "info,agent.link=loud", "info,=debug"):
        code, out, err = run(["status", "-c", c, "--log-level", spec], capsys)
        assert code == 2 and out == "" and len(err.splitlines()) == 1, (spec, err)
        assert err.startswith("error: log level") and "Traceback" not in err


def test_ctrl_c_and_a_closed_pipe_end_follow_quietly(config: Path) -> None:
    append(config, (EventType.ACCESS_DENIED, "vehicle"), (EventType.DOOR_OPENED, "vehicle"))
    follow = [*CLI, "events", "-c", str(config), "--follow", "--type", "access_denied"]
    child = subprocess.Popen(
        [*follow, "--door", "vehicle"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    assert "access_denied" in child.stdout.readline()  # the past one: the loop is running
    append(
        config,
        (EventType.ACCESS_DENIED, "pedestrian"),
        (EventType.DOOR_FORCED_OPEN, "vehicle"),
        (EventType.ACCESS_DENIED, "vehicle"),
    )
    line = child.stdout.readline()
    assert re.match(r" #5 +\S+ access_denied +vehicle +reason=test$", line), line
    assert_cairo(line.split()[1])
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=30)
    assert child.returncode == 0 and err == ""

    quiet = subprocess.Popen(
        [*CLI, "events", "-c", str(config), "-f", "--limit", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert quiet.stdout is not None
    quiet.stdout.close()  # `| head -0`: no event is coming, the reader is gone anyway
    _, err_bytes = quiet.communicate(timeout=30)
    assert quiet.returncode == 0 and err_bytes == b""

    bad = subprocess.run(
        [*CLI, "events", "-c", str(config), "--type", "acess_denied"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2 and "did you mean access_denied" in bad.stderr
    assert "Traceback" not in bad.stderr


@pytest.mark.parametrize("closed", [0, 1, 2])
def test_a_command_started_with_a_standard_stream_closed_does_its_work(
    config: Path, tmp_path: Path, closed: int
) -> None:
    """``gate-agent ... >&-`` (or ``2>&-``, ``<&-``): the command's work is done and its
    status is its own, not an internal error about a missing stream; what it prints to
    the closed stream is dropped; the office's command line the same."""
    streams = {0: "stdin", 1: "stdout", 2: "stderr"}
    closing = {0: "<&-", 1: ">&-", 2: "2>&-"}[closed]  # as a person at a shell does it

    def start(argv: list[str]) -> tuple[int, bytes, bytes]:
        shell = ["sh", "-c", f'exec "$@" {closing}', "sh", *argv]
        done = subprocess.run(shell, capture_output=True, timeout=60, check=False)
        return done.returncode, done.stdout, done.stderr

    code, out, err = start([*CLI, "check-config", "-c", str(config)])
    assert code == 0, (streams[closed], err)
    assert b"internal error" not in out + err and b"Traceback" not in out + err
    if closed != 1:
        assert b"OK" in out
    key = tmp_path / "new.key"
    code, out, err = start([*CLI, "keygen", str(key)])
    assert code == 0 and key.stat().st_size > 0, (streams[closed], err)
    office = [sys.executable, "-m", "agent.office.cli", "--db", str(tmp_path / "office.db")]
    code, out, err = start([*office, "fleet"])
    assert code == 0, (streams[closed], err)
    assert b"internal error" not in out + err


# -- 4. which door --------------------------------------------------------------------------
def test_sim_needs_a_door_only_when_the_gate_has_several(
    app: App, make_app: Any, make_config: Any
) -> None:
    sim = SimControls(app)  # doors main and side
    for stimulus in (
        lambda: sim.tap("uid:04A1B2C3"),
        lambda: sim.press("exit"),
        lambda: sim.door("open"),
    ):
        with pytest.raises(SimError, match=r"give --door; this gate has main, side"):
            stimulus()
    assert sim.tap("uid:04A1B2C3", reader="side-in").door == "side"  # the reader says which
    assert not sim.tap("uid:04A1B2C3", door="main").granted
    one = make_app(make_config(doors=[BASE["doors"][0]], storage={"dir": "state-one"}))
    one.start(threaded=False)
    lone = SimControls(one)
    assert lone.tap("uid:04A1B2C3").door == "main"
    assert lone.press("exit")["doors"]["main"]["locked"] is False


# -- 5. times ---------------------------------------------------------------------------------
def test_times_are_printed_in_the_gates_zone(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cards = tmp_path / "cards.csv"
    cards.write_text(
        "card,holder_id,valid_from,valid_until\nuid:04A1B2C3,R-1,2026-01-01,2026-01-01\n"
    )
    c = str(config)
    assert run(["allowlist", "import", str(cards), "-c", c], capsys)[0] == 0
    out = run(["allowlist", "list", "-c", c], capsys)[1]
    assert "from=2026-01-01T00:00:00+02:00 until=2026-01-02T00:00:00+02:00" in out, out
    entry = json.loads(run(["allowlist", "list", "--json", "-c", c], capsys)[1])["entries"][0]
    assert (entry["valid_from"], entry["valid_until"]) == (
        "2026-01-01T00:00:00+02:00",
        "2026-01-02T00:00:00+02:00",
    )
    append(config, (EventType.ACCESS_DENIED, "vehicle"))
    lines = run(["events", "-c", c], capsys)[1].splitlines()
    assert len(lines) == 2 and all(assert_cairo(line.split()[1]) is None for line in lines)
    rows = json.loads(run(["events", "--json", "-c", c], capsys)[1])
    for row in rows:
        assert_cairo(row["time"])
    status = json.loads(run(["status", "--json", "-c", c], capsys)[1])
    assert [e["seq"] for e in status["recent_events"]] == [e["seq"] for e in rows]
    for event in status["recent_events"]:
        assert_cairo(event["time"])


# -- 7. config show -----------------------------------------------------------------------------
def test_config_show_gives_each_value_its_source_and_no_secret(tmp_path: Path) -> None:
    (tmp_path / "mqtt.password").write_text("s3cret-pass\n")
    mqtt = '[mqtt]\nenabled = false\nusername = "gate-1"\npassword_file = "mqtt.password"\n'
    config = write_sim_config(tmp_path, mqtt=mqtt)
    overlay = tmp_path / "state" / "config.remote.json"
    overlay.parent.mkdir()
    overlay.write_text(
        json.dumps({"revision": 7, "sections": {"alarms": {"card_denials": {"count": 9}}}})
    )

    shown = cli(config, "config", "show", "--json")
    data = json.loads(shown.stdout)
    values = data["values"]
    assert data["office_revision"] == 7 and data["file"] == str(config)
    assert values["alarms.card_denials.count"] == {"value": 9, "source": "office revision 7"}
    assert values["alarms.reader_denials.count"]["source"] == "default"  # the section was replaced
    assert values["gate.timezone"] == {"value": "Africa/Cairo", "source": "file"}
    assert values["doors.1.readers.1.id"] == {"value": "ped-out", "source": "file"}
    assert values["doors.1.fail_mode"] == {"value": "secure", "source": "default"}
    assert values["mqtt.password_file"] == {
        "value": str(tmp_path / "mqtt.password"),
        "source": "file",
    }
    assert values["mqtt.port"]["source"] == "default"
    text = cli(config, "config", "show").stdout
    assert re.search(r"^count = 9 +# office revision 7$", text, re.MULTILINE), text
    assert re.search(r'^timezone = "Africa/Cairo" +# file$', text, re.MULTILINE)
    assert "[[doors.readers]]" in text and "[alarms.card_denials]" in text
    key_hex = (ROOT / "config" / "sim-site.key").read_text().strip()
    for output in (shown.stdout, text):
        assert "s3cret-pass" not in output and key_hex not in output

    overlay.write_text("{not json")
    unreadable = cli(config, "config", "show")
    assert "config.remote.json is unreadable" in unreadable.stdout
    assert overlay.read_text() == "{not json"  # shown, never set aside: `show` only reads


def test_values_named_like_secrets_are_redacted() -> None:
    doc = {"mqtt": {"password": "x", "password_file": "/etc/p", "host": "h"}, "o": [{"token": 1}]}
    assert redacted(doc) == {
        "mqtt": {"password": "<redacted>", "password_file": "/etc/p", "host": "h"},
        "o": [{"token": "<redacted>"}],
    }


# -- 8. logging ---------------------------------------------------------------------------------
def test_log_levels_per_logger_from_the_flag_or_the_environment(
    config: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert parse_levels("warning,agent.link=debug") == (30, {"agent.link": 10})
    spec = "error,agent.faces.events=debug,nfc=debug"
    with fresh_logging():
        assert run(["events", "-c", str(config), "--log-level", spec], capsys)[0] == 0
        assert logging.getLogger().level == logging.ERROR
        assert logging.getLogger("agent.faces.events").level == logging.DEBUG
        assert logging.getLogger("nfc").level == logging.INFO  # its debug lines carry raw UIDs
        monkeypatch.setenv("GATE_AGENT_LOG", "warning,agent.link=debug")
        assert run(["events", "-c", str(config)], capsys)[0] == 0
        assert logging.getLogger().level == logging.WARNING
        assert logging.getLogger("agent.link").level == logging.DEBUG
        handlers = logging.getLogger().handlers
        assert len(handlers) == 1  # a second main() replaced its handler, did not add one


def test_journal_lines_carry_priorities_and_stay_one_entry(tmp_path: Path) -> None:
    assert [syslog_priority(n) for n in (50, 40, 30, 20, 10)] == [2, 3, 4, 6, 7]
    try:
        raise ValueError("bad\nworse")
    except ValueError:
        record = logging.LogRecord("agent.x", 40, __file__, 1, "two\nlines", (), sys.exc_info())
    line = JournalFormatter().format(record)
    assert "\n" not in line and line.startswith("<3>agent.x: two\\nlines\\nTraceback")
    plain = PlainFormatter().format(record).splitlines()
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d ERROR", plain[0])
    assert all(part.startswith("    ") for part in plain[1:])

    with (tmp_path / "stream").open("w") as stream:
        st = os.fstat(stream.fileno())
        os.environ["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
        try:
            assert under_journald(stream)  # type: ignore[arg-type]
            os.environ["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino + 1}"
            assert not under_journald(stream)  # type: ignore[arg-type]
        finally:
            del os.environ["JOURNAL_STREAM"]
        assert not under_journald(stream)  # type: ignore[arg-type]


def test_a_running_agent_under_journald(config: Path) -> None:
    """The agent's own log as journald would take it; the CLI around a running agent."""
    log = config.parent / "agent.log"
    log.touch()  # AgentProcess reopens this very inode for the child's stderr
    st = log.stat()
    agent = AgentProcess(config, env={"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"})
    try:
        no_door = cli(config, "sim", "tap", "uid:04A1B2C3", check=False)
        assert no_door.returncode == 1 and no_door.stdout == ""
        assert no_door.stderr == (
            "error: which door? give --door; this gate has vehicle, pedestrian\n"
        )
        assert cli(config, "sim", "press", "exit", check=False).returncode == 1
        cli(config, "sim", "tap", "uid:04A1B2C3", "--door", "vehicle")
        running = cli(config, "status", "--json")
        status = json.loads(running.stdout)
        assert status["running"] and running.returncode == 0
        assert_cairo(status["time"])
        assert status["recent_events"][-1]["type"] == "access_denied"
        assert_cairo(status["recent_events"][-1]["time"])
        assert agent.terminate() == 0
    finally:
        agent.terminate(signal.SIGKILL)
    lines = log.read_text().splitlines()
    assert lines and all(re.match(r"<[2-7]>[a-z_.]+: ", line) for line in lines), lines
    assert any(line.startswith("<6>agent.gate.app: gate palm-grove/main-gate") for line in lines)
