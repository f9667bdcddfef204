"""Allow-list messages from the office: chunked snapshots and patches, then an ack."""

from __future__ import annotations

from collections.abc import Callable

from agent.core.kinds import EventType
from agent.errors import ImportRejected, Rejected
from agent.gate.ports import GatePort
from agent.link.entry_slices import go_on, validate_in_slices
from agent.link.list_worker import BuildFailed, ListWorker
from agent.link.signing import AuthError
from agent.models.messages import AllowListAck, AllowListPatch, AllowListRequest
from agent.store.allowlist import PatchBaseMismatch
from agent.store.importer import References

# the longest a bulk job waits for the core loop to finish its work, each time: the loop
# is seldom busy for longer than a decision (a millisecond), so this only bounds a stall
GIVE_WAY_S = 0.05


class AllowListSync:
    """Applies snapshots and patches to the gate's list; asks for a snapshot when lost."""

    def __init__(
        self,
        gate: GatePort,
        request_topic: str,
        send: Callable[[str, bytes], object],
        give_way: Callable[[], object] = go_on,
    ):
        self.gate = gate
        self._request_topic = request_topic
        self._send = send
        # waits while the core loop has work: a patch's pieces go between decisions
        self.give_way = give_way
        self.worker = ListWorker()  # a snapshot's chunks: parsed and written apart

    def snapshot(self, body: str) -> AllowListAck | None:
        """Stage one chunk (its signed body's JSON text); switch to the new list and ack
        when the last one is in. The list worker parses, checks and writes the chunk;
        ``AuthError`` if the body is not JSON."""
        worker = self.worker
        try:
            head = worker.check(body, self.gate.config_state().config)
        except ValueError as exc:
            raise AuthError("malformed", str(exc)) from None
        except BuildFailed:  # the chunks before were not all written (or torn)
            self.give_up()
            raise
        snapshot_id, version = str(head["snapshot_id"]), int(head["version"])
        store = self.gate.allowlist
        try:
            if not store.stage_with(
                snapshot_id, version, int(head["chunk"]), int(head["chunks"]), worker.write
            ):
                return None
            stale = store.restore_mark() is not None
            size = store.commit_staged(snapshot_id, version, finish=worker.finish)
        except (Rejected, ImportRejected) as exc:
            self.give_up()
            raise exc if isinstance(exc, Rejected) else Rejected(str(exc)) from None
        except BaseException:  # a full disk, say: no half-staged file stays behind
            self.give_up()
            raise
        worker.stop()
        self.gate.record(
            EventType.ALLOWLIST_UPDATED,
            None,
            version=version,
            size=size,
            source="office",
            kind="snapshot",
        )
        if stale:
            self.resynced(version)
        return AllowListAck(ok=True, kind="snapshot", version=version, snapshot_id=snapshot_id)

    def give_up(self) -> None:
        """Drop a half-staged snapshot and end the list worker (stop, or a failure)."""
        self.gate.allowlist.discard_staged()
        self.worker.stop()

    def patch(self, body: object) -> AllowListAck:
        patch = validate_in_slices(AllowListPatch, body, "upserts", self.give_way)
        References.of(self.gate.config_state().config).check_entries(patch.upserts, "upserts")
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
