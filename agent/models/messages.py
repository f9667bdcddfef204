"""MQTT payloads between gate and office. JSON Schemas in config/schemas/ come from here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import Field, StrictBool, model_validator

from agent.core.kinds import FailMode
from agent.models.barrier import BarrierStatus
from agent.models.base import Slug, Strict
from agent.models.occupancy import AreaOccupancy
from agent.models.wire import AllowListEntry, Credential, Event

MAX_CHUNK_ENTRIES = 20_000
# Entries per snapshot message the office sends. A gate parses, checks the signature of
# and validates each message while holding the GIL for stretches that grow with it: at
# 1,000 a decision during a 1M snapshot waited p99 5.0 ms, at 200 3.4 ms, at 100 2.8 ms
# (bench/snapshot.py, issue 23); 10,000 messages for 1M entries still apply in ~15 s.
SNAPSHOT_CHUNK = 100
MAX_CHUNKS = 10_000  # messages a snapshot may have (the gate stages each one's place)
_E = TypeVar("_E")


def snapshot_chunk_size(count: int, chunk: int = SNAPSHOT_CHUNK) -> int:
    """Entries a message for a list of ``count``: ``chunk``, or more where ``chunk`` would
    take more than MAX_CHUNKS messages (over a million entries at the default)."""
    return max(chunk, -(-count // MAX_CHUNKS), 1)


def snapshot_parts(entries: Sequence[_E], chunk: int = SNAPSHOT_CHUNK) -> list[list[_E]]:
    """``entries`` cut into messages (``snapshot_chunk_size``); at least one."""
    size = snapshot_chunk_size(len(entries), chunk)
    return [list(entries[i : i + size]) for i in range(0, len(entries), size)] or [[]]


MAX_VERSION = 2**63 - 1  # what SQLite stores as an integer


class SignedEnvelope(Strict):
    """Every office-to-gate message. ``sig`` is Ed25519 over
    ``"gate-agent/1" \\n topic \\n ts \\n nonce \\n body`` (UTF-8, newline-joined)."""

    ts: str = Field(description="ISO 8601 time with offset, when the office signed it")
    nonce: str = Field(min_length=16, max_length=64, description="never reused")
    body: str = Field(description="the payload's JSON text")
    sig: str = Field(description="base64 of the 64-byte Ed25519 signature")


class SnapshotChunk(Strict):
    """One part of a full allow-list. The list switches when every chunk has arrived."""

    version: int = Field(ge=1, le=MAX_VERSION, description="must be newer than the gate's version")
    snapshot_id: str = Field(min_length=8, max_length=64)
    chunk: int = Field(ge=0)
    chunks: int = Field(ge=1, le=MAX_CHUNKS)
    entries: list[AllowListEntry] = Field(max_length=MAX_CHUNK_ENTRIES)

    @model_validator(mode="after")
    def _chunk_in_range(self) -> SnapshotChunk:
        if self.chunk >= self.chunks:
            raise ValueError("chunk must be below chunks")
        return self


class AllowListPatch(Strict):
    """Changes from ``base_version`` to ``version``; refused on any other base."""

    base_version: int = Field(ge=0, le=MAX_VERSION)
    version: int = Field(ge=1, le=MAX_VERSION)
    upserts: list[AllowListEntry] = Field(default=[], max_length=MAX_CHUNK_ENTRIES)
    removals: list[Credential] = Field(default=[], max_length=MAX_CHUNK_ENTRIES)

    @model_validator(mode="after")
    def _forward(self) -> AllowListPatch:
        if self.version <= self.base_version:
            raise ValueError("version must be greater than base_version")
        return self


class AllowListAck(Strict):
    ok: bool
    kind: Literal["snapshot", "patch"] | None = None
    version: int | None = Field(None, description="the version the gate now holds")
    snapshot_id: str | None = None
    error: str | None = None
    errors: list[str] = []


class AllowListRequest(Strict):
    """The gate asks for a full snapshot (after a refused patch, or on command)."""

    have_version: int | None
    reason: str


class ConfigSet(Strict):
    """Sections of the gate config to replace; validated with the same models as the file."""

    revision: int = Field(
        ge=1, le=MAX_VERSION, description="must be greater than the gate's revision"
    )
    config: dict[str, Any]


class FieldError(Strict):
    path: str
    message: str


class ConfigAck(Strict):
    ok: bool
    revision: int | None = None
    restart_required: bool = False
    error: str | None = None
    errors: list[FieldError] = []


class Command(Strict):
    """``<root>/cmd/<name>``: open, lockdown, release, resync, status."""

    request_id: str = Field(min_length=1, max_length=64)
    door: Slug | None = None
    on: StrictBool | None = None  # "yes" or 1 is refused: a flag on the wire is true or false


class CommandAck(Strict):
    request_id: str | None
    command: str
    ok: bool
    error: str | None = None
    result: dict[str, Any] | None = None


class DoorStatus(Strict):
    locked: bool
    open: bool | None = Field(description="null: no door contact fitted")
    released: bool
    forced: bool
    held: bool
    fail_mode: FailMode
    relay_energised: bool | None = Field(None, description="the coil as its driver reports it")


class ReaderStatus(Strict):
    door: str
    direction: Literal["in", "out"] = "in"
    driver: str = ""
    state: Literal["starting", "ok", "fault"] = "starting"
    since: datetime | None = None
    last_error: str | None = None
    last_read: datetime | None = None
    frame_errors: int = 0


class AckedEvent(Strict):
    seq: int
    time: datetime = Field(description="when the broker acknowledged it")


class OfficeLinkStatus(Strict):
    """The office link as the gate sees it (local status only; not sent on the wire)."""

    enabled: bool
    broker: str | None = Field(None, description="host:port")
    connected: bool = False
    connected_since: datetime | None = None
    disconnected_since: datetime | None = None
    last_error: str | None = Field(None, description="kept after a reconnect; see last_error_at")
    last_error_at: datetime | None = None
    failed_attempts: int = Field(0, description="connection attempts failed since the last success")
    last_event_acked: AckedEvent | None = None
    backlog: int = Field(0, description="events waiting for the broker's PUBACK")
    oldest_waiting_age_s: float | None = Field(None, description="age of the oldest waiting event")


class GateStatus(Strict):
    """Retained on ``<root>/status``; the last will says ``online: false``.

    The same model answers ``gate-agent status`` and the control socket; there
    ``recent_events`` holds the newest events and ``office_link`` the link's state
    (on the wire the first is empty and the second left out).
    """

    online: bool
    site: str
    gate: str
    time: datetime | None = None
    version: str | None = None
    mode: str | None = None
    lockdown: bool | None = None
    fire_alarm: bool | None = None
    clock_trusted: bool | None = None
    allowlist_version: int | None = None
    allowlist_size: int | None = None
    allowlist_stale: bool | None = Field(
        None, description="restored from a backup; the office's list has not replaced it yet"
    )
    outbox_depth: int | None = None
    last_seq: int | None = None
    # events the office has not yet confirmed; 0 with last_seq above what the office
    # holds means the office lost them (a restored database): it asks for a replay
    unreceived: int | None = None
    config_revision: int | None = None
    uptime_s: float | None = None
    drill: dict[str, Any] | None = Field(
        None, description="the fire or evacuation drill running: id, kind, by, ends_at, note"
    )
    doors: dict[str, DoorStatus] = {}
    readers: dict[str, ReaderStatus] = {}
    recent_events: list[Event] = []
    office_link: OfficeLinkStatus | None = None
    exits_without_entry: int | None = Field(
        None,
        description="grants at an out reader to holders with no recorded entry since the "
        "agent started (null: the gate has no readers both ways)",
    )
    occupancy: dict[str, AreaOccupancy] = Field(
        {}, description="per area of [presence]: holders inside by kind, capacity, full"
    )
    barriers: dict[str, BarrierStatus] = {}  # vehicle barriers (issue 22)
    plate_receiver: dict[str, dict[str, int]] | None = Field(
        None,
        description="the ANPR receiver's counts since start (null: not serving): 'receiver' "
        "refusals before a camera was known, each camera's refusals by reason, 'outcomes' "
        "of accepted pushes",
    )


SCHEMAS: dict[str, type[Strict]] = {
    "signed-envelope": SignedEnvelope,
    "event": Event,
    "allowlist-snapshot": SnapshotChunk,
    "allowlist-patch": AllowListPatch,
    "allowlist-ack": AllowListAck,
    "allowlist-request": AllowListRequest,
    "config-set": ConfigSet,
    "config-ack": ConfigAck,
    "command": Command,
    "command-ack": CommandAck,
    "status": GateStatus,
}
