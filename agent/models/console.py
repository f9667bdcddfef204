"""``[console]``: the guard console, a web page served by the agent on the gate's LAN."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, StrictBool, model_validator

from agent.models.base import Strict


class ConsoleConfig(Strict):
    """Off unless asked for. Off the loopback address it wants TLS: guards type passwords."""

    enabled: StrictBool = False
    address: str = "127.0.0.1"
    port: int = Field(8443, ge=0, le=65535)  # 0: any free port (tests)
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    # plain HTTP on the LAN: only where the network itself is trusted (a bench, a VPN)
    insecure_http: StrictBool = False
    session_minutes: int = Field(480, ge=5, le=24 * 60)
    # a session with no request from its guard for this long ends (a tablet left signed in)
    idle_minutes: int = Field(15, ge=1, le=24 * 60)
    # a guard's new sign-in ends their older sessions (a phone left in the hut)
    one_session_per_guard: StrictBool = True
    # the pages' language (a guard can switch on the page): Simplified Chinese or English
    language: Literal["zh-Hans", "en"] = "zh-Hans"
    allow_names: StrictBool = False  # visitors' names on registrations (site policy)

    @model_validator(mode="after")
    def _tls_pair(self) -> ConsoleConfig:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file go together")
        try:
            ipaddress.ip_address(self.address)
        except ValueError:
            raise ValueError(f"address {self.address!r} is not an IP address") from None
        if self.enabled and not self.tls and not self.insecure_http and not self.loopback:
            raise ValueError(
                "a console on the LAN needs tls_cert_file and tls_key_file "
                "(or insecure_http = true where the network is trusted)"
            )
        return self

    @property
    def tls(self) -> bool:
        return self.tls_cert_file is not None

    @property
    def loopback(self) -> bool:
        return ipaddress.ip_address(self.address).is_loopback
