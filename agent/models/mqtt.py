"""``[mqtt]``: the link to the office's broker, its TLS, and how events are delivered."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, StrictBool, field_validator, model_validator

from agent.models.base import Strict
from agent.models.homeassistant import HomeAssistantConfig


class TlsConfig(Strict):
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None


class MqttConfig(Strict):
    enabled: StrictBool = True
    host: str = "localhost"
    port: int = Field(1883, ge=1, le=65535)
    protocol: Literal["3.1.1", "5"] = "3.1.1"
    topic_prefix: str = "gate"
    client_id: str | None = None
    username: str | None = None
    password_file: Path | None = None
    tls: TlsConfig | None = None
    keepalive_s: int = Field(30, ge=5, le=3600)
    reconnect_max_s: float = Field(2, ge=1, le=300)  # the gate is back within seconds
    status_interval_s: float = Field(60, ge=1)
    office_public_key: str | None = None  # Ed25519, base64 raw or PEM
    require_signatures: StrictBool = True
    max_clock_skew_s: float = Field(300, gt=0)
    max_payload_bytes: int = Field(16 * 1024 * 1024, ge=1024)
    # an event is done on the office's signed receipt; "puback" trusts the broker alone
    delivery: Literal["receipt", "puback"] = "receipt"
    receipt_timeout_s: float = Field(30, ge=1, le=3600)  # then send again (doubling)
    events_per_message: int = Field(100, ge=1, le=1000)  # backlog batching; live go singly
    homeassistant: HomeAssistantConfig = HomeAssistantConfig()

    @field_validator("office_public_key")
    @classmethod
    def _key_parses(cls, value: str | None) -> str | None:
        if value is not None:
            # imported here: the crypto library is needed only where a key is configured
            from agent.models.keys import parse_public_key

            parse_public_key(value)
        return value

    @model_validator(mode="after")
    def _key_when_signing(self) -> MqttConfig:
        if self.enabled and self.require_signatures and not self.office_public_key:
            raise ValueError("office_public_key is required while require_signatures is on")
        return self
