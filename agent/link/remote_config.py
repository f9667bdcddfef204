"""Configuration pushed by the office: merged over the local file, validated, persisted.

The office may replace these top-level sections: doors, inputs, schedules, holidays,
alarms, clock, and storage retention. The gate's identity, its keys, its broker
settings and its storage folder stay the installer's: a bad push must never be able
to cut the gate off from the office or from its own data.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from agent.core.kinds import EventType
from agent.errors import ConfigError, Rejected
from agent.gate.ports import GatePort
from agent.models.config import GateConfig, validate_config
from agent.models.messages import ConfigAck, ConfigSet, FieldError
from agent.store.paths import StatePaths

REMOTE_SECTIONS = frozenset(
    {"doors", "inputs", "schedules", "holidays", "alarms", "clock", "storage"}
)
LOCAL_STORAGE_KEYS = frozenset({"dir"})


def merge(base: GateConfig, overlay: dict[str, Any]) -> GateConfig:
    """The base config with the overlay's sections replacing its own; ConfigError on faults."""
    problems = [
        (key, "cannot be changed remotely") for key in overlay if key not in REMOTE_SECTIONS
    ]
    storage = overlay.get("storage")
    if isinstance(storage, dict):
        problems += [
            (f"storage.{k}", "cannot be changed remotely")
            for k in storage
            if k in LOCAL_STORAGE_KEYS
        ]
    if problems:
        raise ConfigError("configuration refused", problems)
    document = base.model_dump(mode="json", exclude_none=True)
    for key, value in overlay.items():
        if key == "storage" and isinstance(value, dict):
            document["storage"] = {**value, "dir": document["storage"]["dir"]}
        else:
            document[key] = value
    return validate_config(document)


def _devices(config: GateConfig) -> Any:
    """Everything that takes a restart to change: which devices exist and how they're wired."""
    return (
        [
            (
                d.id,
                d.fail_mode,
                [r.model_dump() for r in d.readers],
                d.relay.model_dump(),
                d.contact.model_dump() if d.contact else None,
                d.exit_button.model_dump() if d.exit_button else None,
            )
            for d in config.doors
        ],
        {k: (v.driver, v.options) for k, v in config.inputs if v is not None},
    )


def needs_restart(old: GateConfig, new: GateConfig) -> bool:
    return bool(_devices(old) != _devices(new))


class OverlayStore:
    """``<state>/config.remote.json``: revision and sections, replaced atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> tuple[int, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return 0, {}
        return int(data["revision"]), dict(data["sections"])

    def save(self, revision: int, sections: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".config.remote.")
        with os.fdopen(fd, "w") as out:
            json.dump({"revision": revision, "sections": sections}, out, indent=1)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def effective_config(base: GateConfig) -> tuple[GateConfig, int, str | None]:
    """(config to run, revision, problem): a stored overlay that no longer fits is ignored."""
    revision, sections = OverlayStore(StatePaths(base.storage.dir).remote_config).load()
    if not sections:
        return base, revision, None
    try:
        return merge(base, sections), revision, None
    except ConfigError as exc:
        return base, revision, f"stored office config (revision {revision}) ignored: {exc}"


class ConfigPush:
    """A ``config/set`` from the office: merged, validated, persisted, applied, acked."""

    def __init__(self, gate: GatePort, overlay: OverlayStore) -> None:
        self.gate = gate
        self.overlay = overlay

    def apply(self, body: object) -> ConfigAck:
        message = ConfigSet.model_validate(body)
        gate = self.gate
        state = gate.config_state()
        if message.revision <= state.revision:
            raise Rejected(f"revision {message.revision} is not newer than {state.revision}")
        _, sections = self.overlay.load()
        sections = {**sections, **message.config}
        try:
            config = merge(state.base, sections)
        except ConfigError as exc:
            raise Rejected("invalid configuration", exc.errors) from None
        restart = needs_restart(state.config, config)
        self.overlay.save(message.revision, sections)
        # a restart is only requested here: the supervisor acts on it after this ack is out
        gate.apply_config(config, message.revision, restart)
        gate.record(
            EventType.CONFIG_CHANGED,
            None,
            revision=message.revision,
            sections=sorted(message.config),
            restart_required=restart,
        )
        return ConfigAck(ok=True, revision=message.revision, restart_required=restart)

    def refusal(self, exc: Rejected) -> ConfigAck:
        return ConfigAck(
            ok=False,
            revision=self.gate.config_state().revision,
            error=exc.error,
            errors=[FieldError(path=p, message=m) for p, m in exc.errors][:100],
        )
