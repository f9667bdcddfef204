"""Allow-list messages from the office: chunked snapshots and patches, then an ack."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from agent.core.kinds import EventType
from agent.errors import ImportRejected, Rejected
from agent.gate.ports import GatePort
from agent.models.messages import AllowListAck, AllowListPatch, AllowListRequest, SnapshotChunk
from agent.models.wire import AllowListEntry
from agent.store.allowlist import PatchBaseMismatch
from agent.store.importer import References

SLICE = 50  # entries validated per call: ~0.1 ms, so the core thread is never kept waiting
# the longest a bulk job waits for the core loop to finish its work, each time: the loop
# is seldom busy for longer than a decision (a millisecond), so this only bounds a stall
GIVE_WAY_S = 0.05
_ENTRIES: TypeAdapter[list[AllowListEntry]] = TypeAdapter(list[AllowListEntry])
M = TypeVar("M", bound=BaseModel)


def _go_on() -> None:
    return None


def validate_in_slices(
    model: type[M], body: object, field: str, between: Callable[[], object] = _go_on
) -> M:
    """``model.model_validate(body)``, but the long entry list in slices, ``between``
    called before each (the gate's give-way).

    pydantic validates a list in one call that holds the GIL; for 5,000 entries that
    is 15 ms in which no card could be decided.
    """
    if not isinstance(body, dict) or not isinstance(body.get(field), list):
        return model.model_validate(body)
    items: list[Any] = body[field]
    header = model.model_validate({**body, field: []})
    limit = model.model_fields[field].metadata
    max_items = next((m.max_length for m in limit if hasattr(m, "max_length")), None)
    if max_items is not None and len(items) > max_items:
        raise Rejected("invalid message", [(field, f"at most {max_items} entries")])
    entries: list[AllowListEntry] = []
    errors: list[tuple[str, str]] = []
    for start in range(0, len(items), SLICE):
        between()
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


class AllowListSync:
    """Applies snapshots and patches to the gate's list; asks for a snapshot when lost."""

    def __init__(
        self,
        gate: GatePort,
        request_topic: str,
        send: Callable[[str, bytes], object],
        give_way: Callable[[], object] = _go_on,
    ):
        self.gate = gate
        self._request_topic = request_topic
        self._send = send
        # waits while the core loop has work: a chunk's pieces go between decisions
        self.give_way = give_way

    def _check_references(self, entries: list[AllowListEntry], field: str) -> None:
        known = References(self.gate.config_state().config)
        problems = [
            (f"{field}.{i}.{name}", message)
            for i, e in enumerate(entries)
            if e.doors or e.schedule
            for name, message in known.errors(e.doors, e.schedule)
        ]
        if problems:
            raise Rejected("entries refer to doors or schedules this gate lacks", problems)

    def snapshot(self, body: object) -> AllowListAck | None:
        """Stage one chunk; switch to the new list and ack when the last one is in."""
        chunk = validate_in_slices(SnapshotChunk, body, "entries", self.give_way)
        store = self.gate.allowlist
        try:
            self._check_references(chunk.entries, "entries")
            self.give_way()
            complete = store.stage(
                chunk.snapshot_id, chunk.version, chunk.chunk, chunk.chunks, chunk.entries
            )
            if not complete:
                return None
            stale = store.restore_mark() is not None
            size = store.commit_staged(chunk.snapshot_id, chunk.version)
        except (Rejected, ImportRejected) as exc:
            store.discard_staged()
            raise exc if isinstance(exc, Rejected) else Rejected(str(exc)) from None
        except BaseException:  # a full disk, say: no half-staged file stays behind
            store.discard_staged()
            raise
        self.gate.record(
            EventType.ALLOWLIST_UPDATED,
            None,
            version=chunk.version,
            size=size,
            source="office",
            kind="snapshot",
        )
        if stale:
            self.resynced(chunk.version)
        return AllowListAck(
            ok=True, kind="snapshot", version=chunk.version, snapshot_id=chunk.snapshot_id
        )

    def patch(self, body: object) -> AllowListAck:
        patch = validate_in_slices(AllowListPatch, body, "upserts", self.give_way)
        self._check_references(patch.upserts, "upserts")
        store = self.gate.allowlist
        stale = store.restore_mark() is not None
        try:
            store.patch(patch.base_version, patch.version, patch.upserts, patch.removals)
        except PatchBaseMismatch as exc:
            self.request_snapshot(f"patch base {exc.want} does not match")
            raise Rejected(str(exc)) from None
        self.gate.record(
            EventType.ALLOWLIST_UPDATED,
            None,
            version=patch.version,
            size=store.count(),
            source="office",
            kind="patch",
            upserts=len(patch.upserts),
            removals=len(patch.removals),
        )
        if stale:
            self.resynced(patch.version)
        return AllowListAck(ok=True, kind="patch", version=patch.version)

    def resynced(self, version: int) -> None:
        """The restored list is replaced: the ``allowlist_stale`` alarm is over."""
        self.gate.record(EventType.ALLOWLIST_RESYNCED, None, version=version, source="office")

    def refusal(self, kind: str, exc: Rejected) -> AllowListAck:
        return AllowListAck(
            ok=False,
            kind="snapshot" if kind == "snapshot" else "patch",
            version=self.gate.allowlist.version(),
            error=exc.error,
            errors=[f"{p}: {m}" if p else m for p, m in exc.errors][:100],
        )

    def request_snapshot(self, reason: str) -> None:
        request = AllowListRequest(have_version=self.gate.allowlist.version(), reason=reason)
        self._send(self._request_topic, request.model_dump_json().encode())
