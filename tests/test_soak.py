"""Soak: thousands of hostile inputs at each entry point of a running agent, which stays up.

Each test starts a real ``gate-agent run`` against a real mosquitto, floods one entry
point (MQTT, the control socket, local files through the CLI) with inputs made by a
seeded ``random.Random``, and then checks that the agent is alive, has printed no
traceback, still answers ``gate-agent status`` and a signed office command, has not
changed its allow-list, mode or config, and holds every relay locked.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.core.kinds import FailMode, coil_energised
from agent.link.mqtt import Handlers, MqttConnection, MqttSettings
from agent.link.signing import public_key_text, signed_bytes
from agent.link.topics import Topics
from tests.cli_forks import run_many
from tests.helpers import AgentProcess, cli, write_sim_config

SIM = Topics("gate", "palm-grove", "main-gate")
MEMBERS = "card,holder_id,doors\nuid:04A1B2C3,R-1,\nuid:04A1B2C4,R-2,pedestrian\n"
MB = 1024 * 1024


def _traceback_free(text: str, where: str) -> None:
    assert "Traceback" not in text, f"a traceback in {where}:\n{text[-6000:]}"


# -- the office end ------------------------------------------------------------------------
def sign(
    key: Ed25519PrivateKey,
    topic: str,
    body: Any,
    rng: random.Random,
    *,
    ts: str | None = None,
    nonce: str | None = None,
) -> bytes:
    """A signed envelope; ``ts`` and ``nonce`` may be anything, they are signed as given."""
    text = body if isinstance(body, str) else json.dumps(body)
    ts = ts if ts is not None else datetime.now(UTC).isoformat()
    nonce = nonce if nonce is not None else rng.randbytes(16).hex()
    sig = key.sign(signed_bytes(topic, ts, nonce, text))
    envelope = {"ts": ts, "nonce": nonce, "body": text, "sig": base64.b64encode(sig).decode()}
    return json.dumps(envelope).encode()


class Office:
    """The project's MQTT connection as the office: signs, keeps every reply it gets, and
    keeps at most ``window`` publishes unacknowledged by the broker."""

    def __init__(self, broker: Any, key: Ed25519PrivateKey, window: int = 200) -> None:
        self.key = key
        self.rng = random.Random(7)
        self._cond = threading.Condition()
        self.replies: dict[str, list[dict[str, Any]]] = {t: [] for t in SIM.outbound}
        self._window = threading.BoundedSemaphore(window)
        self._size = window
        subscribed = threading.Event()
        self.conn = MqttConnection(
            MqttSettings(
                host=broker.host, port=broker.port, client_id="office-soak", reconnect_max_s=1
            ),
            Handlers(
                message=self._received,
                subscriptions=[(t, 1) for t in SIM.outbound],
                subscribed=subscribed.set,
            ),
        )
        self.conn.start()
        assert self.conn.wait_connected(10), "the office cannot reach the broker"
        assert subscribed.wait(10), "the broker never granted the office's subscriptions"

    def _received(self, topic: str, payload: bytes) -> None:
        try:  # our own garbage on cmd/ack comes back here too
            message = json.loads(payload)
        except (ValueError, RecursionError):
            return
        if isinstance(message, dict) and topic in self.replies:
            with self._cond:
                self.replies[topic].append(message)
                self._cond.notify_all()

    def publish(self, topic: str, payload: bytes) -> None:
        assert self._window.acquire(timeout=60), "the broker stopped acknowledging"
        try:
            self.conn.publish(topic, payload, on_ack=self._window.release)
        except BaseException:
            self._window.release()
            raise

    def flush(self, timeout: float = 60) -> None:
        """Wait until the broker has acknowledged everything published."""
        deadline = time.monotonic() + timeout
        for _ in range(self._size):
            assert self._window.acquire(timeout=max(0.1, deadline - time.monotonic()))
        for _ in range(self._size):
            self._window.release()

    def wait_reply(
        self, topic: str, match: Callable[[dict[str, Any]], bool], timeout: float = 30
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [m for m in self.replies[topic] if match(m)]
                if found:
                    return found[0]
                left = deadline - time.monotonic()
                assert left > 0, f"no reply on {topic} within {timeout} s"
                self._cond.wait(left)

    def command(
        self, name: str, request_id: str, timeout: float = 30, **fields: Any
    ) -> dict[str, Any]:
        """A genuine, signed command; its ack."""
        topic = SIM.cmd(name)
        self.publish(topic, sign(self.key, topic, {"request_id": request_id, **fields}, self.rng))
        return self.wait_reply(SIM.cmd_ack, lambda m: m.get("request_id") == request_id, timeout)

    def stop(self) -> None:
        self.conn.stop()


# -- a running gate, and what it must still be after a flood ------------------------------
@dataclass
class Soak:
    agent: AgentProcess
    office: Office
    config: Path
    folder: Path
    before: dict[str, Any]
    cli_outputs: list[str] = field(default_factory=list)

    @property
    def socket(self) -> Path:
        return self.folder / "state" / "control.sock"


@pytest.fixture
def soak(tmp_path: Path, broker: Any, office_key: Ed25519PrivateKey) -> Iterator[Soak]:
    mqtt = (
        f'[mqtt]\nenabled = true\nhost = "{broker.host}"\nport = {broker.port}\n'
        f'office_public_key = "{public_key_text(office_key)}"\nreconnect_max_s = 2\n'
    )
    config = write_sim_config(tmp_path, mqtt=mqtt)
    members = tmp_path / "members.csv"
    members.write_text(MEMBERS)
    cli(config, "allowlist", "import", str(members))
    agent = AgentProcess(config)
    office = Office(broker, office_key)
    try:
        office.wait_reply(SIM.status, lambda m: m.get("online") is True, timeout=20)
        before = agent.status()
        assert before["allowlist_version"] == 1 and before["allowlist_size"] == 2
        yield Soak(agent, office, config, tmp_path, before)
    finally:
        office.stop()
        if agent.proc.poll() is None:
            agent.proc.kill()
            agent.proc.wait(10)


def assert_gate_healthy(soak: Soak) -> None:
    """(a) no traceback, (b) alive and answering, (c) nothing changed, every relay locked."""
    agent, office = soak.agent, soak.office
    assert agent.proc.poll() is None, f"the agent died:\n{agent.log.read_text()[-6000:]}"
    status = agent.status()  # through the control socket, as a person would
    assert status["running"] is True
    for key in ("mode", "allowlist_version", "allowlist_size", "config_revision", "lockdown"):
        assert status[key] == soak.before[key], (key, status[key], soak.before[key])
    # a genuine office command after the flood is carried out and answered
    ack = office.command("status", "after-the-flood")
    assert ack["ok"] and ack["result"]["allowlist"] == {"version": 1, "size": 2}, ack
    assert office.command("lockdown", "after-lockdown-on", on=True)["result"]["mode"] == (
        "lockdown"
    )
    assert office.command("lockdown", "after-lockdown-off", on=False)["result"]["mode"] == (
        "normal"
    )
    status = agent.status()
    assert status["mode"] == "normal"
    assert set(status["doors"]) == {"vehicle", "pedestrian"}
    for door_id, door in status["doors"].items():
        locked_coil = coil_energised(FailMode(door["fail_mode"]), locked=True)
        assert door["locked"] is True, f"door {door_id} is unlocked: {door}"
        assert door["relay_energised"] is locked_coil, f"relay of {door_id} not locked: {door}"
    for output in soak.cli_outputs:
        _traceback_free(output, "a CLI invocation")
    # a clean stop, and not one traceback in everything the agent wrote
    assert agent.terminate() == 0
    _traceback_free(agent.log.read_text(errors="replace"), "the agent's log")


# -- 1. MQTT -------------------------------------------------------------------------------
GARBAGE_TOPICS = [
    SIM.allowlist_snapshot,
    SIM.allowlist_patch,
    SIM.config_set,
    *(SIM.cmd(n) for n in ("open", "lockdown", "release", "resync", "status")),
    SIM.cmd("explode"),
    SIM.cmd("ünïcode-✓"),
    SIM.cmd("x" * 300),
]
CMD_NAMES = ["open", "lockdown", "release", "resync", "status", "explode", "ünïcode", "z" * 200]
BAD_IDS: list[Any] = ["", "x" * 65, "r" * 200_000, 5, 10**30, -1, [], {}, True, 1.5, None]
BAD_DOORS: list[Any] = ["", "Main Gate", "nope", "VEHICLE", "../vehicle", "vehicle\x00", "d" * 64]
BAD_DOORS += [5, [], {"id": "vehicle"}, True, "d" * 200_000]
BAD_FLAGS: list[Any] = ["yes", "no", "true", 1, 0, 1.5, [], {}, "", "on", [True]]
HUGE_INTS: list[Any] = [10**30, 2**63, -(10**30), -1]
WRONG: list[Any] = ["yes", 10**30, -1, 1.5, None, True, [], {}, "x" * 1000, [[[]]], {"$gt": ""}]
GOOD_CRED = "a" * 64


def _bad_entries(rng: random.Random) -> Any:
    entry = {"credential": f"{rng.getrandbits(256):064x}", "holder_id": "R-9"}
    return rng.choice(
        [
            "entries",
            5,
            [1, 2, 3],
            [None],
            [{**entry, "credential": "XYZ"}],
            [{**entry, "holder_id": "h" * 200_000}],
            [{**entry, "holder_id": 5}],
            [{**entry, "doors": ["roof"]}],
            [{**entry, "doors": "Not A Door"}],
            [{**entry, "kind": "alien"}],
            [{**entry, "suspended": "maybe"}],
            [{**entry, "valid_from": "yesterday"}],
            [{**entry, "schedule": "no-such-schedule"}],
            [{**entry, "valid_from": "2026-05-01", "valid_until": "2026-01-01"}],
            [entry, entry],
            [{**entry, "evil": True}],
        ]
    )


def _signed_bad_command(rng: random.Random, i: int) -> tuple[str, dict[str, Any], bool]:
    """(command name, body, whether its ack carries request_id ``bad-i``): never valid."""
    name = rng.choice(CMD_NAMES)
    tracked = rng.random() < 0.8
    body: dict[str, Any] = {"request_id": f"bad-{i}" if tracked else rng.choice(BAD_IDS)}
    if name == "open":
        body["door"] = rng.choice([*BAD_DOORS, None])
    elif name in ("lockdown", "release"):
        body["on"] = rng.choice([*BAD_FLAGS, None])
    elif name in ("resync", "status"):  # valid as they are: one field is made wrong
        spoil = rng.choice(["door", "on", "extra"])
        doors = [d for d in BAD_DOORS if d != "nope"]  # "nope" is a well-formed door id
        body[spoil] = rng.choice(doors if spoil == "door" else BAD_FLAGS)
    if rng.random() < 0.3:
        body[rng.choice(["version", "n", "count"])] = rng.choice(HUGE_INTS)
    return name, body, tracked


def _signed_bad_snapshot(rng: random.Random, i: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "version": rng.randint(2, 10**6),
        "snapshot_id": f"soak{i:08d}",
        "chunk": 0,
        "chunks": 1,
        "entries": [],
    }
    spoilers: dict[str, list[Any]] = {
        "version": [*HUGE_INTS, 0, "x", None, 1.5, [], 1],
        "chunk": [-1, 1, 10**30, "x", None],
        "chunks": [0, 10**30, 10_001, -5, "many"],
        "snapshot_id": ["", "short", "x" * 65, 5, None, "s" * 200_000],
        "entries": [],
    }
    for _ in range(rng.randint(1, 3)):
        key = rng.choice(list(spoilers))
        body[key] = _bad_entries(rng) if key == "entries" else rng.choice(spoilers[key])
    return body


def _signed_bad_patch(rng: random.Random) -> dict[str, Any]:
    body: dict[str, Any] = {"base_version": 1, "version": 2, "upserts": [], "removals": []}
    spoilers: dict[str, list[Any]] = {
        "base_version": [*HUGE_INTS, "x", None, []],
        "version": [*HUGE_INTS, 0, 1, "x", None],
        "upserts": [],
        "removals": ["XYZ", [5], ["a" * 63], [None], "x" * 1000, [GOOD_CRED] * 20_001],
    }
    header = rng.choice(["base_version", "version"])  # always one, so it cannot apply
    body[header] = rng.choice(spoilers[header])
    for _ in range(rng.randint(0, 2)):
        key = rng.choice(list(spoilers))
        body[key] = _bad_entries(rng) if key == "upserts" else rng.choice(spoilers[key])
    return body


def _deep(levels: int) -> Any:
    value: Any = {"leaf": True}
    for _ in range(levels):
        value = {"a": value}
    return value


def _signed_bad_config(rng: random.Random) -> dict[str, Any]:
    bad_configs: list[Any] = [
        "x",
        5,
        [],
        None,
        {"gate": {"site": "evil"}},
        {"mqtt": {"host": "evil.example"}},
        {"storage": {"dir": "/tmp"}},
        {"security": {"credential_key_file": "/etc/passwd"}},
        {"doors": "yes"},
        {"doors": [{"id": "X" * 1000}]},
        {"alarms": {"card_denials": {"count": -1}}},
        {"schedules": _deep(60)},
        {"holidays": {"public": ["not-a-date"]}},
        {"clock": {"untrusted_policy": "chaos"}},
        {"inputs": {"fire_alarm": {"driver": "no-such-driver"}}},
        {"storage": {"events_max_age_days": 10**30}},
        {"storage": {"events_max_age_days": 10**7}},  # now - 10**7 days is before year 1
    ]
    revision = rng.choice([rng.randint(1, 10**6), *HUGE_INTS, 0, None, "x", [], 1.5])
    return {"revision": revision, "config": rng.choice(bad_configs)}


def _truncated(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(0, max(1, len(data) - 1))]


@dataclass
class Flood:
    """What is sent, in order; ``queued`` marks what passes the signature check."""

    items: list[tuple[str, bytes, bool]] = field(default_factory=list)
    tracked_ids: set[str] = field(default_factory=set)
    signed_commands: int = 0
    signed_allowlist: int = 0
    signed_config: int = 0

    def add(self, topic: str, payload: bytes, queued: bool = False) -> None:
        self.items.append((topic, payload, queued))


def build_mqtt_flood(rng: random.Random, key: Ed25519PrivateKey) -> Flood:
    flood = Flood()
    stranger = Ed25519PrivateKey.generate()
    now = datetime.now(UTC)
    sample = sign(key, SIM.cmd("open"), {"request_id": "s", "door": "vehicle"}, rng)
    samples = [sample, b'{"request_id": "r1", "door": "vehicle"}', b'{"version": 2, "entries": []}']
    everywhere = [*GARBAGE_TOPICS, SIM.cmd_ack]  # cmd/+ matches the gate's own ack topic too

    for _ in range(1500):  # random bytes
        flood.add(rng.choice(everywhere), rng.randbytes(rng.randrange(0, 400)))
    for _ in range(600):  # truncated JSON
        flood.add(rng.choice(GARBAGE_TOPICS), _truncated(rng, rng.choice(samples)))
    for topic in (SIM.cmd("open"), SIM.allowlist_snapshot, SIM.config_set, SIM.cmd_ack):
        for deep in (
            b"[" * 100_000,
            b"[" * 100_000 + b"]" * 100_000,
            b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
            b'{"ts": "x", "nonce": "n", "body": "b", "sig": ' + b"[" * 100_000,
        ):
            flood.add(topic, deep)
    for topic in (SIM.allowlist_snapshot, SIM.cmd("status"), SIM.config_set, SIM.allowlist_patch):
        flood.add(topic, rng.randbytes(MB))  # about 1 MB each
        flood.add(topic, json.dumps(["x" * 64] * (MB // 68)).encode())
        flood.add(topic, json.dumps({"request_id": "r", "door": "d" * MB}).encode())
    for _ in range(600):  # valid JSON, wrong types, unsigned
        body = {
            k: rng.choice(WRONG)
            for k in rng.sample(
                ["request_id", "on", "door", "version", "entries", "revision", "config"], 3
            )
        }
        body.setdefault("on", rng.choice(BAD_FLAGS))
        flood.add(rng.choice(GARBAGE_TOPICS), json.dumps(body).encode())
    for _ in range(500):  # envelope-shaped, with broken fields
        envelope: dict[str, Any] = {"ts": now.isoformat(), "nonce": "n" * 32, "body": "{}"}
        envelope["sig"] = "AAAA"
        for k in rng.sample(list(envelope), rng.randint(1, 4)):
            envelope[k] = rng.choice([*WRONG, "", "n" * 65, "=" * 88, "not base64!"])
        if rng.random() < 0.2:
            envelope["extra"] = 1
        flood.add(rng.choice(GARBAGE_TOPICS), json.dumps(envelope).encode())
    for i in range(300):  # forged: a stranger's key
        topic = rng.choice(GARBAGE_TOPICS)
        flood.add(
            topic, sign(stranger, topic, {"request_id": f"forged-{i}", "door": "vehicle"}, rng)
        )
    for i in range(200):  # genuine signature, for another topic
        flood.add(SIM.cmd("open"), sign(key, SIM.cmd("release"), {"request_id": f"o{i}"}, rng))
    for i in range(200):  # stale or from the future
        skew = timedelta(minutes=rng.choice([-600, -60, -6, 6, 60, 600]))
        body = {"request_id": f"stale-{i}", "door": "vehicle"}
        flood.add(
            SIM.cmd("open"), sign(key, SIM.cmd("open"), body, rng, ts=(now + skew).isoformat())
        )
    for i in range(60):  # signed, but the time or nonce is nonsense
        ts, nonce = rng.choice(
            [("yesterday", None), ("2026-06-10T10:00:00", None), ("", None), ("9" * 400, None),
             (None, "short"), (None, "n" * 65), (None, "")]
        )  # fmt: skip
        flood.add(SIM.cmd("status"), sign(key, SIM.cmd("status"), {"request_id": f"t{i}"}, rng,
                                          ts=ts, nonce=nonce))  # fmt: skip
    for _ in range(40):  # signed bodies that are not JSON, or too deep
        topic = rng.choice(GARBAGE_TOPICS[:8])
        body_text = rng.choice(["[" * 100_000, "not json", "", '{"request_id": "r"', "\x00" * 99])
        flood.add(topic, sign(key, topic, body_text, rng), queued=True)

    # signed, correctly shaped, and every one of them out of range
    for i in range(500):
        name, body, tracked = _signed_bad_command(rng, i)
        if tracked:
            flood.tracked_ids.add(body["request_id"])
        flood.signed_commands += 1
        flood.add(SIM.cmd(name), sign(key, SIM.cmd(name), body, rng), queued=True)
    for i in range(160):
        flood.add(
            SIM.allowlist_snapshot,
            sign(key, SIM.allowlist_snapshot, _signed_bad_snapshot(rng, i), rng),
            queued=True,
        )
        flood.add(
            SIM.allowlist_patch,
            sign(key, SIM.allowlist_patch, _signed_bad_patch(rng), rng),
            queued=True,
        )
        flood.signed_allowlist += 2
    for _ in range(150):
        flood.add(SIM.config_set, sign(key, SIM.config_set, _signed_bad_config(rng), rng),
                  queued=True)  # fmt: skip
        flood.signed_config += 1
    rng.shuffle(flood.items)

    # a genuine (harmless) command, then the very same bytes again and again
    replayed = sign(key, SIM.cmd("status"), {"request_id": "replay-me"}, rng)
    flood.items.insert(0, (SIM.cmd("status"), replayed, True))
    for _ in range(400):
        flood.items.insert(rng.randrange(1, len(flood.items)), (SIM.cmd("status"), replayed, True))
    return flood


def test_mqtt_flood_on_every_inbound_topic(soak: Soak) -> None:
    office = soak.office
    flood = build_mqtt_flood(random.Random(1001), office.key)
    assert len(flood.items) > 5000
    queued = 0
    sentinels = 0
    for topic, payload, goes_to_inbox in flood.items:
        office.publish(topic, payload)
        queued += goes_to_inbox
        if queued >= 300:  # keep the inbox (1,000 places) from overflowing: let it drain
            ack = office.command("status", f"sentinel-{sentinels}", timeout=60)
            assert ack["ok"], ack
            queued, sentinels = 0, sentinels + 1
    office.flush()
    assert office.command("status", "sentinel-last", timeout=60)["ok"]

    # every signed, out-of-range command was refused with an answer of its own
    acks = {m.get("request_id"): m for m in office.replies[SIM.cmd_ack]}
    missing = flood.tracked_ids - set(acks)
    assert not missing, f"{len(missing)} refused commands never answered, e.g. {min(missing)}"
    assert not [rid for rid in flood.tracked_ids if acks[rid]["ok"]], "an out-of-range command ran"
    # the genuine one ran once; its replays are refused, and now say so under its id
    replay_acks = [m for m in office.replies[SIM.cmd_ack] if m.get("request_id") == "replay-me"]
    assert [m["ok"] for m in replay_acks].count(True) == 1
    assert all("replayed" in str(m.get("error")) for m in replay_acks if not m["ok"])
    list_acks = office.replies[SIM.allowlist_ack]
    assert not [a for a in list_acks if a["ok"]], "an out-of-range allow-list message was applied"
    assert len(list_acks) >= flood.signed_allowlist
    config_acks = office.replies[SIM.config_ack]
    assert not [a for a in config_acks if a["ok"]], "an out-of-range config was applied"
    assert len(config_acks) >= flood.signed_config
    assert_gate_healthy(soak)

    # everything else was refused as a forgery, and counted in security alerts
    genuine_or_out_of_range = (
        1 + flood.signed_commands + flood.signed_allowlist + flood.signed_config
    )
    ignored = sum(topic == SIM.cmd_ack for topic, _, _ in flood.items)  # the gate's own acks
    events = json.loads(cli(soak.config, "events", "--json", "--limit", "100000").stdout)
    refused: dict[str, int] = {}
    for event in events:
        if event["type"] == "security_alert":
            reason = event["details"]["reason"]
            refused[reason] = refused.get(reason, 0) + event["details"]["count"]
    assert sum(refused.values()) == len(flood.items) - genuine_or_out_of_range - ignored, refused
    assert {"unsigned", "malformed", "bad_signature", "stale", "replayed"} <= set(refused)


# -- 2. the control socket ------------------------------------------------------------------
def control_exchange(
    path: Path, data: bytes, *, finish: str = "newline", timeout: float = 10
) -> bytes | None:
    """Send ``data``; ``finish`` is "newline" (read the reply), "half" (end our side without
    a newline, then read) or "drop" (close at once). The reply's bytes, or None."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        if finish == "drop":
            return None
        if finish == "half":
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_WR)
        reply = b""
        with contextlib.suppress(ConnectionResetError):
            while not reply.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                reply += chunk
        return reply


def _check_reply(reply: bytes | None, sent: bytes, finish: str) -> None:
    if finish == "drop":
        return
    if not reply:  # only a line it would not read to the end may be closed on
        assert len(sent) > 64 * 1024, ("no reply", sent[:200])
        return
    assert reply.endswith(b"\n") and reply.count(b"\n") == 1, (sent[:200], reply[:300])
    answer = json.loads(reply)
    assert isinstance(answer, dict) and answer["ok"] is False, (sent[:200], answer)
    assert isinstance(answer["error"], str) and "internal error" not in answer["error"], (
        sent[:200],
        answer,
    )


OPS = ["tap", "press", "door", "fire", "status", "learn", "ping"]


def _mistyped_request(rng: random.Random) -> dict[str, Any]:
    """A known op whose arguments can never be carried out."""
    op = rng.choice(OPS)
    text_wrong: list[Any] = [5, None, [], {}, True, 1.5, 10**30]
    requests: dict[str, list[dict[str, Any]]] = {
        "tap": [
            {"card": rng.choice(text_wrong)},
            {"card": rng.choice(["", "uid:", "uid:ZZ", "w26:999999:1", "em:", "x" * 60_000])},
            {"card": "uid:04A1B2C3", "door": rng.choice([5, [], "nope", "Main Gate"])},
            {"card": "uid:04A1B2C3", "reader": rng.choice([5, [], {}, True])},
            {},
        ],
        "press": [
            {"button": rng.choice([*text_wrong, "fire", "", "EXIT", "exit\x00"])},
            {"button": "exit", "door": rng.choice([5, [], "nope", True])},
            {},
        ],
        "door": [
            {"state": rng.choice([*text_wrong, "ajar", "", "OPEN"])},
            {"state": "open", "door": rng.choice([5, [], "nope", {"id": "vehicle"}])},
            {},
        ],
        "fire": [{"on": rng.choice(["yes", "true", 1, 0, None, [], {}, "on", 1.5])}, {}],
        "status": [{"recent": rng.choice([-1, 1001, 10**30, "5", True, 1.5, None, []])}],
        "learn": [
            {"reader": "ped-in", "timeout_s": rng.choice([-1, 0, 301, 10**30, "5", True, None])},
            {"reader": "ped-in", "timeout_s": float(rng.choice(["nan", "inf", "-inf"]))},
            {"timeout_s": 1},
        ],
        "ping": [{}],
    }
    request = {"op": op, **rng.choice(requests[op])}
    if op == "ping" or rng.random() < 0.2:  # an argument the op does not take
        request[rng.choice(["x", "", "self", "kwargs", "ö" * 50])] = rng.choice(text_wrong)
    return request


def build_control_flood(rng: random.Random) -> list[tuple[bytes, str]]:
    good = json.dumps({"op": "tap", "card": "uid:04A1B2C3", "door": "vehicle"}).encode()
    items: list[tuple[bytes, str]] = []
    for _ in range(800):  # random bytes, one line
        items.append((rng.randbytes(rng.randrange(0, 300)).replace(b"\n", b" ") + b"\n", "newline"))
    for _ in range(300):  # no newline, then our side ends
        items.append((rng.randbytes(rng.randrange(0, 300)).replace(b"\n", b" "), "half"))
    for _ in range(300):  # no newline, then gone
        items.append((_truncated(rng, good), "drop"))
    for _ in range(500):  # invalid JSON
        items.append((_truncated(rng, good) + b"\n", "newline"))
    for value in ([], 1, "tap", None, True, [{"op": "ping"}], 1.5, -(10**30)):  # not an object
        items += [(json.dumps(value).encode() + b"\n", "newline")] * 12
    for _ in range(400):  # unknown ops
        op: Any = rng.choice(["", "PING", "explode", "open", "__init__", "_status", "x" * 5000,
                         5, None, [], {}, True, 10**30])  # fmt: skip
        items.append((json.dumps({"op": op, "door": "vehicle"}).encode() + b"\n", "newline"))
    for _ in range(1200):  # known ops, mistyped arguments
        items.append((json.dumps(_mistyped_request(rng)).encode() + b"\n", "newline"))
    for size in (64 * 1024, 64 * 1024 + 1, 100_000, 300_000, 1_000_000):  # over-long lines
        items.append((b"a" * size + b"\n", "newline"))
        items.append((b"[" * size + b"\n", "newline"))
        items.append((b'{"op": "' + b"p" * size + b'"}\n', "newline"))
        items.append((b"{" * size, "half"))
    items.append((b'{"a":' * 50_000 + b"1" + b"}" * 50_000 + b"\n", "newline"))
    items.append((b'{"op": "fire", "on": ' + b" " * 70_000 + b"true}\n", "newline"))  # cut
    rng.shuffle(items)
    return items


def test_control_socket_flood(soak: Soak) -> None:
    path = soak.socket
    items = build_control_flood(random.Random(2002))
    assert len(items) > 3000

    def run(part: list[tuple[bytes, str]]) -> int:
        for data, finish in part:
            _check_reply(control_exchange(path, data, finish=finish), data, finish)
        return len(part)

    with ThreadPoolExecutor(4) as pool:  # at most 4 clients at once: the agent serves 8
        assert sum(pool.map(run, [items[i::4] for i in range(4)])) == len(items)

    # 600 connections opened and closed before a byte is sent
    for _ in range(600):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(str(path))
    # hoarders: more idle clients than the agent serves at once
    for _round in range(2):
        hoard = []
        for _ in range(12):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(str(path))
            hoard.append(sock)
        time.sleep(0.2)
        # served once an idle one times out, or told the agent is busy: never left hanging
        reply = json.loads(control_exchange(path, b'{"op": "ping"}\n') or b"null")
        assert reply == {"ok": True, "result": {"pong": True}} or (
            reply["ok"] is False and "try again" in reply["error"]
        ), reply
        for sock in hoard:
            sock.close()
    # the socket still serves a good request as before
    deadline = time.monotonic() + 10
    while True:
        reply = json.loads(control_exchange(path, b'{"op": "ping"}\n') or b"{}")
        if reply.get("ok") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert reply == {"ok": True, "result": {"pong": True}}
    assert_gate_healthy(soak)


# -- 3. local files through the CLI ---------------------------------------------------------
def hostile_list_files(folder: Path) -> list[Path]:
    """A few dozen allow-list files, each of which must be refused whole."""
    folder.mkdir(parents=True)
    row = "uid:04A1B2C9,R-9"
    dates = "2026-05-01,2026-01-01"  # until before from
    both = f"uid:04A1B2C9,{GOOD_CRED}"
    csv_cases: dict[str, bytes] = {
        "nul-in-field.csv": b"card,holder_id\nuid:04A1B2C9,R\x00-9\n",
        "nul-in-header.csv": b"card,hol\x00der_id\nuid:04A1B2C9,R-9\n",
        "only-nul.csv": b"\x00" * 4096,
        "latin1.csv": b"card,holder_id\nuid:04A1B2C9,R-\xe9\n",
        "invalid-utf8.csv": b"\xff\xfe\xfd\n\xc3\x28",
        "utf16.csv": f"card,holder_id\n{row}\n".encode("utf-16"),
        "field-200k.csv": f"card,holder_id\nuid:04A1B2C9,{'h' * 200_000}\n".encode(),
        "card-200k.csv": f"card,holder_id\nuid:{'A' * 200_000},R-9\n".encode(),
        "field-100k.csv": f"card,holder_id\nuid:04A1B2C9,{'h' * 100_000}\n".encode(),
        "card-100k.csv": f"card,holder_id\nuid:{'A' * 100_000},R-9\n".encode(),
        "unknown-column.csv": f"card,holder_id,evil\n{row},1\n".encode(),
        "empty.csv": b"",
        "blank-lines.csv": b"\n\n\n",
        "more-fields.csv": f"card,holder_id\n{row},extra,fields\n".encode(),
        "open-quote.csv": b'card,holder_id\n"uid:04A1B2C9,R-9\n',
        "wrong-types.csv": f"card,holder_id,suspended,kind\n{row},maybe,alien\n".encode(),
        "bad-doors.csv": f"card,holder_id,doors\n{row},Main Door!\n".encode(),
        "unknown-door.csv": f"card,holder_id,doors\n{row},roof\n".encode(),
        "bad-dates.csv": f"card,holder_id,valid_from,valid_until\n{row},{dates}\n".encode(),
        "duplicate.csv": f"card,holder_id\n{row}\n{row}\n".encode(),
        "card-and-credential.csv": f"card,credential,holder_id\n{both},R\n".encode(),
        "neither.csv": b"card,holder_id\n,R-9\n",
        "bad-card.csv": b"card,holder_id\nuid:ZZ,R-9\nw26:999999:1,R-8\nem:,R-7\n",
        "good-then-bad.csv": f"card,holder_id\n{row}\nuid:04A1B2C8,{'h' * 65}\n".encode(),
        "huge-file.csv": b"card,holder_id\n"
        + b"".join(b"uid:%08X,R-%d\n" % (i, i) for i in range(60_000))
        + b"uid:ZZ,R\n",
        "wrong-suffix.txt": f"card,holder_id\n{row}\n".encode(),
    }
    deep_object = '{"a":' * 5000 + "1" + "}" * 5000
    entry = {"card": "uid:04A1B2C9", "holder_id": "R-9"}
    json_cases: dict[str, bytes] = {
        "deep-array.json": b"[" * 100_000 + b"]" * 100_000,
        "deep-object.json": ("[" + deep_object + "]").encode(),
        "deep-field.json": (
            "[" + json.dumps(entry)[:-1] + ', "unit": ' + deep_object + "}]"
        ).encode(),
        "not-an-array.json": json.dumps(entry).encode(),
        "not-objects.json": b"[1, 2, 3]",
        "truncated.json": json.dumps([entry])[:-7].encode(),
        "holder-200k.json": json.dumps([{**entry, "holder_id": "h" * 200_000}]).encode(),
        "holder-number.json": json.dumps([{**entry, "holder_id": 5}]).encode(),
        "suspended-maybe.json": json.dumps([{**entry, "suspended": "maybe"}]).encode(),
        "doors-number.json": json.dumps([{**entry, "doors": 7}]).encode(),
        "nan.json": b'[{"card": "uid:04A1B2C9", "holder_id": NaN}]',
        "raw-nul.json": b'[{"card": "uid:04A1B2C9", "holder_id": "R\x00"}]',
        "surrogate.json": b'[{"card": "uid:04A1B2C9", "holder_id": "R\\ud800"}]',
        "non-utf8.json": b'[{"card": "uid:04A1B2C9", "holder_id": "R\xff"}]',
        "trailing.json": json.dumps([entry]).encode() + b" garbage",
        "extra-key.json": json.dumps([{**entry, "evil": True}]).encode(),
    }
    paths = []
    for name, data in {**csv_cases, **json_cases}.items():
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    (folder / "a-folder.csv").mkdir()
    (folder / "loop.csv").symlink_to(folder / "loop.csv")
    return [*paths, folder / "a-folder.csv", folder / "loop.csv", folder / "missing.json"]


def hostile_config_files(folder: Path, good: Path) -> list[Path]:
    """Config files that must be refused: by ``check-config`` and by every command."""
    folder.mkdir(parents=True)
    text = good.read_text()
    (folder / "a-file").write_text("not a folder")
    key_line = next(line for line in text.splitlines() if "credential_key_file" in line)
    dir_line = next(line for line in text.splitlines() if line.startswith("dir = "))
    cases: dict[str, bytes] = {
        "non-utf8.toml": text.replace("# HMAC key", "# HMAC k\udcffey").encode(
            "utf-8", "surrogateescape"
        ),
        "utf16.toml": text.encode("utf-16"),
        "nul.toml": text.replace('site = "palm-grove"', 'site = "palm\x00grove"').encode(),
        "deep-array.toml": ("x = " + "[" * 5000 + "]" * 5000 + "\n").encode(),
        "deep-table.toml": ("x = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n").encode(),
        "deep-keys.toml": (text + "\n[extra]\n" + ".".join(["a"] * 5000) + " = 1\n").encode(),
        "empty.toml": b"",
        "random.toml": random.Random(3).randbytes(4096),
        "site-number.toml": text.replace('site = "palm-grove"', "site = 5").encode(),
        "doors-string.toml": text.split("[[doors]]")[0].encode() + b'doors = "yes"\n',
        "pulse-text.toml": text.replace("pulse_s = 8.0", 'pulse_s = "long"').encode(),
        "int-huge.toml": text.replace("prox_bits = 24", "prox_bits = 1" + "0" * 30).encode(),
        "negative.toml": text.replace("events_max_rows = 100000", "events_max_rows = -1").encode(),
        "age-huge.toml": text.replace(
            "events_max_age_days = 90", "events_max_age_days = 10000000"
        ).encode(),
        "timezone.toml": text.replace("Africa/Cairo", "../../../etc/passwd").encode(),
        "unknown-key.toml": text.replace("[gate]", "[gate]\nevil = true").encode(),
        "huge-string.toml": text.replace(
            'site = "palm-grove"', f'site = "{"p" * 2 * MB}"'
        ).encode(),
        "key-folder.toml": text.replace(key_line, f'credential_key_file = "{folder}"').encode(),
        "key-missing.toml": text.replace(key_line, 'credential_key_file = "/nonexistent"').encode(),
        "state-is-file.toml": text.replace(dir_line, f'dir = "{folder / "a-file"}"').encode(),
        "state-in-file.toml": text.replace(
            dir_line, f'dir = "{folder / "a-file" / "sub"}"'
        ).encode(),
        "driver.toml": text.replace(
            'relay = { driver = "sim" }', 'relay = { driver = "nope" }', 1
        ).encode(),
        "duplicate-table.toml": (text + '\n[gate]\nsite = "x"\n').encode(),
    }
    paths = []
    for name, data in cases.items():
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    (folder / "a-folder.toml").mkdir()
    return [*paths, folder / "a-folder.toml", folder / "missing.toml"]


def _mutated_list(rng: random.Random) -> tuple[str, bytes]:
    """One generated hostile allow-list file: (suffix, bytes); never a valid one."""
    kind = rng.randrange(6)
    row = {"card": f"uid:{rng.getrandbits(32):08X}", "holder_id": f"R-{rng.randrange(10**6)}"}
    bad_value = rng.choice(
        [("card", "uid:ZZ"), ("card", ""), ("card", "x" * rng.randrange(1, 5000)),
         ("holder_id", ""), ("holder_id", "h" * 65), ("suspended", "maybe"), ("kind", "alien"),
         ("doors", "Not A Door"), ("doors", "roof"), ("schedule", "no-such"),
         ("valid_from", "yesterday"), ("valid_until", "2026-13-45"), ("credential", "XYZ"),
         ("lockdown_override", "2")]
    )  # fmt: skip
    if kind == 0:  # random bytes
        return rng.choice([".csv", ".json"]), rng.randbytes(rng.randrange(0, 2000))
    if kind == 1:  # a CSV row with one value that is wrong
        rows = [dict(row) for _ in range(rng.randrange(1, 5))]
        for i, r in enumerate(rows):
            r["card"] = f"uid:{i:04X}{rng.getrandbits(16):04X}"
        rows[rng.randrange(len(rows))][bad_value[0]] = bad_value[1]
        columns = sorted({k for r in rows for k in r})
        lines = [",".join(columns)] + [",".join(r.get(c, "") for c in columns) for r in rows]
        return ".csv", ("\n".join(lines) + "\n").encode()
    if kind == 2:  # JSON with one wrong type
        key = rng.choice(["card", "holder_id", bad_value[0]])
        wrong: list[Any] = [5, None, [], {}, True, 1.5, 10**30, "x" * 1000, {"$gt": ""}]
        value = bad_value[1] if key == bad_value[0] else rng.choice(wrong)
        return ".json", json.dumps([{**row, key: value}]).encode()
    if kind == 3:  # truncated JSON
        text = json.dumps([row, {**row, "card": "uid:0000FFFF"}])
        return ".json", text[: rng.randrange(0, len(text) - 1)].encode()
    if kind == 4:  # an unknown column, or a bad header
        header = rng.choice(["card,holder_id,colour", "card;holder_id", "CARD,HOLDER", "", ","])
        return ".csv", f"{header}\n{row['card']},{row['holder_id']}\n".encode()
    # a good file with one byte made invalid UTF-8
    data = bytearray(f"card,holder_id\n{row['card']},{row['holder_id']}\n".encode())
    data[rng.randrange(len(data))] = rng.choice([0xFF, 0xFE, 0xC3, 0x80])
    return ".csv", bytes(data)


def _mutated_config(rng: random.Random, text: str) -> bytes:
    """One generated hostile config: the good file with one value of the wrong type."""
    lines = text.splitlines()
    candidates = [i for i, line in enumerate(lines) if " = " in line and line[0].isalpha()]
    i = rng.choice(candidates)
    key, value = lines[i].split(" = ", 1)
    wrong = {  # by the type the value has, one that no field of that type accepts
        '"': ["[[[]]]", "{ a = 1 }", "1" + "0" * 30, "nan", "-1", "1979-05-27T07:32:00Z"],
        "t": ['"maybe"', "2", "[[[]]]", "{ a = 1 }", "1979-05-27T07:32:00Z"],
        "f": ['"maybe"', "2", "[[[]]]", "{ a = 1 }", "1979-05-27T07:32:00Z"],
        "[": ['"yes"', "5", "{ a = 1 }", "true"],
        "{": ['"yes"', "5", "[[[]]]", "true"],
    }.get(
        value[0], ['"yes"', "[[[]]]", "{ a = 1 }", "1979-05-27T07:32:00Z", '"' + "x" * 5000 + '"']
    )
    lines[i] = f"{key} = {rng.choice(wrong)}"
    broken = "\n".join(lines) + "\n"
    if rng.random() < 0.3:  # and sometimes the TOML itself broken too
        cut = rng.randrange(len(broken))
        broken = broken[:cut] + rng.choice(["[[", '"', "= =", "\x01", "[gate]\n"]) + broken[cut:]
    return broken.encode()


def _main_in_process(main: Callable[[list[str]], int], argv: list[str]) -> tuple[int, str, str]:
    """``gate-agent ARGV`` through the CLI's own ``main``: exit code, stdout, stderr. Its
    logging goes to this stderr too; the root logger is given back as it was."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    out, err = io.StringIO(), io.StringIO()
    try:
        root.handlers[:] = []  # so main() sets logging up on the stderr captured here
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse
                code = int(exc.code or 0)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    return code, out.getvalue(), err.getvalue()


def _assert_refused(code: int, out: str, err: str, what: str) -> None:
    _traceback_free(out + err, what)
    assert code in (1, 2), (what, code, out[-500:], err[-2000:])
    assert out == "", (what, out[-500:])
    assert err.startswith("error: "), (what, err[-2000:])
    assert len(err) < 6000 and len(err.splitlines()) <= 25, (what, len(err), err[:1000])


def test_hostile_files_through_the_cli(soak: Soak) -> None:
    from agent.faces.cli import build_parser
    from agent.faces.entry import run_cli

    parser = build_parser()  # what main() builds anew on every call: once is enough here

    def main(argv: list[str]) -> int:
        return run_cli(parser, argv)

    folder = soak.folder / "hostile"
    lists = hostile_list_files(folder / "lists")
    configs = hostile_config_files(folder / "configs", soak.config)
    members = soak.folder / "members.csv"
    runs: list[tuple[str, list[str]]] = [
        (f"import {p.name}", ["allowlist", "import", str(p), "-c", str(soak.config)]) for p in lists
    ]
    runs += [(f"check-config {p.name}", ["check-config", str(p)]) for p in configs]
    runs += [
        (f"import -c {p.name}", ["allowlist", "import", str(members), "-c", str(p)])
        for p in configs
    ]
    unloadable = ("non-utf8", "deep-array", "a-folder", "state-in-file", "huge-string", "missing")
    runs += [
        (f"status -c {p.name}", ["status", "-c", str(p)])
        for p in configs
        if p.name.startswith(unloadable)
    ]

    # each in a process of its own, forked from one that has imported the CLI already
    results = run_many([argv for _, argv in runs], folder / "outputs", jobs=2)
    for (what, _), result in zip(runs, results, strict=True):
        soak.cli_outputs.append(result.stdout + result.stderr)
        _assert_refused(result.returncode, result.stdout, result.stderr, what)

    # many more, generated, through the same entry point (main) in this process
    rng = random.Random(3003)
    generated = folder / "generated"
    generated.mkdir()
    good_text = soak.config.read_text()
    for i in range(2000):
        suffix, data = _mutated_list(rng)
        path = generated / f"list-{i}{suffix}"
        path.write_bytes(data)
        argv = ["allowlist", "import", str(path), "-c", str(soak.config)]
        code, out, err = _main_in_process(main, argv)
        _assert_refused(code, out, err, f"{path.name}: {data[:200]!r}")
        path.unlink()
    for i in range(600):
        data = _mutated_config(rng, good_text)
        path = generated / f"gate-{i}.toml"
        path.write_bytes(data)
        code, out, err = _main_in_process(main, ["check-config", str(path)])
        _assert_refused(code, out, err, f"{path.name}: {data[:300]!r}")

    status = soak.agent.status()
    assert (status["allowlist_version"], status["allowlist_size"]) == (1, 2)
    assert not (soak.folder / "hostile" / "configs" / "a-file" / "sub").exists()
    assert_gate_healthy(soak)
