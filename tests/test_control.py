"""The running agent driven from another process through its control socket."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from tests.helpers import AgentProcess, cli, write_sim_config
from tests.reader_rig import wait_for


def test_sim_socket_end_to_end(tmp_path: Path) -> None:
    config = write_sim_config(tmp_path)
    imported = tmp_path / "list.csv"
    imported.write_text("card,holder_id,doors\nuid:04A1B2C3,R-9,pedestrian\n")
    cli(config, "allowlist", "import", str(imported))
    agent = AgentProcess(config)
    try:
        out = cli(config, "sim", "tap", "04:a1:b2:c3", "--door", "pedestrian").stdout
        assert out.startswith("GRANTED (granted)") and "R-9" in out and "04A1B2C3" not in out
        out = cli(config, "sim", "tap", "uid:04A1B2C3", "--door", "vehicle").stdout
        assert out.startswith("DENIED (wrong_door)")
        assert "UNLOCKED" in cli(config, "sim", "press", "visitor").stdout
        out = cli(config, "sim", "door", "open", "--door", "vehicle").stdout
        assert "door_forced_open" in out
        cli(config, "sim", "door", "close", "--door", "vehicle")
        out = cli(config, "sim", "fire", "on").stdout
        assert "mode release" in out
        cli(config, "sim", "fire", "off")
        status = agent.status()
        assert status["mode"] == "normal" and status["allowlist_size"] == 1
        assert not status["doors"]["vehicle"]["forced"]
        # the vehicle gate is a barrier: its arm comes down after its close delay
        wait_for(lambda: agent.status()["doors"]["vehicle"]["locked"], "the arm down", 20)
        bad = cli(config, "sim", "tap", "nonsense", "--door", "vehicle", check=False)
        assert bad.returncode == 1 and "card:" in bad.stderr
        bad = cli(config, "sim", "tap", "uid:04A1B2C3", "--door", "roof", check=False)
        assert bad.returncode == 1 and "no door 'roof'" in bad.stderr
        assert agent.terminate() == 0
    finally:
        agent.terminate(signal.SIGKILL)
    events = json.loads(cli(config, "events", "--json", "--limit", "100").stdout)
    kinds = [e["type"] for e in events]
    assert kinds[:2] == ["allowlist_updated", "agent_started"] and kinds[-1] == "agent_stopped"
    assert {
        "access_granted",
        "access_denied",
        "visitor_registered",
        "door_forced_open",
        "fire_alarm",
        "fire_alarm_cleared",
    } <= set(kinds)
    log = agent.log.read_text()
    assert "granted: uid:****B2C3 at pedestrian" in log and "04A1B2C3" not in log
    stopped = cli(config, "status", check=False)
    assert stopped.returncode == 3 and "not running" in stopped.stdout


def test_restart_keeps_sequence_numbers(tmp_path: Path) -> None:
    config = write_sim_config(tmp_path)
    first = AgentProcess(config)
    cli(config, "sim", "tap", "uid:0000AAAA", "--door", "vehicle")
    first.terminate(signal.SIGKILL)  # no clean shutdown at all
    seqs_before = [e["seq"] for e in json.loads(cli(config, "events", "--json").stdout)]
    second = AgentProcess(config)
    cli(config, "sim", "tap", "uid:0000AAAA", "--door", "vehicle")
    assert second.terminate() == 0
    events = json.loads(cli(config, "events", "--json", "--limit", "100").stdout)
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs)) and seqs[: len(seqs_before)] == seqs_before
    assert len({e["id"] for e in events}) == len(events)


def test_second_agent_on_same_state_refuses(tmp_path: Path) -> None:
    config = write_sim_config(tmp_path)
    agent = AgentProcess(config)
    try:
        import subprocess
        import sys

        second = subprocess.run(
            [sys.executable, "-m", "agent.faces.cli", "run", "-c", str(config)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert second.returncode == 1 and "already running" in second.stderr
        assert agent.status()["running"]
    finally:
        agent.terminate()


def test_learn_prints_the_next_card_on_a_reader(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    config = write_sim_config(tmp_path)
    agent = AgentProcess(config)
    try:
        learner = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "agent.faces.cli",
                "learn",
                "--reader",
                "ped-in",
                "--timeout",
                "20",
                "-c",
                str(config),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 20
        tapped = cli(config, "sim", "tap", "04:a1:b2:c3", "--door", "pedestrian", check=False)
        while "no decision" not in tapped.stderr and time.monotonic() < deadline:
            time.sleep(0.2)  # the learner may not have registered yet: that tap was decided
            tapped = cli(config, "sim", "tap", "04:a1:b2:c3", "--door", "pedestrian", check=False)
        out, err = learner.communicate(timeout=20)
        assert learner.returncode == 0, err
        assert "uid:04A1B2C3  (masked uid:****B2C3, reader ped-in)" in out
        assert tapped.returncode == 1 and "no decision" in tapped.stderr
        bad = cli(config, "learn", "--reader", "roof", "--timeout", "1", check=False)
        assert bad.returncode == 1 and "no reader 'roof'" in bad.stderr
        assert agent.terminate() == 0
    finally:
        agent.terminate(signal.SIGKILL)
    events = json.loads(cli(config, "events", "--json", "--limit", "100").stdout)
    learned = [e for e in events if e["type"] == "card_learned"]
    assert len(learned) == 1 and learned[0]["details"]["card"] == "uid:****B2C3"
