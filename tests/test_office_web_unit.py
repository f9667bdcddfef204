"""systemd/gate-office-web.service starts commands that exist, with the field key outside."""

from __future__ import annotations

import shlex

from tests.office_web_rig import ROOT, gate_office

UNIT = ROOT / "systemd" / "gate-office-web.service"


def _settings() -> list[tuple[str, str]]:
    lines = [line.strip() for line in UNIT.read_text().splitlines()]
    return [tuple(line.split("=", 1)) for line in lines if "=" in line and line[0] != "#"]  # type: ignore[misc]


def test_the_units_commands_are_gate_office_web_commands() -> None:
    settings = _settings()
    commands = [value for key, value in settings if key in ("ExecStartPre", "ExecStart")]
    assert [shlex.split(c)[1:3] for c in commands] == [["web", "migrate"], ["web", "serve"]]
    for command in commands:
        argv = [*shlex.split(command)[1:], "--help"]
        assert gate_office(*argv).returncode == 0, command
    assert ("LoadCredential", "field.key:/etc/gate-office/field.key") in settings
    assert ("Environment", "GATE_OFFICE_WEB_FIELD_KEY=%d/field.key") in settings
    assert ("User", "gate-office") in settings and ("ProtectSystem", "strict") in settings
