"""The site's zone and default language: flags of every `gate-office web` command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.office_web_rig import ROOT, gate_office, own_environment


def _settings_after(tmp_path: Path, *flags: str) -> list[str]:
    """What Django holds after ``gate-office web migrate FLAGS`` has set it up."""
    state = tmp_path / "web"
    assert gate_office("web", "init", "--state", str(state)).returncode == 0
    script = (
        "import sys; from agent.office.web.commands import web_parser, _setup; "
        "_setup(web_parser().parse_args(sys.argv[1:])); "
        "from django.conf import settings; from django.utils import timezone; "
        "print(timezone.get_current_timezone_name(), settings.LANGUAGE_CODE)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, "migrate", "--state", str(state), *flags],
        cwd=ROOT, env=own_environment(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_the_site_is_in_shanghai_and_chinese_unless_told(tmp_path: Path) -> None:
    assert _settings_after(tmp_path) == ["Asia/Shanghai", "zh-hans"]


def test_flags_name_the_sites_zone_and_language(tmp_path: Path) -> None:
    flags = ("--timezone", "Africa/Cairo", "--site-language", "en")
    assert _settings_after(tmp_path, *flags) == ["Africa/Cairo", "en"]


def test_a_mistyped_zone_is_one_line(tmp_path: Path) -> None:
    done = gate_office("web", "migrate", "--state", str(tmp_path), "--timezone", "Asia/Shanghia")
    assert done.returncode == 2
    assert done.stderr == (
        "error: --timezone 'Asia/Shanghia' is not a time zone name "
        "(e.g. Africa/Cairo, Europe/Berlin)\n"
    )
