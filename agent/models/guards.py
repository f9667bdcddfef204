"""Guard accounts as the office pushes them (``<root>/guards/set``) and the gate's ack."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictBool, StringConstraints, model_validator

from agent.models.base import Strict

MAX_GUARDS = 500
GuardId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,31}$")]
# scrypt$<log2 n>$<r>$<p>$<salt b64>$<hash b64>: what agent.store.passwords writes
PasswordHash = Annotated[
    str, StringConstraints(pattern=r"^scrypt\$[0-9]{1,2}\$[0-9]{1,2}\$[0-9]\$[A-Za-z0-9+/=]{16,64}"
                           r"\$[A-Za-z0-9+/=]{32,128}$")
]  # fmt: skip


class GuardEntry(Strict):
    """One account: never a password, only its memory-hard hash."""

    guard_id: GuardId
    password_hash: PasswordHash
    disabled: StrictBool = False


class GuardList(Strict):
    """Every account of the gate; replaces the list it holds when ``version`` is newer."""

    version: int = Field(ge=1, le=2**63 - 1)
    guards: list[GuardEntry] = Field(max_length=MAX_GUARDS)

    @model_validator(mode="after")
    def _unique(self) -> GuardList:
        ids = [g.guard_id for g in self.guards]
        if len(set(ids)) != len(ids):
            raise ValueError("a guard id is listed twice")
        return self


class GuardAck(Strict):
    ok: bool
    version: int | None = Field(None, description="the version the gate now holds")
    count: int | None = None
    error: str | None = None
    errors: list[str] = []
