"""The gate's configuration, one TOML file, validated here and nowhere else."""

from __future__ import annotations

import tomllib
from datetime import date, time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from agent.core.kinds import FailMode
from agent.core.secure import CredentialPolicy
from agent.errors import ConfigError, DriverError
from agent.models.base import Slug, Strict
from agent.models.console import ConsoleConfig
from agent.models.lines import shared_lines, simulated_parts
from agent.models.logs import LoggingConfig
from agent.models.mqtt import MqttConfig
from agent.models.paths import resolve_paths, state_dir_problem
from agent.models.pin import PinConfig, pin_problems
from agent.models.plates import PlatesConfig
from agent.models.presence import PresenceConfig, presence_problems
from agent.models.problems import error_list
from agent.models.secure import SecureConfig, secure_problems
from agent.models.tailgate import TailgateConfig, tailgate_problems

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class DriverSpec(Strict):
    """``{driver = "gpio", pin = 17}``: a backend name plus that backend's own options."""

    model_config = ConfigDict(extra="allow", frozen=True)
    driver: str = "sim"

    @model_validator(mode="after")
    def _options_fit_driver(self) -> DriverSpec:
        # imported here so that loading the models never loads a driver
        from drivers import registry

        kind = self._kind
        try:
            cls = registry.backend(kind, self.driver)
        except KeyError as exc:
            raise ValueError(str(exc.args[0])) from None
        except DriverError as exc:
            raise ValueError(str(exc)) from None
        try:
            cls.Options.model_validate(self.options)
        except ValidationError as exc:
            detail = "; ".join(f"{path}: {msg}" for path, msg in error_list(exc))
            raise ValueError(f"{self.driver} driver options: {detail}") from None
        return self

    _kind = "input"

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ReaderSpec(DriverSpec):
    _kind = "reader"
    id: Slug
    direction: Literal["in", "out"] = "in"  # recorded with each access event


class RelaySpec(DriverSpec):
    _kind = "relay"


class InputSpec(DriverSpec):
    _kind = "input"


class DoorConfig(Strict):
    id: Slug
    name: str = ""
    readers: list[ReaderSpec] = Field(min_length=1)
    relay: RelaySpec = Field(default_factory=RelaySpec)
    pulse_s: float = Field(5.0, gt=0, le=120)
    contact: InputSpec | None = None
    exit_button: InputSpec | None = None
    held_open_s: float = Field(30.0, gt=0, le=3600)
    fail_mode: FailMode = FailMode.SECURE
    release_on_fire: StrictBool = True
    # a fail-safe (maglock) door kept locked in a fire must say why it may be: nobody
    # leaves through it (a vehicle gate) or a break-glass unit cuts its lock's power
    release_on_fire_waived: StrictBool = False
    credential: CredentialPolicy = CredentialPolicy.PLAIN  # the cards this door requires
    tailgate: TailgateConfig | None = None  # watch for tailgating (needs the contact)
    pin: Slug | None = None  # card plus PIN: "always", or a schedule's name (while it is on)
    kind: Literal["door", "barrier"] = "door"  # a barrier: the relay raises a vehicle arm
    barrier: BarrierConfig | None = None  # [doors.barrier]: its loops, timers and sign


class VisitorButton(InputSpec):
    action: Literal["log", "log_and_open"] = "log_and_open"
    door: Slug | None = None


class InputsConfig(Strict):
    visitor_button: VisitorButton | None = None
    fire_alarm: InputSpec | None = None


class GateIdentity(Strict):
    site: Slug
    gate_id: Slug
    timezone: str = "UTC"
    # a bench or demo: simulated devices and the repository's demo keys are allowed
    simulated: StrictBool = False

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class StorageConfig(Strict):
    dir: Path = Path("/var/lib/gate-agent")
    events_max_rows: int = Field(100_000, ge=100)
    events_max_age_days: int = Field(90, ge=1, le=36_500)  # more: now - age overflows
    synchronous: Literal["full", "normal"] = "full"
    # what a reader of the allow-list keeps in memory, whatever the list's size: SQLite's
    # page cache, and how much of the list file it maps (touched pages count as resident)
    allowlist_cache_mb: int = Field(8, ge=1, le=1024)
    allowlist_mmap_mb: int = Field(0, ge=0, le=65_536)
    # after `gate-agent restore`, until the office has sent its current list: only
    # lockdown_override holders (override_only), or every card of the restored list
    after_restore: Literal["override_only", "restored_list"] = "override_only"


class SecurityConfig(Strict):
    credential_key_file: Path
    prox_bits: int = Field(24, ge=16, le=64)


class TimeWindow(Strict):
    """A window that belongs to the day it starts on; end <= start crosses midnight."""

    days: list[Weekday] = Field(min_length=1)
    start: time
    end: time  # 00:00 as an end means midnight

    @model_validator(mode="after")
    def _not_empty(self) -> TimeWindow:
        if self.start == self.end and self.start != time(0):
            raise ValueError("start and end are equal: the window is empty")
        return self


class ScheduleConfig(Strict):
    windows: list[TimeWindow] = Field(min_length=1)
    holidays: Slug | None = None  # a key of [holidays]
    holiday_windows: list[TimeWindow] = []


class DenialThreshold(Strict):
    count: int = Field(5, ge=1)
    window_s: float = Field(60, gt=0)
    lockout_s: float = Field(0, ge=0)  # 0: alarm only


class AlarmsConfig(Strict):
    reader_denials: DenialThreshold = DenialThreshold(count=5, window_s=60, lockout_s=60)
    card_denials: DenialThreshold = DenialThreshold(count=3, window_s=60, lockout_s=300)


class ClockConfig(Strict):
    sync_marker: str | None = "/run/systemd/timesync/synchronized"
    untrusted_policy: Literal["ignore_schedules", "residents_only", "deny_scheduled"] = (
        "ignore_schedules"
    )


class GateConfig(Strict):
    """The whole configuration file."""

    gate: GateIdentity
    doors: list[DoorConfig] = Field(min_length=1)
    inputs: InputsConfig = InputsConfig()
    storage: StorageConfig = StorageConfig()
    security: SecurityConfig
    secure: SecureConfig = SecureConfig()
    schedules: dict[Slug, ScheduleConfig] = {}
    holidays: dict[Slug, list[date]] = {}
    alarms: AlarmsConfig = AlarmsConfig()
    clock: ClockConfig = ClockConfig()
    mqtt: MqttConfig = MqttConfig(enabled=False)
    logging: LoggingConfig = LoggingConfig()
    console: ConsoleConfig = ConsoleConfig()
    presence: PresenceConfig = PresenceConfig()
    pin: PinConfig = PinConfig()
    plates: PlatesConfig = PlatesConfig()  # the vehicle gate's plate receiver (issue 22)

    @model_validator(mode="after")
    def _references_resolve(self) -> GateConfig:
        problems = []
        door_ids = [d.id for d in self.doors]
        if len(set(door_ids)) != len(door_ids):
            problems.append("door ids must be unique")
        reader_ids = [r.id for d in self.doors for r in d.readers]
        if len(set(reader_ids)) != len(reader_ids):
            problems.append("reader ids must be unique across doors")
        visitor = self.inputs.visitor_button
        if visitor and visitor.action == "log_and_open":
            if visitor.door is None and len(self.doors) > 1:
                problems.append("inputs.visitor_button.door is needed with several doors")
            if visitor.door is not None and visitor.door not in door_ids:
                problems.append(f"inputs.visitor_button.door {visitor.door!r} is not a door")
        for name, sched in self.schedules.items():
            if sched.holidays and sched.holidays not in self.holidays:
                problems.append(f"schedules.{name}.holidays {sched.holidays!r} is not defined")
        problems += shared_lines(self) + secure_problems(self) + presence_problems(self)
        problems += tailgate_problems(self) + pin_problems(self)
        problems += barrier_problems(self)
        problems += [
            f"doors.{i}.release_on_fire: false on a fail-safe (maglock) door: it stays locked "
            "in a fire and has no handle to open it; set it to true, or release_on_fire_waived "
            "= true when nobody leaves through it or a break-glass unit cuts its power"
            for i, door in enumerate(self.doors)
            if door.fail_mode == FailMode.SAFE
            and not door.release_on_fire
            and not door.release_on_fire_waived
        ]
        if not self.gate.simulated:
            problems += simulated_parts(self)
        if problems:
            raise ValueError("\n".join(problems))  # one per line: split again below
        return self

    def door(self, door_id: str) -> DoorConfig:
        for door in self.doors:
            if door.id == door_id:
                return door
        raise KeyError(door_id)

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.gate.timezone)


def validate_config(data: dict[str, Any], base_dir: Path | None = None) -> GateConfig:
    """Validate a parsed config; relative paths are taken from ``base_dir``."""
    try:
        config = GateConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError("invalid configuration", error_list(exc)) from None
    config = resolve_paths(config, base_dir) if base_dir else config
    if problem := state_dir_problem(config.storage.dir):
        raise ConfigError("invalid configuration", [("storage.dir", problem)])
    return config


def load_config(path: str | Path) -> GateConfig:
    """Read and validate a TOML file; ConfigError lists every problem with its key path."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a config file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid TOML: nested too deeply") from None
    return validate_config(data, path.parent.resolve())


# the barrier's table builds on the device specs above and completes DoorConfig
from agent.models.barrier import BarrierConfig, barrier_problems  # noqa: E402
