import subprocess
import sys
from pathlib import Path

import pytest

from agent.errors import ConfigError
from agent.faces.cli import main
from agent.models.config import load_config, validate_config
from tests.conftest import BASE, ROOT, merge


def test_example_config_is_valid() -> None:
    config = load_config(ROOT / "config" / "sim.toml")
    assert {d.id for d in config.doors} == {"vehicle", "pedestrian"}
    assert config.security.credential_key_file.is_absolute()


def test_every_error_is_listed_with_its_key_path(tmp_path: Path) -> None:
    bad = merge(BASE, {"gate": {"timezone": "Mars/Olympus", "bogus": 1}})
    bad["doors"][0]["pulse_s"] = -1
    bad["doors"][1]["relay"] = {"driver": "gpio", "pin": 5, "nonsense": True}
    bad["doors"][0]["readers"][0]["driver"] = "teleport"
    with pytest.raises(ConfigError) as err:
        validate_config(bad, tmp_path)
    paths = {path for path, _ in err.value.errors}
    assert "gate.timezone" in paths
    assert "gate.bogus" in paths
    assert "doors.0.pulse_s" in paths
    assert "doors.1.relay" in paths
    assert "doors.0.readers.0" in paths
    text = str(err.value)
    assert "Mars/Olympus" in text and "nonsense" in text and "teleport" in text


def test_cross_references_are_checked(tmp_path: Path) -> None:
    bad = merge(BASE, {"inputs": {"visitor_button": {"door": "nowhere"}}})
    bad["schedules"]["day"]["holidays"] = "missing"
    with pytest.raises(ConfigError) as err:
        validate_config(bad, tmp_path)
    assert "nowhere" in str(err.value) and "missing" in str(err.value)


def test_duplicate_reader_ids_refused(tmp_path: Path) -> None:
    bad = merge(BASE, {})
    bad["doors"][1]["readers"] = [{"id": "main-in"}]
    with pytest.raises(ConfigError, match="reader ids"):
        validate_config(bad, tmp_path)


def test_check_config_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(ROOT / "config" / "sim.toml")]) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text('[gate]\nsite = "Bad Site"\ngate_id = "g"\n[storage]\nfoo = 1\n')
    assert main(["check-config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "gate.site" in err and "storage.foo" in err and "doors" in err and "security" in err
    broken = tmp_path / "broken.toml"
    broken.write_text("[gate\n")
    assert main(["check-config", str(broken)]) == 2
    assert "not valid TOML" in capsys.readouterr().err


def test_check_config_console_script_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "agent.faces.cli", "check-config", "/nonexistent.toml"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2 and "no such file" in result.stderr
