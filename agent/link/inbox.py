"""Office messages: verified, validated, applied, acknowledged. One at a time, off paho's thread.

Whatever is wrong with a message (size, signature, freshness, shape, content), the
answer is an error ack that says why, and nothing changes. A message that fails
authentication also raises a ``security_alert`` event.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from agent.store.allowlist import PatchBaseMismatch
from agent.errors import ConfigError, ImportRejected
from agent.store.importer import reference_errors
from agent.models.messages import (
    AllowListAck,
    AllowListPatch,
    AllowListRequest,
    Command,
    CommandAck,
    ConfigAck,
    ConfigSet,
    FieldError,
    SnapshotChunk,
)
from agent.models.wire import AllowListEntry, EventType
from agent.link.remote_config import OverlayStore, merge, needs_restart
from agent.link.signing import AuthError, ReplayGuard, Verifier, parse_public_key

log = logging.getLogger(__name__)

COMMANDS = ("open", "lockdown", "release", "resync", "status")
INBOX_LIMIT = 1000


class Rejected(Exception):
    """A message refused with a reason and optional per-field errors."""

    def __init__(self, error: str, errors: list[tuple[str, str]] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.errors = errors or []


def _validation_errors(exc: ValidationError, prefix: tuple[Any, ...] = ()) -> list[tuple[str, str]]:
    return [(".".join(str(p) for p in (*prefix, *e["loc"])), e["msg"]) for e in exc.errors()]


SLICE = 250  # entries validated per call: ~0.6 ms, so the core thread is never kept waiting
_ENTRIES: TypeAdapter[list[AllowListEntry]] = TypeAdapter(list[AllowListEntry])
M = TypeVar("M", bound=BaseModel)


def _validate_in_slices(model: type[M], body: Any, field: str) -> M:
    """``model.model_validate(body)``, but the long entry list in slices.

    pydantic validates a list in one call that holds the GIL; for 5,000 entries that
    is 15 ms in which no card could be decided.
    """
    if not isinstance(body, dict) or not isinstance(body.get(field), list):
        return model.model_validate(body)
    items = body[field]
    header = model.model_validate({**body, field: []})
    limit = model.model_fields[field].metadata
    max_items = next((m.max_length for m in limit if hasattr(m, "max_length")), None)
    if max_items is not None and len(items) > max_items:
        raise Rejected("invalid message", [(field, f"at most {max_items} entries")])
    entries: list[AllowListEntry] = []
    errors: list[tuple[str, str]] = []
    for start in range(0, len(items), SLICE):
        try:
            entries += _ENTRIES.validate_python(items[start : start + SLICE])
        except ValidationError as exc:
            for err in exc.errors():
                index, *rest = err["loc"]
                path = ".".join(str(p) for p in (field, start + int(index), *rest))
                errors.append((path, err["msg"]))
    if errors:
        raise Rejected("invalid message", errors)
    return header.model_copy(update={field: entries})


class Inbox:
    """A queue and a worker thread between the MQTT connection and the App."""

    def __init__(self, app: Any, uplink: Any) -> None:
        self.app = app
        self.uplink = uplink
        mqtt = app.config.mqtt
        key = parse_public_key(mqtt.office_public_key) if mqtt.office_public_key else None
        self.guard = ReplayGuard(app.state_dir / "events.db")
        self.verifier = Verifier(key, mqtt.max_clock_skew_s, self.guard, mqtt.require_signatures)
        self.overlay = OverlayStore(app.state_dir)
        self._queue: queue.Queue[tuple[str, bytes] | None] = queue.Queue(INBOX_LIMIT)
        self.dropped = 0
        self._thread: threading.Thread | None = None
        self.handled = 0

    def put(self, topic: str, payload: bytes) -> None:
        """Called on paho's thread: never blocks. A flood beyond the limit is dropped
        unanswered (the office retries when no ack comes)."""
        try:
            self._queue.put_nowait((topic, payload))
        except queue.Full:
            self.dropped += 1
            log.warning("inbox full: dropped a message on %s (%d so far)", topic, self.dropped)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="gate-inbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        try:
            self._queue.put(None, timeout=5)
        except queue.Full:
            log.warning("inbox: %d message(s) left unhandled at stop", self._queue.qsize())
        if self._thread is not None:
            self._thread.join(15)
        self.guard.close()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                self.handle(*item)
            except Exception as exc:
                log.exception("inbox: message on %s failed", item[0])
                kind, name = self.uplink.topics.classify(item[0])
                if kind != "unknown":
                    self._refuse(kind, name, None, Rejected(f"internal error: {exc!r}"))
            self.handled += 1

    # -- dispatch ---------------------------------------------------------------
    def handle(self, topic: str, payload: bytes) -> None:
        topics = self.uplink.topics
        kind, name = topics.classify(topic)
        if kind == "unknown":
            # cmd/+ also matches our own cmd/ack; anything else is worth a word
            if topic != topics.cmd_ack:
                log.warning("inbox: ignoring message on %s", topic)
            return
        limit = self.app.config.mqtt.max_payload_bytes
        if len(payload) > limit:
            self._refuse(
                kind,
                name,
                None,
                Rejected(f"payload of {len(payload)} bytes is over the {limit}-byte limit"),
            )
            return
        try:
            body = self.verifier.open(
                topic, payload, self.app.clock.now(), self.app.clock.is_trusted()
            )
        except AuthError as exc:
            log.warning("inbox: refused %s: %s", topic, exc)
            self.app.loop.run_sync(
                self.app.emit,
                EventType.SECURITY_ALERT,
                None,
                topic=topic[len(topics.root) + 1 :],
                reason=exc.reason,
            )
            self._refuse(kind, name, None, Rejected(f"authentication failed: {exc}"))
            return
        request_id = body.get("request_id") if isinstance(body, dict) else None
        try:
            if kind == "snapshot":
                self._snapshot(body)
            elif kind == "patch":
                self._patch(body)
            elif kind == "config":
                self._config(body)
            else:
                self._command(name or "", body)
        except ValidationError as exc:
            self._refuse(
                kind, name, request_id, Rejected("invalid message", _validation_errors(exc))
            )
        except Rejected as exc:
            self._refuse(kind, name, request_id, exc)

    def _ack(self, kind: str, message: BaseModel) -> None:
        topic = self.uplink.topics.ack_topic(kind)
        self.uplink.publish_json(topic, message.model_dump_json(exclude_none=True).encode())

    def _refuse(self, kind: str, name: str | None, request_id: Any, exc: Rejected) -> None:
        log.warning("inbox: %s refused: %s %s", kind, exc.error, exc.errors[:5])
        if kind in ("snapshot", "patch"):
            self._ack(
                kind,
                AllowListAck(
                    ok=False,
                    kind=kind,
                    version=self.app.allowlist.version(),
                    error=exc.error,
                    errors=[f"{p}: {m}" if p else m for p, m in exc.errors][:100],
                ),
            )
        elif kind == "config":
            self._ack(
                kind,
                ConfigAck(
                    ok=False,
                    revision=self.app.config_revision,
                    error=exc.error,
                    errors=[FieldError(path=p, message=m) for p, m in exc.errors][:100],
                ),
            )
        else:
            self._ack(
                kind,
                CommandAck(
                    request_id=str(request_id) if request_id is not None else None,
                    command=name or "",
                    ok=False,
                    error=exc.error,
                ),
            )

    # -- allow-list -------------------------------------------------------------
    def _check_references(self, entries: list[Any], field: str) -> None:
        problems = [
            (f"{field}.{i}.{name}", message)
            for i, e in enumerate(entries)
            for name, message in reference_errors(e, self.app.config)
        ]
        if problems:
            raise Rejected("entries refer to doors or schedules this gate lacks", problems)

    def _snapshot(self, body: Any) -> None:
        chunk = _validate_in_slices(SnapshotChunk, body, "entries")
        store = self.app.allowlist
        try:
            self._check_references(chunk.entries, "entries")
            complete = store.stage(
                chunk.snapshot_id, chunk.version, chunk.chunk, chunk.chunks, chunk.entries
            )
            if not complete:
                return
            size = store.commit_staged(chunk.snapshot_id, chunk.version)
        except (Rejected, ImportRejected) as exc:
            store.discard_staged()
            raise exc if isinstance(exc, Rejected) else Rejected(str(exc)) from None
        self.app.loop.run_sync(
            self.app.emit,
            EventType.ALLOWLIST_UPDATED,
            None,
            version=chunk.version,
            size=size,
            source="office",
            kind="snapshot",
        )
        self._ack(
            "snapshot",
            AllowListAck(
                ok=True, kind="snapshot", version=chunk.version, snapshot_id=chunk.snapshot_id
            ),
        )

    def _patch(self, body: Any) -> None:
        patch = _validate_in_slices(AllowListPatch, body, "upserts")
        self._check_references(patch.upserts, "upserts")
        try:
            self.app.allowlist.patch(
                patch.base_version, patch.version, patch.upserts, patch.removals
            )
        except PatchBaseMismatch as exc:
            self.request_snapshot(f"patch base {exc.want} does not match")
            raise Rejected(str(exc)) from None
        self.app.loop.run_sync(
            self.app.emit,
            EventType.ALLOWLIST_UPDATED,
            None,
            version=patch.version,
            size=self.app.allowlist.count(),
            source="office",
            kind="patch",
            upserts=len(patch.upserts),
            removals=len(patch.removals),
        )
        self._ack("patch", AllowListAck(ok=True, kind="patch", version=patch.version))

    def request_snapshot(self, reason: str) -> None:
        request = AllowListRequest(have_version=self.app.allowlist.version(), reason=reason)
        self.uplink.publish_json(
            self.uplink.topics.allowlist_request, request.model_dump_json().encode()
        )

    # -- configuration ------------------------------------------------------------
    def _config(self, body: Any) -> None:
        message = ConfigSet.model_validate(body)
        app = self.app
        if message.revision <= app.config_revision:
            raise Rejected(f"revision {message.revision} is not newer than {app.config_revision}")
        _, sections = self.overlay.load()
        sections = {**sections, **message.config}
        try:
            config = merge(app.base_config, sections)
        except ConfigError as exc:
            raise Rejected("invalid configuration", exc.errors) from None
        restart = needs_restart(app.config, config)
        self.overlay.save(message.revision, sections)
        if not restart:
            app.loop.run_sync(app.reconfigure, config, message.revision)
        else:
            app.loop.run_sync(setattr, app, "config_revision", message.revision)
        app.loop.run_sync(
            app.emit,
            EventType.CONFIG_CHANGED,
            None,
            revision=message.revision,
            sections=sorted(message.config),
            restart_required=restart,
        )
        self._ack("config", ConfigAck(ok=True, revision=message.revision, restart_required=restart))
        if restart:
            app.request_restart()

    # -- commands -----------------------------------------------------------------
    def _command(self, name: str, body: Any) -> None:
        command = Command.model_validate(body)
        app = self.app
        if name not in COMMANDS:
            raise Rejected(f"unknown command {name!r}; commands: {', '.join(COMMANDS)}")
        result: dict[str, Any] = {}
        if name == "open":
            if command.door is None or command.door not in app.doors:
                raise Rejected(f"open needs a door of this gate: {', '.join(app.doors)}")
            app.loop.run_sync(app.remote_open, command.door, "office", command.request_id)
        elif name in ("lockdown", "release"):
            if command.on is None:
                raise Rejected(f"{name} needs on: true or false")
            change = app.set_lockdown if name == "lockdown" else app.set_remote_release
            app.loop.run_sync(change, command.on, "office")
        elif name == "resync":
            self.request_snapshot("resync command")
        if name == "status":
            status = app.status(0)
            result = {
                k: status[k]
                for k in (
                    "mode",
                    "allowlist",
                    "outbox_depth",
                    "doors",
                    "clock_trusted",
                    "config_revision",
                )
            }
        else:
            result = {"mode": app.mode.value}
        self.uplink.request_status()
        self._ack(
            "cmd",
            CommandAck(
                request_id=command.request_id,
                command=name,
                ok=True,
                result=json.loads(json.dumps(result, default=str)),
            ),
        )
