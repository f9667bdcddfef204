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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.core.kinds import EventType
from agent.errors import ConfigError, GateError, Rejected
from agent.gate.ports import GatePort
from agent.models.config import GateConfig, validate_config
from agent.models.jsonin import loads_bounded
from agent.models.messages import ConfigAck, ConfigSet, FieldError
from agent.store.paths import StatePaths

REMOTE_SECTIONS = frozenset(
    {"doors", "inputs", "schedules", "holidays", "alarms", "clock", "storage"}
)
LOCAL_STORAGE_KEYS = frozenset({"dir"})
MAX_DEPTH = 64


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
                d.kind,  # a barrier's loops, sign and timers are built with its door
                d.barrier.model_dump() if d.barrier else None,
            )
            for d in config.doors
        ],
        {k: (v.driver, v.options) for k, v in config.inputs if v is not None},
    )


def needs_restart(old: GateConfig, new: GateConfig) -> bool:
    return bool(_devices(old) != _devices(new))


class OverlayCorrupt(GateError):
    """The overlay file cannot be read as a revision and sections."""


class OverlayStore:
    """``<state>/config.remote.json``: revision and sections, replaced atomically.

    ``<state>/config.remote.good.json`` is the last overlay a gate started on.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.good = path.with_name(path.stem + ".good.json")

    @classmethod
    def of(cls, config: GateConfig) -> OverlayStore:
        """The overlay in the state folder of ``config``."""
        return cls(StatePaths(config.storage.dir).remote_config)

    def load(self, path: Path | None = None) -> tuple[int, dict[str, Any]]:
        path = path or self.path
        try:
            data = loads_bounded(path.read_bytes(), MAX_DEPTH)
            return int(data["revision"]), dict(data["sections"])
        except FileNotFoundError:
            return 0, {}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise OverlayCorrupt(f"{path.name} is unreadable: {str(exc)[:120]}") from None

    def save(self, revision: int, sections: dict[str, Any], path: Path | None = None) -> None:
        path = path or self.path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".config.remote.")
        with os.fdopen(fd, "w") as out:
            json.dump({"revision": revision, "sections": sections}, out, indent=1)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def set_aside(self) -> Path:
        """Move the overlay out of the way (kept for a person to read); returns where."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        aside = self.path.with_name(f"{self.path.name}.rejected-{stamp}")
        os.replace(self.path, aside)
        return aside

    def mark_good(self) -> None:
        """The overlay in force started a gate: it is what a later failure falls back to."""
        revision, sections = self.load()
        self.save(revision, sections, self.good)

    def restore_good(self, revision: int) -> dict[str, Any]:
        """Put the last good overlay back in force under ``revision``; its sections."""
        try:
            _, sections = self.load(self.good)
        except OverlayCorrupt:
            sections = {}
        self.save(revision, sections)
        return sections


def effective_config(base: GateConfig) -> tuple[GateConfig, int, str | None]:
    """(config to run, revision, problem). An overlay that cannot be read or no longer
    fits is moved aside, and the gate runs on its installer's file."""
    store = OverlayStore.of(base)
    try:
        revision, sections = store.load()
    except OverlayCorrupt as exc:
        return base, 0, f"office config set aside ({store.set_aside().name}): {exc}"
    if not sections:
        return base, revision, None
    try:
        return merge(base, sections), revision, None
    except ConfigError as exc:
        aside = store.set_aside()
        store.save(revision, {})
        return base, revision, f"office config revision {revision} set aside ({aside.name}): {exc}"


def fall_back(base: GateConfig, revision: int, error: str) -> tuple[GateConfig, str]:
    """A gate on office config ``revision`` could not start: go back to the last overlay
    that did (or the installer's file), keeping the revision so the office must push a
    newer one. Returns the config to run and what happened, for the event log."""
    store = OverlayStore.of(base)
    aside = store.set_aside() if store.path.exists() else None
    sections = store.restore_good(revision)
    try:
        config = merge(base, sections) if sections else base
    except ConfigError:
        store.save(revision, {})
        config = base
    where = f"; it was moved to {aside.name}" if aside else ""
    return config, f"office config revision {revision} could not start: {error}{where}"


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
        try:
            _, sections = self.overlay.load()
        except OverlayCorrupt:
            sections = {}  # what is in force came from memory; this push starts afresh
        sections = {**sections, **message.config}
        try:
            config = merge(state.base, sections)
        except ConfigError as exc:
            raise Rejected("invalid configuration", exc.errors) from None
        restart = needs_restart(state.config, config)
        if restart and (problems := gate.preflight(config)):
            raise Rejected("devices cannot be opened on this gate", problems)
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
