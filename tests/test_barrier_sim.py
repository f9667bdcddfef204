"""The simulator's vehicle gate is a barrier with loops and a sign: driven through the
real CLI against ``gate-agent run`` on config/sim.toml, as the README says."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import AgentProcess, cli, write_sim_config


def test_the_simulated_vehicle_gate_is_a_barrier(tmp_path: Path) -> None:
    config = write_sim_config(tmp_path)
    # a CLI call takes about a second: the second car must come before the arm closes
    text = config.read_text()
    assert "close_delay_s = 1.5" in text
    config.write_text(text.replace("close_delay_s = 1.5", "close_delay_s = 60.0"))
    agent = AgentProcess(config)
    try:
        out = cli(config, "sim", "loop", "on", "--door", "vehicle").stdout
        assert "door vehicle" in out
        barrier = agent.status()["barriers"]["vehicle"]
        assert barrier["vehicle_present"] and barrier["phase"] == "down"
        assert barrier["sign"] == ["欢迎光临", ""]
        cli(config, "sim", "press", "exit", "--door", "vehicle")  # raise for the car
        assert agent.status()["barriers"]["vehicle"]["phase"] == "occupied"
        cli(config, "sim", "loop", "off", "--door", "vehicle")
        cli(config, "sim", "loop", "on", "--door", "vehicle")  # a second car, same raise
        cli(config, "sim", "loop", "off", "--door", "vehicle")
        assert agent.status()["barriers"]["vehicle"]["vehicle_tailgates"] == 1
        events = cli(config, "events", "--limit", "10").stdout
        assert "vehicle_tailgate     vehicle" in events
        bad = cli(config, "sim", "loop", "on", "--door", "pedestrian", check=False)
        assert bad.returncode != 0 and "Traceback" not in bad.stderr
    finally:
        assert agent.terminate() == 0
