"""A restored gate treats its allow-list as stale: a card the office revoked after the
backup was taken is refused, an alarm stands until the office's list is back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from agent.link.signing import public_key_text
from agent.link.topics import Topics
from tests.conftest import ROOT
from tests.helpers import AgentProcess, cli, write_sim_config
from tests.mqtt_helpers import office, wait_for

RESIDENT = "uid:04A224B2C15E80"
REVOKED = "uid:04C0FFEE01"  # R-200, revoked at the office after the backup
OVERRIDE = "uid:04AB0001"  # S-9, security staff: lockdown_override
SIM = Topics("gate", "palm-grove", "main-gate")


def _flags(broker: Any, tmp_path: Path) -> list[str]:
    return [sys.executable, "-m", "agent.office.cli", "--host", broker.host, "--port",
            str(broker.port), "--site", "palm-grove", "--gate", "main-gate",
            "--key", str(tmp_path / "office.key"), "--db", str(tmp_path / "office.db")]  # fmt: skip


def _office(broker: Any, tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_flags(broker, tmp_path), "--timeout", "15", *argv],
        capture_output=True, text=True, timeout=60, cwd=ROOT, check=False,
    )  # fmt: skip


def _tap(config: Path, card: str) -> str:
    return cli(config, "sim", "tap", card, "--door", "pedestrian").stdout


def _types(config: Path) -> list[str]:
    shown = cli(config, "events", "--json", "--limit", "500").stdout
    return [e["type"] for e in json.loads(shown)]


def test_a_restore_does_not_bring_a_revoked_card_back(
    tmp_path: Path, broker: Any, office_key: Any
) -> None:
    mqtt = (
        f'[mqtt]\nenabled = true\nhost = "{broker.host}"\nport = {broker.port}\n'
        f'office_public_key = "{public_key_text(office_key)}"\nreconnect_max_s = 2\n'
    )
    config = write_sim_config(tmp_path, mqtt=mqtt)
    members = tmp_path / "members.csv"
    members.write_text(
        "card,holder_id,kind,unit,doors,valid_from,valid_until,schedule,suspended,"
        "lockdown_override\n"
        f"{RESIDENT},R-101,resident,A-12,,,,,0,0\n"
        f"{REVOKED},R-200,resident,B-3,,,,,0,0\n"
        f"{OVERRIDE},S-9,staff,,,,,,0,1\n"
    )
    site_key = ["--site-key", str(ROOT / "config" / "sim-site.key")]
    agent = AgentProcess(config)
    try:
        pushed = _office(broker, tmp_path, "allowlist", "push", str(members), *site_key)
        assert pushed.returncode == 0, pushed.stderr
        assert "GRANTED" in _tap(config, REVOKED)
        cli(config, "backup", str(tmp_path / "bk"))
        revoked = _office(broker, tmp_path, "revoke", "--holder", "R-200")
        assert revoked.returncode == 0, revoked.stderr
        assert "DENIED (unknown)" in _tap(config, REVOKED)
        assert agent.terminate() == 0
    finally:
        agent.terminate(9)

    restored = cli(config, "restore", str(tmp_path / "bk"))
    assert "marked stale" in restored.stdout
    # the office service is not running yet: the restored list is all the gate has
    with office(broker, client_id="gate-office-serve", topics=SIM):
        pass  # its persistent session: the broker keeps the gate's request for it
    agent = AgentProcess(config)
    serve = None
    try:
        assert "DENIED (list_stale)" in _tap(config, REVOKED)
        assert "DENIED (list_stale)" in _tap(config, RESIDENT)
        assert "GRANTED" in _tap(config, OVERRIDE)  # guards and staff still get in
        assert "allowlist_stale" in _types(config)
        assert agent.status()["allowlist_stale"] is True
        # the office service starts: it answers the gate's request with its list
        serve = subprocess.Popen(
            [*_flags(broker, tmp_path), "serve"], cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=(tmp_path / "serve.log").open("w"),
        )  # fmt: skip
        wait_for(lambda: "allowlist_resynced" in _types(config), what="the office's list")
        assert agent.status()["allowlist_stale"] is False
        assert "DENIED (unknown)" in _tap(config, REVOKED)
        assert "GRANTED" in _tap(config, RESIDENT)
    finally:
        agent.terminate(9)
        if serve is not None:
            serve.terminate()
            serve.wait(20)


def test_an_import_on_site_replaces_a_restored_list_and_ends_the_alarm(tmp_path: Path) -> None:
    config = write_sim_config(tmp_path)
    members = tmp_path / "members.csv"
    members.write_text(f"card,holder_id\n{RESIDENT},R-101\n{REVOKED},R-200\n")
    cli(config, "allowlist", "import", str(members))
    cli(config, "backup", str(tmp_path / "bk"))
    cli(config, "restore", str(tmp_path / "bk"))
    agent = AgentProcess(config)
    try:
        assert agent.status()["allowlist_stale"] is True
        assert "STALE: restored from a backup" in cli(config, "status").stdout
        assert "DENIED (list_stale)" in _tap(config, RESIDENT)
        # the installer imports a current export of the office's list (R-200 revoked)
        members.write_text(f"card,holder_id\n{RESIDENT},R-101\n")
        cli(config, "allowlist", "import", str(members))
        assert agent.status()["allowlist_stale"] is False
        assert "GRANTED" in _tap(config, RESIDENT)
        assert "DENIED (unknown)" in _tap(config, REVOKED)
        assert "allowlist_resynced" in _types(config)
    finally:
        agent.terminate(9)
