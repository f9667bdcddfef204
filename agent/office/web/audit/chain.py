"""Appending to the audit log and verifying its hash chain.

Each entry's hash is SHA-256 over the previous entry's hash and the entry's canonical
content (sorted-key JSON), so an altered entry breaks its own hash and a deleted one
breaks the next entry's link and the run of positions. Removing the newest entries
leaves a shorter valid chain: ``audit verify`` prints the head so it can be noted
elsewhere (docs/office.md).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from agent.office.web.audit.models import AuditEntry

GENESIS = "0" * 64
_TRIES = 5
_APPEND_LOCK = 0x6761746541554454  # "gateAUDT": the PostgreSQL advisory lock of the head


def _hold_the_head() -> None:
    """One appender at a time until the transaction ends.

    Locking the head row is not enough on PostgreSQL: a writer that waited for it reads the
    same old head afterwards (READ COMMITTED re-checks the locked row, it does not see the
    new one), and two writers then claim one position. SQLite serialises by itself (the
    settings begin transactions IMMEDIATE).
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_APPEND_LOCK])


def entry_digest(
    position: int, at: datetime, actor: str, action: str, target: str, reason: str, previous: str
) -> str:
    """The hash of one entry's canonical content chained to ``previous``."""
    content = {
        "position": position,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "target": target,
        "reason": reason,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(previous.encode() + b"\n" + canonical.encode()).hexdigest()


def _digest_of(entry: AuditEntry, previous: str) -> str:
    return entry_digest(
        entry.position, entry.at, entry.actor, entry.action, entry.target, entry.reason, previous
    )


def append(actor: str, action: str, target: str, reason: str = "") -> AuditEntry:
    """A new entry at the head; concurrent writers retry on the unique position."""
    for attempt in range(_TRIES):
        try:
            with transaction.atomic():
                _hold_the_head()
                head = AuditEntry.objects.select_for_update().order_by("-position").first()
                position = head.position + 1 if head else 1
                previous = head.entry_hash if head else GENESIS
                entry = AuditEntry(
                    position=position,
                    at=timezone.now(),
                    actor=actor,
                    action=action,
                    target=target,
                    reason=reason,
                    previous_hash=previous,
                )
                entry.entry_hash = _digest_of(entry, previous)
                entry.save()
                return entry
        except IntegrityError:
            if attempt == _TRIES - 1:
                raise
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Verdict:
    """The chain's state: intact with its head, or the first bad entry and why."""

    entries: int
    head: str
    bad_position: int | None = None
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.bad_position is None


def verify() -> Verdict:
    """Walk the chain from the first entry; stop at the first that does not hold."""
    previous, expected, count = GENESIS, 1, 0
    for entry in AuditEntry.objects.order_by("position").iterator(chunk_size=2000):
        if entry.position != expected:
            return Verdict(count, previous, expected, f"entry {expected} is missing")
        if entry.previous_hash != previous:
            broken = "its link to the entry before is broken"
            return Verdict(count, previous, entry.position, broken)
        if _digest_of(entry, previous) != entry.entry_hash:
            return Verdict(count, previous, entry.position, "its content was altered")
        previous, expected, count = entry.entry_hash, expected + 1, count + 1
    return Verdict(count, previous)
