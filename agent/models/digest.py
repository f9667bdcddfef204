"""``[workplace.digest]``: where ``gate-office web digest`` sends the daily digest: by mail
(SMTP) and/or to the ``[alerts] hook`` command."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from agent.models.base import Strict


class DigestSettings(Strict):
    """The mail server, its sender and recipients, the digest's language; ``hook = true``
    hands the digest to the office's ``[alerts] hook`` too."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    host: str = ""  # no mail when empty
    port: int = Field(25, ge=1, le=65535)
    starttls: bool = False
    ca_file: Path | None = None  # a private CA that signed the server's certificate
    username: str | None = None
    password_file: Path | None = None
    sender: str = Field("", alias="from")
    to: list[str] = []
    language: Literal["zh-hans", "en"] | None = None  # default: the site's language
    hook: bool = False
    timeout_s: float = Field(30, gt=0, le=300)

    @model_validator(mode="after")
    def _login_whole(self) -> DigestSettings:
        if (self.username is None) != (self.password_file is None):
            raise ValueError("username and password_file go together")
        return self
