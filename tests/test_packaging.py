"""The files an installer uses point at commands that exist."""

import configparser
import shlex
import subprocess

from agent.faces.cli import build_parser
from tests.conftest import ROOT


def test_systemd_unit_commands_exist() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment, method-assign]
    unit.read(ROOT / "systemd" / "gate-agent.service")
    service = unit["Service"]
    assert service["Type"] == "notify" and service.get("WatchdogSec")
    parser = build_parser()
    for key in ("ExecStart", "ExecStopPost"):
        argv = shlex.split(service[key])
        assert argv[0].endswith("/gate-agent")
        parser.parse_args(argv[1:])  # exits (SystemExit) if the command line is wrong


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text().split("```")[1].strip().splitlines()
    assert readme == ["./dev sim", "./dev test"]
    assert "./dev test" in (ROOT / ".ci" / "run").read_text()


def test_console_script_is_installed() -> None:
    result = subprocess.run(
        ["gate-agent", "--version"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": str(ROOT / ".venv" / "bin")},
    )
    assert result.returncode == 0 and result.stdout.strip()
