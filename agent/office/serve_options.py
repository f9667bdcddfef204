"""What ``gate-office serve`` is given: its options, and what it needs of the office
database (a ``Protocol``, so tests and benches can hand it any store)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from agent.office.db.base import EventRow


class ServiceStore(Protocol):
    """What the service needs of the office database."""

    def add_rows(self, rows: Sequence[EventRow]) -> int: ...

    def update_gate(self, site: str, gate: str, **fields: Any) -> None: ...

    def highest_contiguous_seq(self, site: str, gate: str) -> int: ...


@dataclass
class ServeOptions:
    """How the service batches, and when it raises alerts."""

    prefix: str = "gate"
    batch_max: int = 5000  # events in one transaction (and so one receipt per gate)
    batch_wait_s: float = 0.02
    offline_alert_s: float = 300.0
    lag_alert_s: float = 600.0
    audit_s: float = 30.0  # how often an idle office looks for events it lost
    hook: list[str] = field(default_factory=list)
    presence_heartbeat_s: float = 10.0  # a quiet site's gates hear the office this often
