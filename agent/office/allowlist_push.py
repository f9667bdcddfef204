"""Sending an allow-list to one gate: a patch from what it holds, or a chunked snapshot."""

from __future__ import annotations

import uuid
from typing import Any

from agent.link.topics import Topics
from agent.models.messages import AllowListPatch, SnapshotChunk
from agent.models.wire import AllowListEntry
from agent.office.client import OfficeLink


def gate_version(link: OfficeLink, topics: Topics, timeout: float) -> int | None:
    status = link.expect(topics.status, timeout=timeout)
    return status.get("allowlist_version") if status else None


def push_patch(
    link: OfficeLink,
    topics: Topics,
    base: int,
    sent: dict[str, AllowListEntry],
    entries: list[AllowListEntry],
    timeout: float,
) -> dict[str, Any] | None:
    new = {e.credential: e for e in entries}
    upserts = [e for cred, e in new.items() if sent.get(cred) != e]
    removals = [cred for cred in sent if cred not in new]
    patch = AllowListPatch(base_version=base, version=base + 1, upserts=upserts, removals=removals)
    link.send(topics.allowlist_patch, patch.model_dump(mode="json"))
    return link.expect(topics.allowlist_ack, lambda m: m.get("kind") == "patch", timeout)


def push_snapshot(
    link: OfficeLink,
    topics: Topics,
    version: int,
    entries: list[AllowListEntry],
    chunk_size: int,
    timeout: float,
) -> dict[str, Any] | None:
    snapshot_id = uuid.uuid4().hex
    parts = [entries[i : i + chunk_size] for i in range(0, len(entries), chunk_size)] or [[]]
    for index, part in enumerate(parts):
        chunk = SnapshotChunk.model_construct(
            version=version, snapshot_id=snapshot_id, chunk=index, chunks=len(parts), entries=part
        )
        link.send(topics.allowlist_snapshot, chunk.model_dump_json(exclude_none=True))
    return link.expect(
        topics.allowlist_ack,
        lambda m: (
            m.get("kind") == "snapshot" and (m.get("snapshot_id") == snapshot_id or not m.get("ok"))
        ),
        timeout,
    )
