"""The office's answer to a gate's allow-list request, for any request a gate may send."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.models.messages import MAX_CHUNKS, MAX_VERSION, SnapshotChunk, snapshot_parts
from agent.models.wire import AllowListEntry
from agent.office.resync import CHUNK, answer_request


class Record:
    """The office's record of what it pushed to one gate (in memory)."""

    def __init__(self, version: int | None, count: int) -> None:
        entries = [AllowListEntry(credential=f"{i:064x}", holder_id=f"R-{i}") for i in range(count)]
        self.version = version
        self.entries = {e.credential: e for e in entries}

    def pushed(self, site: str, gate: str) -> tuple[int | None, dict[str, AllowListEntry]]:
        return self.version, self.entries

    def record_push(self, site: str, gate: str, version: int, entries: list[Any]) -> None:
        self.version = version


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=10,
)
REQUESTS = JSONISH | st.fixed_dictionaries(
    {"have_version": st.none() | st.integers(), "reason": st.text(max_size=20)}
)


@settings(max_examples=200, deadline=None)
@given(body=REQUESTS, version=st.none() | st.integers(1, MAX_VERSION))
def test_any_request_is_answered_or_ignored_never_raises(body: object, version: int | None) -> None:
    record = Record(version, 3)
    sent: list[dict[str, Any]] = []
    answered = answer_request(record, lambda *a: sent.append(a[3]) or True, "s", "g", body)
    if answered:
        assert all(SnapshotChunk.model_validate(m).version == answered for m in sent)
        assert record.version == answered and 1 <= answered <= MAX_VERSION
    else:
        assert not sent


def test_a_restored_gate_gets_its_last_list_above_both_versions() -> None:
    record = Record(7, CHUNK + 5)
    sent: list[tuple[str, dict[str, Any]]] = []
    body = {"have_version": 4, "reason": "the gate was restored from a backup"}
    assert answer_request(record, lambda s, g, t, m: sent.append((t, m)) or True, "s", "g", body)
    chunks = [SnapshotChunk.model_validate(m) for _, m in sent]
    assert {t for t, _ in sent} == {"allowlist/snapshot"}
    assert [c.version for c in chunks] == [8, 8]
    assert sum(len(c.entries) for c in chunks) == CHUNK + 5
    assert answer_request(Record(None, 0), lambda *a: True, "s", "g", body) == 0


@settings(max_examples=200, deadline=None)
@given(count=st.integers(0, 3 * MAX_CHUNKS), chunk=st.integers(1, 300))
def test_a_snapshot_never_takes_more_messages_than_a_gate_accepts(count: int, chunk: int) -> None:
    # at 100 a message, a list over a million entries would have taken more than the
    # 10,000 chunks a gate stages; those lists go in larger messages instead
    entries = list(range(count))
    parts = snapshot_parts(entries, chunk)
    assert 1 <= len(parts) <= MAX_CHUNKS
    assert [e for part in parts for e in part] == entries
    assert all(len(p) <= max(chunk, -(-count // MAX_CHUNKS)) for p in parts)
    if count <= chunk * MAX_CHUNKS:
        assert all(len(p) == chunk for p in parts[:-1])  # the size asked for
