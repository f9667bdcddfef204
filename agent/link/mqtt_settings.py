"""What a broker connection is made of, without paho: where to connect, the last will,
and the owner's handlers. Kept apart from ``agent.link.mqtt`` (the paho boundary) so
settings can be built and passed around by code that never touches paho."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from agent.models.mqtt import MqttConfig


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    retain: bool = True


@dataclass
class MqttSettings:
    """Everything needed to reach a broker; built from ``[mqtt]`` or office flags."""

    host: str
    port: int
    client_id: str
    protocol: str = "3.1.1"
    username: str | None = None
    password: str | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    tls: bool = False
    keepalive_s: int = 30
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0
    reconnect_jitter: float = 0.25  # each connection's delays are up to this much shorter
    clean_session: bool = True
    will: Will | None = None
    max_inflight: int = 100

    @classmethod
    def from_config(cls, config: MqttConfig, client_id: str, will: Will | None) -> MqttSettings:
        password = None
        if config.password_file is not None:
            password = Path(config.password_file).read_text().strip()
        tls = config.tls
        return cls(
            host=config.host,
            port=config.port,
            client_id=config.client_id or client_id,
            protocol=config.protocol,
            username=config.username,
            password=password,
            tls=tls is not None,
            ca_file=tls.ca_file if tls else None,
            cert_file=tls.cert_file if tls else None,
            key_file=tls.key_file if tls else None,
            keepalive_s=config.keepalive_s,
            reconnect_max_s=config.reconnect_max_s,
            will=will,
        )


@dataclass
class Handlers:
    """What the owner wants to hear about. All run on paho's thread."""

    connected: Callable[[], None] = lambda: None
    disconnected: Callable[[str], None] = lambda _reason: None
    message: Callable[[str, bytes], None] = lambda _t, _p: None
    subscriptions: list[tuple[str, int]] = field(default_factory=list)
    # every subscription of this session granted (``MqttConnection.session_present``
    # says whether the broker had kept the session from before)
    subscribed: Callable[[], None] = lambda: None
