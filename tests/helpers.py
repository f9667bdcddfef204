"""Running the real agent as a subprocess, as an installer would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.conftest import ROOT


def write_sim_config(tmp_path: Path, extra: str = "", mqtt: str | None = None) -> Path:
    """The shipped simulator config, with state in tmp_path and an optional [mqtt] table."""
    text = (ROOT / "config" / "sim.toml").read_text()
    text = text.replace('dir = "../var/sim"', f'dir = "{tmp_path / "state"}"')
    text = text.replace('"sim-site.key"', f'"{ROOT / "config" / "sim-site.key"}"')
    text = text[: text.index("[mqtt]")] + (mqtt or "[mqtt]\nenabled = false\n")
    path = tmp_path / "gate.toml"
    path.write_text(text + extra)
    return path


def cli(config: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "agent.faces.cli", *args[:1], *args[1:], "-c", str(config)]
        if args[0] not in ("sim", "allowlist")
        else [sys.executable, "-m", "agent.faces.cli", *args, "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"gate-agent {' '.join(args)} failed:\n{result.stderr}")
    return result


def _answers(sock: Path) -> bool:
    """The agent on ``sock`` answers a status request."""
    from agent.faces.control import request

    try:
        return bool(request(sock, "status", timeout=5).get("ok"))
    except (OSError, ValueError):
        return False


class AgentProcess:
    """``gate-agent run`` in a child process; waits until its control socket answers."""

    def __init__(self, config: Path, *extra: str, env: dict[str, str] | None = None) -> None:
        self.config = config
        self.log = config.parent / "agent.log"
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agent.faces.cli", "run", "-c", str(config), *extra],
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("w"),
            env=env,
        )
        self.wait_ready()

    def wait_ready(self, timeout: float = 20) -> None:
        """Until ``gate-agent status`` says it runs. The control socket is asked first,
        from here: a ``gate-agent`` start-up per try would compete with the agent's own."""
        deadline = time.monotonic() + timeout
        sock = self._control_socket()
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"agent exited early:\n{self.log.read_text()}")
            if sock is None or _answers(sock):
                result = cli(self.config, "status", "--json", check=False)
                if result.returncode == 0 and json.loads(result.stdout).get("running"):
                    return
            time.sleep(0.1 if sock is None else 0.02)
        raise AssertionError(f"agent never became ready:\n{self.log.read_text()}")

    def _control_socket(self) -> Path | None:
        """Where ``gate-agent status`` asks the agent; None if this config cannot say."""
        from agent.models.config import load_config
        from agent.store.paths import StatePaths

        try:
            return StatePaths(load_config(self.config).storage.dir).control_socket
        except Exception:  # the agent's own start-up will say what is wrong with it
            return None

    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(cli(self.config, "status", "--json").stdout)
        return result

    def terminate(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)
