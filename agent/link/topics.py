"""Every MQTT topic the gate and the office use, built in this one place."""

from __future__ import annotations

from dataclasses import dataclass

# What an inbound topic is, by its path below the gate's root.
INBOUND = {
    "allowlist/snapshot": "snapshot",
    "allowlist/patch": "patch",
    "config/set": "config",
    "receipt": "receipt",
    "replay": "replay",
    "guards/set": "guards",
    "presence/sync": "presence_sync",
}
ACK_FOR = {
    "snapshot": "allowlist/ack",
    "patch": "allowlist/ack",
    "config": "config/ack",
    "cmd": "cmd/ack",
    "replay": "replay/ack",
    "guards": "guards/ack",
}


def site_presence_topic(prefix: str, site: str) -> str:
    """The office's signed relay of moves to every gate of ``site`` (three levels: never
    a gate's topic, which has four or more)."""
    return f"{prefix}/{site}/presence"


def office_online_topic(prefix: str) -> str:
    """The office's signed "online" notice to every gate below ``prefix`` (not retained).
    Three levels deep, it cannot be any gate's topic (those are four or more)."""
    return f"{prefix}/office/online"


@dataclass(frozen=True)
class Topics:
    """Topics of one gate: ``<prefix>/<site>/<gate>/...``."""

    prefix: str
    site: str
    gate: str

    @property
    def root(self) -> str:
        return f"{self.prefix}/{self.site}/{self.gate}"

    def _t(self, suffix: str) -> str:
        return f"{self.root}/{suffix}"

    # gate -> office
    @property
    def status(self) -> str:
        return self._t("status")

    @property
    def events(self) -> str:
        return self._t("events")

    @property
    def allowlist_ack(self) -> str:
        return self._t("allowlist/ack")

    @property
    def allowlist_request(self) -> str:
        return self._t("allowlist/request")

    @property
    def presence_request(self) -> str:
        """Ask the office for the site's moves after a relay revision (catch-up)."""
        return self._t("presence/request")

    @property
    def config_ack(self) -> str:
        return self._t("config/ack")

    @property
    def cmd_ack(self) -> str:
        return self._t("cmd/ack")

    @property
    def replay_ack(self) -> str:
        return self._t("replay/ack")

    @property
    def guards_ack(self) -> str:
        return self._t("guards/ack")

    # office -> gate
    @property
    def receipt(self) -> str:
        return self._t("receipt")

    @property
    def replay(self) -> str:
        return self._t("replay")

    @property
    def allowlist_snapshot(self) -> str:
        return self._t("allowlist/snapshot")

    @property
    def allowlist_patch(self) -> str:
        return self._t("allowlist/patch")

    @property
    def config_set(self) -> str:
        return self._t("config/set")

    @property
    def guards_set(self) -> str:
        """Guard accounts for the console (scrypt hashes), swapped whole."""
        return self._t("guards/set")

    def cmd(self, name: str) -> str:
        return self._t(f"cmd/{name}")

    @property
    def presence_sync(self) -> str:
        """The office's answer to this gate's catch-up ask (moves after its revision)."""
        return self._t("presence/sync")

    @property
    def site_presence(self) -> str:
        """Moves of every gate of the site, relayed by the office as it stores them."""
        return site_presence_topic(self.prefix, self.site)

    @property
    def office_online(self) -> str:
        """The office (re)started or lost its session: send what has no receipt now."""
        return office_online_topic(self.prefix)

    # gate -> Home Assistant (only with [mqtt.homeassistant] enabled)
    @property
    def ha_state(self) -> str:
        """Retained: every entity's state in one JSON object, published on change."""
        return self._t("ha/state")

    @property
    def ha_tag(self) -> str:
        """Not retained: one message per card read (masked card, reader, door, reason)."""
        return self._t("ha/tag")

    @property
    def ha_node(self) -> str:
        """The discovery node id: the gate's device in Home Assistant."""
        return f"gate-agent_{self.site}_{self.gate}"

    def ha_config(self, prefix: str, component: str, object_id: str) -> str:
        return f"{prefix}/{component}/{self.ha_node}/{object_id}/config"

    @property
    def inbound(self) -> list[str]:
        """What the gate subscribes to."""
        return [
            self.allowlist_snapshot,
            self.allowlist_patch,
            self.config_set,
            self.cmd("+"),
            self.receipt,
            self.replay,
            self.guards_set,
            self.office_online,
            self.presence_sync,
            self.site_presence,
        ]

    @property
    def outbound(self) -> list[str]:
        return [
            self.status,
            self.events,
            self.allowlist_ack,
            self.allowlist_request,
            self.config_ack,
            self.cmd_ack,
            self.replay_ack,
            self.guards_ack,
            self.presence_request,
        ]

    def classify(self, topic: str) -> tuple[str, str | None]:
        """(kind, command name) of an inbound topic; kind "unknown" if it is not ours."""
        if topic == self.office_online:
            return "office_online", None
        if topic == self.site_presence:
            return "presence", None
        if not topic.startswith(self.root + "/"):
            return "unknown", None
        rest = topic[len(self.root) + 1 :]
        if rest in INBOUND:
            return INBOUND[rest], None
        if rest.startswith("cmd/") and rest != "cmd/ack" and "/" not in rest[4:]:
            return "cmd", rest[4:]
        return "unknown", None

    def ack_topic(self, kind: str) -> str | None:
        suffix = ACK_FOR.get(kind)
        return self._t(suffix) if suffix else None

    def acl(self, username: str, homeassistant: tuple[str, str] | None = None) -> str:
        """A mosquitto ACL block confining one gate account to its own topics;
        ``homeassistant`` (discovery prefix, birth topic) adds what discovery needs."""
        lines = [f"user {username}"]
        lines += [f"topic write {t}" for t in self.outbound]
        lines += [f"topic read {t}" for t in self.inbound]
        if homeassistant is not None:
            prefix, birth = homeassistant
            lines += [f"topic write {t}" for t in (self.ha_state, self.ha_tag)]
            lines += [f"topic write {self.ha_config(prefix, '+', '+')}", f"topic read {birth}"]
        return "\n".join(lines) + "\n"
