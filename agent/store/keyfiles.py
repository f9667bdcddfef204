"""The secret files a gate reads: present, private, and not the repository's demo key.

``run`` and ``check-config`` both ask this module, so they agree on every key check.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from agent.errors import ConfigError, FatalError
from agent.models.config import GateConfig
from agent.store.credentials import read_key_file
from drivers.base import SecureSite

# SHA-256 of the key bytes in config/sim-site.key, which anyone can read in the repository
DEMO_CREDENTIAL_KEY_SHA256 = "261ff77bace1864f637be7bef4fd7a2db861e03b9f044715017f0c3849f93b77"


MASTER_KEY = "secure.master_key_file"


def secret_files(config: GateConfig) -> list[tuple[str, Path]]:
    """(key path, file) for every secret the config names."""
    files = [("security.credential_key_file", config.security.credential_key_file)]
    if config.secure.master_key_file is not None:  # kept out of routine backups (backup.py)
        files.append((MASTER_KEY, config.secure.master_key_file))
    mqtt = config.mqtt
    if mqtt.enabled and mqtt.password_file is not None:
        files.append(("mqtt.password_file", mqtt.password_file))
    if mqtt.enabled and mqtt.tls is not None and mqtt.tls.key_file is not None:
        files.append(("mqtt.tls.key_file", mqtt.tls.key_file))
    console = config.console
    if console.enabled and console.tls_key_file is not None:
        files.append(("console.tls_key_file", console.tls_key_file))
    return files


def secret_file_problems(config: GateConfig) -> list[tuple[str, str]]:
    """(key path, why) for each secret file that is missing, unreadable or exposed."""
    problems: list[tuple[str, str]] = []
    bench = config.gate.simulated
    for key, path in secret_files(config):
        try:
            mode = os.stat(path).st_mode
            with open(path, "rb"):
                pass
        except OSError as exc:
            problems.append((key, f"cannot read {path}: {exc.strerror}"))
            continue
        if not stat.S_ISREG(mode):
            problems.append((key, f"{path} is not a file"))
        elif mode & stat.S_IROTH and not bench:
            problems.append(
                (key, f"{path} is readable by every user (mode {stat.S_IMODE(mode):04o}); "
                      "chmod o-r it")
            )  # fmt: skip
    key_file = config.security.credential_key_file
    if not bench and _is_demo_key(key_file):
        problems.append(
            ("security.credential_key_file",
             f"{key_file} is the repository's demo key: anyone can compute your cards' "
             "credentials with it; make one with `gate-agent keygen FILE`")
        )  # fmt: skip
    return problems


def _is_demo_key(path: Path) -> bool:
    try:
        key = read_key_file(path)
    except FatalError:
        return False  # unreadable: reported above
    return hashlib.sha256(key).hexdigest() == DEMO_CREDENTIAL_KEY_SHA256


def check_secret_files(config: GateConfig) -> None:
    """Raise ConfigError (exit 2) naming every secret file problem."""
    if problems := secret_file_problems(config):
        raise ConfigError("secret files", problems)


def secure_site(config: GateConfig) -> SecureSite | None:
    """The ``[secure]`` keys for reader drivers (None: the site names no master key)."""
    secure = config.secure
    if secure.master_key_file is None:
        return None
    key = read_key_file(secure.master_key_file)
    if len(key) != 16:  # AN10922 diversifies AES-128 keys from an AES-128 master
        raise FatalError(f"site master key {secure.master_key_file}: 16 bytes expected")
    return SecureSite(key, secure.application_id, secure.relay_budget_ms / 1000)
