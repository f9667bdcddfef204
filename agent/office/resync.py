"""The office's answer to a gate that asks for its allow-list (``allowlist/request``).

A gate asks when it holds no list, when a patch did not fit what it holds, and after
``gate-agent restore`` put a backup's list in place: the office may have revoked cards
since. The answer is the list the office last pushed to that gate, as a snapshot one
version above both what the gate has and what the office recorded, so a restored gate
is back on the office's list within seconds of reaching the broker.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from pydantic import ValidationError

from agent.models.messages import (
    MAX_VERSION,
    SNAPSHOT_CHUNK,
    AllowListRequest,
    SnapshotChunk,
    snapshot_parts,
)
from agent.models.wire import AllowListEntry

log = logging.getLogger(__name__)

CHUNK = SNAPSHOT_CHUNK  # entries per snapshot message, as `gate-office allowlist push` sends them


@runtime_checkable
class PushRecord(Protocol):
    """What the office remembers of the lists it pushed."""

    def pushed(self, site: str, gate: str) -> tuple[int | None, dict[str, AllowListEntry]]: ...

    def record_push(
        self, site: str, gate: str, version: int, entries: list[AllowListEntry]
    ) -> None: ...


Publish = Callable[[str, str, str, dict[str, Any]], bool]


def answer_request(store: PushRecord, publish: Publish, site: str, gate: str, data: object) -> int:
    """Send gate ``site/gate`` the list it was last pushed; the version sent, or 0 if
    nothing could be sent (no list on record, a malformed request, the broker away)."""
    try:
        request = AllowListRequest.model_validate(data)
    except ValidationError:
        log.warning("office: malformed allow-list request from %s/%s", site, gate)
        return 0
    sent_version, sent = store.pushed(site, gate)
    if sent_version is None:
        log.warning(
            "office: %s/%s asks for its allow-list (%s) but none was ever pushed to it",
            site, gate, request.reason,
        )  # fmt: skip
        return 0
    version = max(request.have_version or 0, sent_version) + 1
    if version > MAX_VERSION:
        log.error("office: %s/%s: allow-list versions are used up", site, gate)
        return 0
    entries = list(sent.values())
    parts = snapshot_parts(entries, CHUNK)
    snapshot_id = uuid.uuid4().hex
    for index, part in enumerate(parts):
        chunk = SnapshotChunk.model_construct(
            version=version, snapshot_id=snapshot_id, chunk=index, chunks=len(parts), entries=part
        )
        body: Mapping[str, Any] = chunk.model_dump(mode="json", exclude_none=True)
        if not publish(site, gate, "allowlist/snapshot", dict(body)):
            return 0
    # recorded as sent: if the gate refuses it, the versions differ and the next push
    # is a whole snapshot again
    store.record_push(site, gate, version, entries)
    log.info(
        "office: %s/%s asked for its allow-list (%s, has v%s): sent v%d, %d entries",
        site, gate, request.reason, request.have_version, version, len(entries),
    )  # fmt: skip
    return version
