"""Paths in a config: taken relative to the config file, and the state folder checked."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.models.config import GateConfig


def resolve_paths(config: GateConfig, base_dir: Path) -> GateConfig:
    def fix(p: Path | None) -> Path | None:
        return p if p is None or p.is_absolute() else (base_dir / p).resolve()

    storage = config.storage.model_copy(update={"dir": fix(config.storage.dir)})
    security = config.security.model_copy(
        update={"credential_key_file": fix(config.security.credential_key_file)}
    )
    secure = config.secure.model_copy(
        update={"master_key_file": fix(config.secure.master_key_file)}
    )
    mqtt = config.mqtt.model_copy(update={"password_file": fix(config.mqtt.password_file)})
    if tls := mqtt.tls:
        files = {k: fix(getattr(tls, k)) for k in ("ca_file", "cert_file", "key_file")}
        mqtt = mqtt.model_copy(update={"tls": tls.model_copy(update=files)})
    console = config.console.model_copy(
        update={k: fix(getattr(config.console, k)) for k in ("tls_cert_file", "tls_key_file")}
    )
    # cameras' secret files (issue 22): a reader option, taken relative like the others
    doors = [
        door.model_copy(update={"readers": [
            r.model_copy(update={"secret_file": fix(Path(r.options["secret_file"]))})
            if isinstance(r.options.get("secret_file"), str | Path) else r
            for r in door.readers
        ]})
        for door in config.doors
    ]  # fmt: skip
    return config.model_copy(
        update={
            "doors": doors,
            "storage": storage,
            "security": security,
            "secure": secure,
            "mqtt": mqtt,
            "console": console,
        }
    )


def state_dir_problem(state: Path) -> str | None:
    """Why ``storage.dir`` can never be a folder (it, or a folder above it, is a file)."""
    existing = next((p for p in (state, *state.parents) if p.exists()), state)
    if existing.exists() and not existing.is_dir():
        return f"{existing} is not a folder"
    return None
