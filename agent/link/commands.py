"""Office commands: open, lockdown, release, resync, status, pass (revoke or deliver
visitor passes), drill (start or stop a fire or evacuation drill), and forgive (a
holder's anti-passback).

A refusal ack carries the request id the office chose whenever the request had one,
so the office can tell the refusal of its own command from silence. For a message
that failed authentication the id is read from the unverified body and only echoed
(when it is a short printable string); it is never used for anything else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from agent.core.decision import GateMode
from agent.core.modes import request_note
from agent.errors import Rejected
from agent.gate.ports import GatePort
from agent.models.drills import DrillCommand
from agent.models.jsonin import loads_bounded
from agent.models.messages import Command, CommandAck
from agent.models.occupancy import ForgiveCommand
from agent.models.passes import PassUpdate
from agent.models.pictures import PictureRequest
from agent.models.problems import error_list

COMMANDS = ("open", "lockdown", "release", "resync", "status", "pass", "drill", "forgive",
            "picture")  # fmt: skip
M = TypeVar("M", bound=BaseModel)
REQUEST_ID_MAX = 64  # what ``Command`` accepts
ECHO_MAX_BYTES = 8 * 1024  # commands are small: a bigger unverified message is not read


def short_request_id(value: object) -> str | None:
    """``value`` if it can be echoed as a request id, else None."""
    if isinstance(value, str) and 0 < len(value) <= REQUEST_ID_MAX and value.isprintable():
        return value
    return None


def claimed_request_id(payload: bytes | str) -> str | None:
    """The request id a message (signed envelope or bare command) claims, unverified."""
    if len(payload) > ECHO_MAX_BYTES:
        return None
    try:
        message = loads_bounded(payload, max_depth=4)
        if isinstance(message, dict) and isinstance(message.get("body"), str):
            message = loads_bounded(message["body"], max_depth=4)
    except (ValueError, UnicodeDecodeError):
        return None
    return short_request_id(message.get("request_id")) if isinstance(message, dict) else None


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
        if name == "pass":
            update = PassUpdate.model_validate(body)
            done = self.gate.update_passes(update)
            return CommandAck(request_id=update.request_id, command=name, ok=True, result=done)
        if name == "drill":
            return self._drill(body)
        if name == "forgive":
            return self._forgive(body)
        if name == "picture":  # a plate picture, only for an incident (issue 22 item 7)
            wanted = PictureRequest.model_validate(body)
            picture = self.gate.send_picture(wanted.picture, wanted.incident, wanted.request_id)
            return CommandAck(request_id=wanted.request_id, command=name, ok=True, result=picture)
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
            change(command.on, "office", command.request_id)
        elif name == "resync":
            self._request_snapshot("resync command")
        status = gate.status(0)
        result: dict[str, Any] = {"mode": status.mode}
        if name in ("lockdown", "release") and command.on is not None:
            # a mode the gate cannot enter yet (lockdown during a fire release) is pending
            mode = GateMode(status.mode or GateMode.NORMAL)
            note = request_note(mode, bool(status.fire_alarm), name, command.on, bool(status.drill))
            result.update(lockdown=status.lockdown, **note)
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

    def _drill(self, body: object) -> CommandAck:
        """Start or stop a drill; a bad one is refused in one line that names the field."""
        drill = _parsed(DrillCommand, "drill", body)
        if drill.stop:
            result = self.gate.stop_drill("office")
        else:
            assert drill.kind is not None
            result = self.gate.start_drill(drill.kind, "office", minutes=drill.minutes,
                                           until=drill.until, note=drill.note,
                                           request_id=drill.request_id)  # fmt: skip
        self._request_status()
        return CommandAck(request_id=drill.request_id, command="drill", ok=True, result=result)

    def _forgive(self, body: object) -> CommandAck:
        """Forgive a holder's anti-passback; a bad body is refused in one line."""
        forgive = _parsed(ForgiveCommand, "forgive", body)
        result = self.gate.forgive_holder(forgive.holder_id, forgive.by, forgive.reason,
                                          forgive.request_id)  # fmt: skip
        return CommandAck(request_id=forgive.request_id, command="forgive", ok=True, result=result)

    @staticmethod
    def refusal(name: str | None, request_id: str | None, exc: Rejected) -> CommandAck:
        return CommandAck(request_id=request_id, command=name or "", ok=False, error=exc.error)


def _parsed(model: type[M], name: str, body: object) -> M:
    """``body`` as ``model``, or refused in one line that names the field."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        path, why = error_list(exc)[0]
        where = "" if path == "(top level)" else f"{path}: "
        raise Rejected(f"{name}: {where}{why}"[:200]) from None
