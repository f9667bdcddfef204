"""Secure credentials in the gate's config (issue 20): door policies, the master key,
readers that cannot carry a proof, and the key kept out of routine backups."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agent.core.secure import CredentialPolicy
from agent.errors import ConfigError, FatalError
from agent.faces.checks import warnings
from agent.models.config import validate_config
from agent.models.secure import can_carry_secure, reader_warnings
from agent.store.backup import backup, read_manifest
from agent.store.credentials import write_new_key
from agent.store.keyfiles import MASTER_KEY, secret_file_problems, secure_site
from tests.conftest import merge
from tests.test_config_checks import GATE_TOML, REAL, _cli, _write

SECURE_DOOR = {
    "id": "main",
    "credential": "secure",
    "readers": [{"id": "main-in", "driver": "wiegand", "d0": 5, "d1": 6}],
    "relay": {"driver": "gpio", "pin": 17},
}


def config_with(tmp_path: Path, credential: str, **extra: Any) -> Any:
    for name, size in (("master.key", 16), ("site.key", 32)):
        if not (tmp_path / name).exists():
            write_new_key(tmp_path / name, size)
    door = {**SECURE_DOOR, "credential": credential}
    table = {"doors": [door], "secure": {"master_key_file": "master.key"}, **extra}
    return validate_config(merge(REAL, table), tmp_path)


def test_doors_are_plain_unless_they_say_otherwise(tmp_path: Path) -> None:
    config = validate_config(REAL, tmp_path)
    assert config.doors[0].credential is CredentialPolicy.PLAIN
    assert config.secure.master_key_file is None


def test_a_secure_door_needs_the_master_key_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_config(merge(REAL, {"doors": [SECURE_DOOR]}), tmp_path)
    (path, message), *_ = caught.value.errors
    assert path == "secure.master_key_file" and "requires secure cards" in message
    config = config_with(tmp_path, "secure")
    assert config.secure.master_key_file == tmp_path / "master.key"  # taken from the file


def test_number_only_readers_at_secure_doors(tmp_path: Path) -> None:
    errors, found = reader_warnings(config_with(tmp_path, "secure"))
    assert [p for p, _ in errors] == ["doors.0.readers.0"] and not found
    assert "every card is refused there" in errors[0][1]
    errors, found = reader_warnings(config_with(tmp_path, "secure_preferred"))
    assert not errors and [p for p, _ in found] == ["doors.0.readers.0"]
    assert ("doors.0.readers.0", found[0][1]) in warnings(config_with(tmp_path, "secure_preferred"))
    assert reader_warnings(config_with(tmp_path, "plain")) == ([], [])


@pytest.mark.parametrize(
    ("driver", "options", "secure"),
    [
        ("nfc", {}, True),
        ("nfc", {"device": "tty:serial0:pn532"}, True),
        ("nfc", {"device": "usb:04cc:2533"}, True),  # PN533
        ("nfc", {"device": "usb:072f:2200"}, False),  # ACR122U: its firmware only senses
        ("nfc", {"device": "USB:072F:2200"}, False),
        ("osdp", {"transparent": True}, False),  # libosdp 3.2 has no osdp_XWR
        ("osdp", {}, False),
        ("wiegand", {}, False),
        ("serial", {}, False),
        ("keyboard", {}, False),
    ],
)
def test_which_readers_carry_a_proof(driver: str, options: dict[str, object], secure: bool) -> None:
    assert can_carry_secure(driver, options) is secure


def test_the_master_key_file_is_checked_like_the_others(tmp_path: Path) -> None:
    config = config_with(tmp_path, "secure")
    site = secure_site(config)
    assert site is not None and len(site.master_key) == 16
    assert "master_key" not in repr(site) and site.master_key.hex() not in repr(site)
    os.chmod(tmp_path / "master.key", 0o644)
    assert [p for p, _ in secret_file_problems(config)] == [MASTER_KEY]
    (tmp_path / "master.key").write_text("00" * 8)
    with pytest.raises(FatalError):
        secure_site(config)
    (tmp_path / "master.key").write_text("00" * 32)  # a credential key: not AES-128
    with pytest.raises(FatalError, match="16 bytes expected"):
        secure_site(config)


def test_backups_leave_the_master_key_out_unless_asked(tmp_path: Path) -> None:
    config = config_with(tmp_path, "secure")
    config_file = _write(tmp_path, GATE_TOML)
    now = datetime(2026, 6, 10, tzinfo=UTC)
    backup(config, config_file, tmp_path / "routine", now)
    routine = read_manifest(tmp_path / "routine")
    assert MASTER_KEY not in routine["secrets"]
    assert not (tmp_path / "routine" / "secrets" / MASTER_KEY).exists()
    backup(config, config_file, tmp_path / "ceremony", now, master_key=True)
    assert MASTER_KEY in read_manifest(tmp_path / "ceremony")["secrets"]


SECURE_TOML = GATE_TOML.replace(
    'readers = [{ id = "main-in", driver = "serial", port = "/dev/ttyUSB-gone" }]',
    'credential = "CREDENTIAL"\n'
    'readers = [{ id = "main-in", driver = "wiegand", d0 = 5, d1 = 6 }]\n'
    '[secure]\nmaster_key_file = "master.key"',
)


def test_check_config_refuses_a_secure_door_with_a_wiegand_reader(tmp_path: Path) -> None:
    write_new_key(tmp_path / "site.key")
    write_new_key(tmp_path / "master.key", 16)
    strict_toml = SECURE_TOML.replace("CREDENTIAL", "secure")
    strict = _cli("check-config", str(_write(tmp_path, strict_toml)))
    assert strict.returncode == 2 and "Traceback" not in strict.stderr
    assert "doors.0.readers.0" in strict.stderr and "only card numbers" in strict.stderr
    migrating = SECURE_TOML.replace("CREDENTIAL", "secure_preferred")
    ok = _cli("check-config", str(_write(tmp_path, migrating)))
    assert ok.returncode == 0, ok.stderr
    assert "warning: doors.0.readers.0: " in ok.stderr


NFC_TOML = SECURE_TOML.replace(
    'driver = "wiegand", d0 = 5, d1 = 6', 'driver = "nfc", device = "DEVICE"'
)


def test_check_config_refuses_a_secure_door_with_an_acr122u(tmp_path: Path) -> None:
    write_new_key(tmp_path / "site.key")
    write_new_key(tmp_path / "master.key", 16)
    acr = NFC_TOML.replace("DEVICE", "usb:072f:2200")
    strict = _cli("check-config", str(_write(tmp_path, acr.replace("CREDENTIAL", "secure"))))
    assert strict.returncode == 2 and "Traceback" not in strict.stderr
    assert "doors.0.readers.0" in strict.stderr and "is an ACR122U" in strict.stderr
    assert "every card is refused there" in strict.stderr
    migrating = acr.replace("CREDENTIAL", "secure_preferred")
    ok = _cli("check-config", str(_write(tmp_path, migrating)))
    assert ok.returncode == 0, ok.stderr
    assert "warning: doors.0.readers.0: " in ok.stderr and "is an ACR122U" in ok.stderr
    for device, told in (("tty:serial0:pn532", False), ("usb:04cc:2533", False), ("usb", True),
                         ("usb:072f", True), ("usb:001:004", True)):  # fmt: skip
        toml = NFC_TOML.replace("DEVICE", device).replace("CREDENTIAL", "secure")
        done = _cli("check-config", str(_write(tmp_path, toml)))
        assert done.returncode == 0, (device, done.stderr)
        unknown = f'warning: doors.0.readers.0: the "nfc" reader\'s device "{device}" does not'
        assert (unknown in done.stderr) is told, (device, done.stderr)
        assert ("an ACR122U cannot run a secure card's session" in done.stderr) is told


def test_the_secure_table_in_credentials_md_is_taken(tmp_path: Path) -> None:
    import tomllib

    from tests.conftest import ROOT

    text = (ROOT / "docs" / "credentials.md").read_text()
    example = next(b for b in text.split("```toml\n")[1:] if b.startswith("[secure]"))
    table = tomllib.loads(example.split("```", 1)[0])["secure"]
    config = config_with(tmp_path, "secure_preferred", secure={**table, "master_key_file": "m.key"})
    assert config.secure.relay_budget_ms == 300 and config.secure.not_nxp == "deny"


def test_keygen_makes_a_secure_master_key_the_gate_reads(tmp_path: Path) -> None:
    import subprocess
    import sys

    made = subprocess.run(
        [sys.executable, "-m", "agent.faces.cli", "keygen", "--secure-master",
         str(tmp_path / "master.key")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert (
        made.stdout
        == f"wrote a new 16-byte secure-card master key to {tmp_path}/master.key (mode 0600)\n"
    )
    assert len(bytes.fromhex((tmp_path / "master.key").read_text())) == 16


def test_both_keygens_make_the_one_master_key_format_the_docs_describe(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT

    made = {
        "gate": [sys.executable, "-m", "agent.faces.cli", "keygen", "--secure-master",
                 str(tmp_path / "gate.key")],
        "office": [sys.executable, "-m", "agent.office.cli", "card", "keygen", "--out",
                   str(tmp_path / "office.key")],
    }  # fmt: skip
    for who, argv in made.items():
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        text = (tmp_path / f"{who}.key").read_text()
        assert len(text) == 33 and text.endswith("\n") and len(bytes.fromhex(text)) == 16
        assert (tmp_path / f"{who}.key").stat().st_mode & 0o777 == 0o600
    credentials = (ROOT / "docs" / "credentials.md").read_text()
    section = credentials.split("## The site master key", 1)[1].split("\n## ", 1)[0]
    ceremony = (ROOT / "docs" / "secure-cards.md").read_text().split("### The key ceremony")[1]
    assert "AES-256" not in section and "AES-128" in section and "16 bytes" in section
    for doc in (section, ceremony):
        assert "gate-office card keygen" in doc and "gate-agent keygen --secure-master" in doc
        assert "32 hex digits" in doc
