"""A card on a real driver path in the running daemon: EM4100 frame on a pty -> serial
driver -> decision -> gpiozero relay on mock pins (GPIOZERO_PIN_FACTORY=mock)."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from tests.helpers import AgentProcess, cli

# EM4100 id 0A000C0D80: facility 12, card 3456 in its low 24 bits (= w26:12:3456)
EM_ID = "0A000C0D80"


def em4100_frame(id_hex: str) -> bytes:
    checksum = 0
    for i in range(0, 10, 2):
        checksum ^= int(id_hex[i : i + 2], 16)
    return b"\x02" + id_hex.encode() + f"{checksum:02X}".encode() + b"\x03"


def gate_config(tmp_path: Path, port: str) -> Path:
    from agent.store.credentials import write_new_key

    write_new_key(tmp_path / "site.key")
    path = tmp_path / "gate.toml"
    path.write_text(
        f"""
[gate]
site = "e2e"
gate_id = "g1"
simulated = true
[storage]
dir = "state"
[security]
credential_key_file = "site.key"
[clock]
sync_marker = ""
[[doors]]
id = "main"
pulse_s = 3.0
readers = [{{ id = "em-in", driver = "serial", port = "{port}", format = "em4100" }}]
relay = {{ driver = "gpio", pin = 17 }}
"""
    )
    return path


def door_state(config: Path) -> dict[str, object]:
    status = json.loads(cli(config, "status", "--json").stdout)
    door: dict[str, object] = status["doors"]["main"]
    return door


def test_em4100_frame_pulses_a_gpio_relay_in_the_daemon(tmp_path: Path) -> None:
    master, slave = os.openpty()
    try:
        config = gate_config(tmp_path, os.ttyname(slave))
        cards = tmp_path / "cards.csv"
        cards.write_text("card,holder_id\nw26:12:3456,R-12\n")  # enrolled by its Wiegand number
        cli(config, "allowlist", "import", str(cards))
        agent = AgentProcess(config, env={"GPIOZERO_PIN_FACTORY": "mock"})
        try:
            deadline = time.monotonic() + 20
            status = json.loads(cli(config, "status", "--json").stdout)
            while status["readers"]["em-in"]["state"] != "ok" and time.monotonic() < deadline:
                time.sleep(0.1)
                status = json.loads(cli(config, "status", "--json").stdout)
            assert status["readers"]["em-in"]["state"] == "ok", status["readers"]
            assert door_state(config)["relay_energised"] is False
            os.write(master, b"\x00noise" + em4100_frame(EM_ID))
            seen: set[object] = set()
            while time.monotonic() < deadline and True not in seen:
                seen.add(door_state(config)["relay_energised"])
            assert True in seen, "the relay never pulsed"
            while time.monotonic() < deadline and door_state(config)["relay_energised"]:
                time.sleep(0.1)
            assert door_state(config)["relay_energised"] is False  # relocked after the pulse
            assert agent.terminate() == 0
        finally:
            agent.terminate(signal.SIGKILL)
    finally:
        os.close(master)
        os.close(slave)
    events = json.loads(cli(config, "events", "--json", "--limit", "50").stdout)
    granted = [e for e in events if e["type"] == "access_granted"]
    assert len(granted) == 1 and granted[0]["details"]["holder_id"] == "R-12"
    assert granted[0]["details"]["reader"] == "em-in"
    assert EM_ID not in agent.log.read_text()  # no raw card number in the log
