"""The gate's mode from its causes: lockdown, a remote release, the fire input, a drill."""

from __future__ import annotations

from dataclasses import dataclass

from agent.core.decision import GateMode
from agent.core.kinds import DrillKind

PENDING_AFTER_RELEASE = "applies when the release ends"


@dataclass
class Modes:
    """What is switched on. Release (fire, office or drill) wins over lockdown; lockdown
    over normal. A fire drill releases what the fire input would; an evacuation drill
    releases every door, as a remote release does."""

    lockdown: bool = False
    remote_release: bool = False
    fire: bool = False
    drill: DrillKind | None = None

    @property
    def mode(self) -> GateMode:
        if self.fire or self.remote_release or self.drill is not None:
            return GateMode.RELEASE
        return GateMode.LOCKDOWN if self.lockdown else GateMode.NORMAL

    def door_mode(self, door_released: bool) -> GateMode:
        """The mode a card read at one door is decided in (fire releases only some doors)."""
        if door_released:
            return GateMode.RELEASE
        return GateMode.LOCKDOWN if self.lockdown else GateMode.NORMAL

    def releases(self, release_on_fire: bool) -> bool:
        """Whether a door with this setting is held released now."""
        if self.remote_release or self.drill is DrillKind.EVACUATION:
            return True
        return (self.fire or self.drill is DrillKind.FIRE) and release_on_fire


def request_note(
    mode: GateMode, fire: bool, what: str, on: bool, drill: bool = False
) -> dict[str, str]:
    """Why a lockdown or release request left the mode as it is: a lockdown waits for the
    release to end; a release switched off stays while the fire input or a drill holds it."""
    if mode is not GateMode.RELEASE:
        return {}
    if what == "lockdown" and on:
        return {"pending": PENDING_AFTER_RELEASE}
    if what == "release" and not on and (fire or drill):
        return {"held_by": "fire_input" if fire else "drill"}
    return {}
