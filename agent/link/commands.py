"""Office commands: open, lockdown, release, resync, status."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agent.errors import Rejected
from agent.gate.ports import GatePort
from agent.models.messages import Command, CommandAck

COMMANDS = ("open", "lockdown", "release", "resync", "status")


class Commands:
    """Carries out one command and answers with what the gate now is."""

    def __init__(
        self,
        gate: GatePort,
        request_snapshot: Callable[[str], None],
        request_status: Callable[[], None],
    ) -> None:
        self.gate = gate
        self._request_snapshot = request_snapshot
        self._request_status = request_status

    def run(self, name: str, body: object) -> CommandAck:
        command = Command.model_validate(body)
        gate = self.gate
        if name not in COMMANDS:
            raise Rejected(f"unknown command {name!r}; commands: {', '.join(COMMANDS)}")
        if name == "open":
            doors = gate.devices.doors
            if command.door is None or command.door not in doors:
                raise Rejected(f"open needs a door of this gate: {', '.join(doors)}")
            gate.open_door(command.door, "office", command.request_id)
        elif name in ("lockdown", "release"):
            if command.on is None:
                raise Rejected(f"{name} needs on: true or false")
            change = gate.set_lockdown if name == "lockdown" else gate.set_release
            change(command.on, "office")
        elif name == "resync":
            self._request_snapshot("resync command")
        status = gate.status(0)
        result: dict[str, Any] = {"mode": status.mode}
        if name == "status":
            result = {
                "mode": status.mode,
                "allowlist": {"version": status.allowlist_version, "size": status.allowlist_size},
                "outbox_depth": status.outbox_depth,
                "doors": {k: d.model_dump(mode="json") for k, d in status.doors.items()},
                "clock_trusted": status.clock_trusted,
                "config_revision": status.config_revision,
            }
        self._request_status()
        return CommandAck(request_id=command.request_id, command=name, ok=True, result=result)

    @staticmethod
    def refusal(name: str | None, request_id: str | None, exc: Rejected) -> CommandAck:
        return CommandAck(request_id=request_id, command=name or "", ok=False, error=exc.error)
