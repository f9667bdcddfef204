"""What a barrier's LED sign shows: each vehicle read's outcome, then free spaces.

Words are Chinese by default (the glossary's terms: 欢迎回家, 未登记车辆, 车位已满,
剩余车位), English when the sign's ``language = "en"``. Free spaces come from a
``CapacitySource`` (the car park's occupancy count, when one is given); without one
the sign shows none. Runs on the core loop; the sign's driver never blocks it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Protocol

from agent.core.loop import CoreLoop, Timer
from agent.models.barrier import SignSpec
from drivers.sign import TextSign

log = logging.getLogger(__name__)


class CapacitySource(Protocol):
    """Free car spaces behind a barrier: what the occupancy count feeds the sign."""

    def free_spaces(self, door: str) -> int | None:
        """Spaces free now in the area that ``door`` leads into; None: not counted. Called
        on the core loop at every outcome: answer from memory, never from a database."""
        ...


WORDS: Mapping[str, Mapping[str, str]] = {
    "zh-Hans": {
        "idle": "欢迎光临",
        "welcome_home": "欢迎回家",
        "welcome_visitor": "欢迎来访",
        "granted": "允许通行",
        "emergency_release": "紧急疏散",
        "unknown": "未登记车辆",
        "car_park_full": "车位已满",
        "expired": "已过期",
        "suspended": "已停用",
        "outside_schedule": "不在通行时段",
        "wrong_door": "无此通道权限",
        "lockdown": "暂停通行",
        "denied": "拒绝通行",
        "free": "剩余车位 {n}",
    },
    "en": {
        "idle": "Welcome",
        "welcome_home": "Welcome home",
        "welcome_visitor": "Welcome",
        "granted": "Go ahead",
        "emergency_release": "Emergency",
        "unknown": "Not registered",
        "car_park_full": "Car park full",
        "expired": "Expired",
        "suspended": "Suspended",
        "outside_schedule": "Not at this hour",
        "wrong_door": "Not this lane",
        "lockdown": "Closed",
        "denied": "Access denied",
        "free": "Free spaces {n}",
    },
}


REFUSALS = frozenset(
    {"unknown", "car_park_full", "expired", "suspended", "outside_schedule", "wrong_door",
     "lockdown"}
)  # fmt: skip


def outcome_words(granted: bool, reason: str, kind: str | None, language: str) -> str:
    """The sign's line for one decision: a welcome, or why the vehicle is refused."""
    words = WORDS[language]
    if granted:
        if reason == "emergency_release":
            return words["emergency_release"]
        welcome = {"resident": "welcome_home", "visitor": "welcome_visitor"}.get(kind or "")
        return words[welcome or "granted"]
    return words[reason] if reason in REFUSALS else words["denied"]


class SignBoard:
    """One barrier's sign: an outcome for ``show_s``, else the idle text and free spaces."""

    def __init__(
        self,
        door: str,
        sign: TextSign,
        spec: SignSpec,
        loop: CoreLoop,
        capacity: CapacitySource | None = None,
    ) -> None:
        self.door = door
        self.sign = sign
        self.spec = spec
        self.capacity = capacity
        self._loop = loop
        self._back: Timer | None = None
        self.idle()

    @property
    def words(self) -> Mapping[str, str]:
        return WORDS[self.spec.language]

    def free_line(self) -> str:
        """``剩余车位 12``, ``车位已满``, or empty when nothing counts the spaces."""
        if self.capacity is None:
            return ""
        try:
            free = self.capacity.free_spaces(self.door)
        except Exception:  # a failing count must not cost the sign (or the read)
            log.exception("sign %s: the free-space count failed", self.door)
            return ""
        if free is None:
            return ""
        return self.words["car_park_full"] if free <= 0 else self.words["free"].format(n=free)

    def idle(self) -> None:
        self._back = None
        self._show((self.spec.idle_text or self.words["idle"], self.free_line()))

    def refresh(self) -> None:
        """The count changed: show it now unless an outcome is on the sign."""
        if self._back is None:
            self.idle()

    def announce(self, text: str) -> None:
        """``text`` on the top row for ``show_s``, then back to the idle text."""
        if self._back is not None:
            self._back.cancel()
        self._show((text, self.free_line()))
        self._back = self._loop.call_later(self.spec.show_s, self.idle)

    def _show(self, rows: tuple[str, ...]) -> None:
        try:
            self.sign.show(rows)
        except Exception:  # the sign is a courtesy: never the gate's failure
            log.exception("sign %s: could not show", self.door)
