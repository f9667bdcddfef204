"""The gate's mode from its three causes: lockdown, a remote release, the fire input."""

from __future__ import annotations

from dataclasses import dataclass

from agent.core.decision import GateMode


@dataclass
class Modes:
    """What is switched on. Release (fire or office) wins over lockdown; lockdown over normal."""

    lockdown: bool = False
    remote_release: bool = False
    fire: bool = False

    @property
    def mode(self) -> GateMode:
        if self.fire or self.remote_release:
            return GateMode.RELEASE
        return GateMode.LOCKDOWN if self.lockdown else GateMode.NORMAL

    def door_mode(self, door_released: bool) -> GateMode:
        """The mode a card read at one door is decided in (fire releases only some doors)."""
        if door_released:
            return GateMode.RELEASE
        return GateMode.LOCKDOWN if self.lockdown else GateMode.NORMAL

    def releases(self, release_on_fire: bool) -> bool:
        """Whether a door with this setting is held released now."""
        return self.remote_release or (self.fire and release_on_fire)
