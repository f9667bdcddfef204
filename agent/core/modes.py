"""The gate's mode from its three causes: lockdown, a remote release, the fire input."""

from __future__ import annotations

from dataclasses import dataclass

from agent.core.decision import GateMode

PENDING_AFTER_RELEASE = "applies when the release ends"


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


def request_note(mode: GateMode, fire: bool, what: str, on: bool) -> dict[str, str]:
    """Why a lockdown or release request left the mode as it is: a lockdown waits for the
    release to end; a release switched off stays while the fire input holds it."""
    if mode is not GateMode.RELEASE:
        return {}
    if what == "lockdown" and on:
        return {"pending": PENDING_AFTER_RELEASE}
    if what == "release" and not on and fire:
        return {"held_by": "fire_input"}
    return {}
