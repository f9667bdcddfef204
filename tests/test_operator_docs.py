"""What an operator reads in docs/install.md and docs/hardware.md works as written."""

from __future__ import annotations

import tomllib
from pathlib import Path

from agent.link.remote_config import merge
from agent.models.config import validate_config
from tests.conftest import ROOT

DOCS = ROOT / "docs"


def test_the_config_push_example_in_install_md_is_taken_by_a_gate(tmp_path: Path) -> None:
    text = (DOCS / "install.md").read_text()
    section = text[text.index("### Changing a gate's settings from the office") :]
    assert "config push changes.toml" in section and "replaces" in section
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    template = (ROOT / "config" / "gate.example.toml").read_text()
    template = template.replace('"/var/lib/gate-agent"', f'"{tmp_path / "state"}"')
    gate = validate_config(tomllib.loads(template), tmp_path)
    pushed = merge(gate, tomllib.loads(example))
    assert pushed.alarms.card_denials.lockout_s == 600
    assert pushed.schedules["staff-hours"].holidays == "public"
    assert pushed.doors == gate.doors and pushed.mqtt == gate.mqtt  # nothing else changed


def test_checking_a_config_off_the_pi_is_documented() -> None:
    for page in ("install.md", "hardware.md"):
        text = (DOCS / page).read_text()
        assert "GPIOZERO_PIN_FACTORY=mock gate-agent check-config" in " ".join(text.split())
        assert "pip install lgpio" in text, page
