"""``[logging]``: how much the agent says, overall and per logger."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from agent.models.base import Strict

Level = Literal["debug", "info", "warning", "error", "critical"]


class LoggingConfig(Strict):
    """Used by ``run`` unless ``--log-level`` or ``$GATE_AGENT_LOG`` says otherwise."""

    level: Level = "info"
    # e.g. {"agent.link" = "debug", "agent.events" = "warning"}
    levels: dict[str, Level] = Field(default_factory=dict)

    def spec(self) -> str:
        """The same text ``--log-level`` takes: ``info,agent.link=debug``."""
        return ",".join([self.level, *(f"{name}={lvl}" for name, lvl in self.levels.items())])
