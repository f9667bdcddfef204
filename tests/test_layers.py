"""The shape of the code: what the decision engine pulls in, and how big a module may grow."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

HEAVY = ("drivers", "sqlite3", "paho", "agent.models.config", "pydantic", "gpiozero")


def test_importing_the_decision_engine_loads_no_driver_storage_mqtt_or_config() -> None:
    probe = (
        "import sys, agent.core.decision, agent.core.door, agent.core.loop;"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout


def test_modules_stay_small() -> None:
    limit = 300
    big = {
        str(path.relative_to(ROOT)): n
        for folder in ("agent", "drivers")
        for path in (ROOT / folder).rglob("*.py")
        if (n := len(path.read_text().splitlines())) > limit
    }
    assert not big, f"modules over {limit} lines: {big}"


def test_import_contracts_hold() -> None:
    """The layers in pyproject's [tool.importlinter], checked by import-linter itself."""
    lint = ROOT / ".venv" / "bin" / "lint-imports"
    command = [str(lint)] if lint.exists() else [sys.executable, "-m", "importlinter.cli"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout
