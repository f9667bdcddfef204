"""What the office service alerts on, and how: a log line and an optional hook command.

Alerts: an alarm or security alert from a gate; a gate offline longer than a
threshold; a gate whose events arrive long after they happened (a backlog). Each is
raised once per episode (a gate back online, or caught up, may alert again later).
"""

from __future__ import annotations

import json
import logging
import subprocess
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent.office.db.base import EventRow

log = logging.getLogger(__name__)

SEEN_IDS = 10_000  # alarm ids remembered, so a repeated delivery alerts once


class Alerts:
    """Log an alert, and hand it to the hook command as one JSON object on stdin."""

    def __init__(self, hook: list[str]) -> None:
        self.hook = hook
        self.raised: list[dict[str, Any]] = []  # the latest ones, for status and tests

    def raise_(self, kind: str, site: str, gate: str, **details: Any) -> None:
        alert = {"alert": kind, "site": site, "gate": gate, **details}
        self.raised.append(alert)
        del self.raised[:-100]
        log.warning("ALERT %s at %s/%s: %s", kind, site, gate, details)
        if self.hook:
            try:
                proc = subprocess.Popen(self.hook, stdin=subprocess.PIPE)
                assert proc.stdin is not None
                proc.stdin.write(json.dumps(alert, default=str).encode() + b"\n")
                proc.stdin.close()
            except OSError as exc:
                log.error("alert hook %s failed: %s", self.hook[0], exc)


@dataclass
class _Gate:
    online: bool = True
    since: datetime | None = None
    offline_alerted: bool = False
    lag_alerted: bool = False


class GateWatch:
    """Per gate: online or not since when, and how far behind its events arrive."""

    def __init__(self, alerts: Alerts, offline_s: float, lag_s: float) -> None:
        self.alerts = alerts
        self.offline_s = offline_s
        self.lag_s = lag_s
        self.gates: dict[tuple[str, str], _Gate] = {}
        self._seen: deque[str] = deque(maxlen=SEEN_IDS)  # alarm ids, oldest first
        self._seen_set: set[str] = set()

    def changed(self, site: str, gate: str, online: bool) -> bool:
        """Whether ``online`` differs from what the watch last heard of the gate."""
        state = self.gates.get((site, gate))
        return state is None or state.since is None or state.online != online

    def status(self, site: str, gate: str, online: bool, now: datetime) -> None:
        state = self.gates.setdefault((site, gate), _Gate())
        if online != state.online or state.since is None:
            state.online, state.since = online, now
            if online and state.offline_alerted:
                state.offline_alerted = False
                log.info("gate %s/%s is back online", site, gate)

    def rows(self, rows: Sequence[EventRow], now: datetime) -> None:
        """Alert on the alarms among freshly stored events, and on gates far behind."""
        lags: dict[tuple[str, str], tuple[float, float]] = {}  # gate: (most, latest) lag
        for row in rows:
            if row.severity == "alarm" and row.id not in self._seen_set:
                self._remember(row.id)
                self.alerts.raise_(
                    row.type, row.site, row.gate, door=row.door, seq=row.seq,
                    time=row.time.isoformat(), details=json.loads(row.details_json),
                )  # fmt: skip
            lag = (now - row.time).total_seconds()
            most, _ = lags.get((row.site, row.gate), (lag, lag))
            lags[row.site, row.gate] = (max(most, lag), lag)
        for (site, gate), (most, latest) in lags.items():
            state = self.gates.setdefault((site, gate), _Gate())
            if most > self.lag_s and not state.lag_alerted:
                state.lag_alerted = True
                self.alerts.raise_("backlog", site, gate, behind_s=round(most))
            if latest <= self.lag_s / 2:
                state.lag_alerted = False

    def _remember(self, event_id: str) -> None:
        if len(self._seen) == self._seen.maxlen:
            self._seen_set.discard(self._seen[0])
        self._seen.append(event_id)
        self._seen_set.add(event_id)

    def check(self, now: datetime) -> None:
        """Gates offline longer than the threshold (called once a second or so)."""
        for (site, gate), state in self.gates.items():
            if state.online or state.offline_alerted or state.since is None:
                continue
            if (now - state.since).total_seconds() >= self.offline_s:
                state.offline_alerted = True
                self.alerts.raise_("offline", site, gate, since=state.since.isoformat())
