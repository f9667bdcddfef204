"""Sending an allow-list to one gate: a patch from what it holds, or a chunked snapshot."""

from __future__ import annotations

import argparse
import uuid
from collections.abc import Callable
from typing import Any

from agent.link.topics import Topics
from agent.models.messages import AllowListPatch, SnapshotChunk, snapshot_parts
from agent.models.wire import AllowListEntry
from agent.office import options
from agent.office.answers import NoAnswer, Refused, show
from agent.office.client import OfficeLink
from agent.office.presence import online_status, site_statuses


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
    parts = snapshot_parts(entries, chunk_size)
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


def push_list(args: argparse.Namespace, entries: list[AllowListEntry]) -> dict[str, Any]:
    """Bring gate ``args.site/args.gate`` to ``entries``; what it holds now, or an error
    (``NoAnswer``: nothing known to have changed; ``Refused``: the gate said no)."""
    topics = options.topics(args)
    with options.link(args, [site_statuses(topics), topics.allowlist_ack]) as link:
        have = online_status(link, topics, "the allow-list").get("allowlist_version")
        return push_over(link, args, have, entries)


def push_over(
    link: OfficeLink,
    args: argparse.Namespace,
    have: int | None,
    entries: list[AllowListEntry],
    keep: Callable[[AllowListEntry], bool] | None = None,
) -> dict[str, Any]:
    """``push_list`` on a link subscribed to the gate's ack, for a gate online holding
    version ``have``; the push is recorded in the office store. ``keep``: entries of the
    list last pushed to the gate that stay beside ``entries`` (those win on a clash)."""
    topics = options.topics(args)
    store = options.store(args)
    try:
        sent_version, sent = store.pushed(args.site, args.gate)
        if keep is not None:
            mine = {e.credential for e in entries}
            entries = entries + [e for cred, e in sent.items() if cred not in mine and keep(e)]
        result = None
        if not args.snapshot and have is not None and have == sent_version:
            result = push_patch(link, topics, have, sent, entries, args.timeout)
        if result is None or (not result["ok"] and "does not match" in str(result.get("error"))):
            version = max(have or 0, sent_version or 0) + 1
            result = push_snapshot(link, topics, version, entries, args.chunk, args.timeout)
        if result is None:
            raise NoAnswer(
                f"gate {topics.site}/{topics.gate} is online but did not acknowledge the "
                f"allow-list within {args.timeout:g} s; nothing is known to have changed"
            )
        if not result["ok"]:
            if args.json:
                show(result, True, "")
            raise Refused(f"refused by the gate: the allow-list: {result.get('error')}")
        store.record_push(args.site, args.gate, result["version"], entries)
        # the gate is now one the office knows (`fleet`, `--to all`), at this version
        store.db.update_gate(args.site, args.gate, allowlist_version=result["version"])
    finally:
        store.close()
    return {"ok": True, "version": result["version"], "kind": result["kind"],
            "entries": len(entries)}  # fmt: skip
