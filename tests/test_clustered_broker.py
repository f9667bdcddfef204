"""The gate and the office, unchanged, against NATS 2.9: a broker that clusters.

One three-node cluster (JetStream, replicas 3) serves the module. The gate talks to
node 0 and the office to nodes 1 and 2, so every message crosses the cluster's routes.
Accounts and permissions are tried on a single node of their own.

On a cluster each new QoS 1 subscription is a replicated JetStream consumer and takes
about half a second to be acknowledged; an office that leaves before its SUBACK finds
what was published meanwhile only after NATS's ``ack_wait``. So the office's session is
opened with a round trip (``hold_session``), not a fixed pause.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.core.clock import SystemClock
from agent.faces.simulate import SimControls
from agent.gate.app import App
from agent.link.mqtt import Handlers, MqttConnection, MqttSettings
from agent.link.signing import public_key_text
from agent.link.topics import Topics
from agent.link.wiring import GateLink, attach
from agent.office.client import OfficeLink
from agent.office.store import OfficeStore
from tests.broker_nats import NatsCluster, NatsUser
from tests.conftest import enroll, mqtt_table
from tests.helpers import AgentProcess, write_sim_config
from tests.mqtt_helpers import wait_for

MEMBER = "uid:04A1B2C3"
MARKER = {"marker": "subscribed"}
WAIT = 30  # the longest an answer may take; a quiet machine needs a second or two


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsCluster]:
    nats = NatsCluster(tmp_path_factory.mktemp("nats"), size=3)
    nats.start()
    yield nats
    nats.stop()


def office_on(
    node: Any,
    client_id: str,
    subscriptions: list[str],
    key: Ed25519PrivateKey | None = None,
    clean: bool = True,
    username: str | None = None,
    password: str | None = None,
) -> OfficeLink:
    """The office's client on one node, subscribed to ``subscriptions`` only."""
    return OfficeLink(
        MqttSettings(
            host=node.host,
            port=node.port,
            client_id=client_id,
            clean_session=clean,
            reconnect_max_s=1,
            username=username,
            password=password,
        ),
        subscriptions,
        key,
    )


def confirm_subscribed(link: OfficeLink, topic: str) -> None:
    """A message of our own comes back once the broker has set the subscription up."""
    link.send(topic, MARKER, signed=False, timeout=WAIT)
    assert link.expect(topic, lambda m: m == MARKER, WAIT) is not None, "no SUBACK"


def hold_session(node: Any, client_id: str, topics: Topics) -> None:
    """Open the office's persistent session on ``node`` and leave: events now queue for it."""
    with office_on(node, client_id, [topics.events], clean=False) as link:
        confirm_subscribed(link, topics.events)


def start_gate(make_app, make_config, node, office_key, gate_id: str, **mqtt):  # type: ignore[no-untyped-def]
    """A real App (sim devices, system clock) with its office link on ``node``."""
    config = make_config(
        gate={"gate_id": gate_id},
        alarms={"reader_denials": {"lockout_s": 0}, "card_denials": {"lockout_s": 0}},  # storms
        mqtt=mqtt_table(node, office_key, **mqtt),
    )
    app: App = make_app(config, clock=SystemClock())
    link: GateLink = attach(app)
    app.start(threaded=True)
    assert link.conn.wait_connected(WAIT), "gate never connected"
    # NATS takes a client's packets in order: once agent_started is PUBACKed, the gate's
    # subscriptions (sent first on connect) are in place and commands reach it
    wait_for(lambda: app.events.depth() == 0, WAIT, "gate subscribed")
    app.loop.run_sync(lambda: enroll(app, MEMBER))
    return app, link


def card(i: int) -> str:
    """Every other tap a member, else a stranger."""
    return MEMBER if i % 2 else f"uid:0BAD{i % 4096:04X}"


def gate_events(app: App) -> dict[str, str]:
    """Every event the gate recorded: id -> type."""
    return {e.id: e.type.value for e in app.events.recent(100_000)}


def receive(
    link: OfficeLink, store: OfficeStore, topics: Topics, want: set[str], timeout: float = 30
) -> int:
    """Store arriving events (each id once) until ``want`` are all in; returns arrivals."""
    arrivals = 0
    stored = set(office_ids(store, topics))
    deadline = time.monotonic() + timeout
    while not want <= stored and time.monotonic() < deadline:
        message = link.expect(topics.events, lambda m: m != MARKER, timeout=0.5)
        # the backlog comes several to a message: {"events": [...]}
        for event in message.get("events", [message]) if message else []:
            arrivals += 1
            store.add_event(event)
            stored.add(event["id"])
    return arrivals


def office_ids(store: OfficeStore, topics: Topics) -> list[str]:
    return [e["id"] for e in store.events(topics.site, topics.gate)]


# -- (1) events: persistent session, none lost, repeats dropped by id ----------------------
def test_events_cross_the_cluster_once_each(  # type: ignore[no-untyped-def]
    cluster, make_app, make_config, office_key, tmp_path: Path
) -> None:
    topics = Topics("gate", "test-site", "events")
    hold_session(cluster.nodes[1], "office-events", topics)
    app, _link = start_gate(make_app, make_config, cluster.nodes[0], office_key, "events")
    taps = SimControls(app)
    assert [taps.tap(card(i), door="main").granted for i in range(40)].count(True) == 20
    wait_for(lambda: app.events.depth() == 0, WAIT, "every event taken by the broker")
    at_gate = gate_events(app)

    store = OfficeStore(tmp_path / "office.db")
    # the office was away the whole time; it comes back on another node
    with office_on(cluster.nodes[2], "office-events", [topics.events], clean=False) as link:
        receive(link, store, topics, set(at_gate))
        # the same event again, as after a lost PUBACK: stored once
        repeat = app.events.recent(1)[0]
        link.send_raw(topics.events, repeat.model_dump_json().encode(), WAIT)
        again = link.expect(topics.events, lambda m: m.get("id") == repeat.id, WAIT)
    assert again is not None and store.add_event(again) is False
    ids = office_ids(store, topics)
    assert sorted(ids) == sorted(at_gate) and len(ids) == len(set(ids))
    kinds = [at_gate[i] for i in ids]
    assert kinds.count("access_granted") == 20 and kinds.count("access_denied") == 20


# -- (2) signed commands, retained status, last will --------------------------------------
def test_signed_commands_are_acked_and_status_is_retained(  # type: ignore[no-untyped-def]
    cluster, make_app, make_config, office_key
) -> None:
    topics = Topics("gate", "test-site", "cmds")
    app, _link = start_gate(make_app, make_config, cluster.nodes[0], office_key, "cmds")
    with office_on(cluster.nodes[1], "office-cmds", [topics.cmd_ack], office_key) as link:
        link.send(topics.cmd("open"), {"request_id": "o1", "door": "main"}, timeout=WAIT)
        ack = link.expect(topics.cmd_ack, lambda m: m["request_id"] == "o1", WAIT)
        assert ack is not None and ack["ok"]
        link.send(topics.cmd("lockdown"), {"request_id": "l1", "on": True}, timeout=WAIT)
        ack = link.expect(topics.cmd_ack, lambda m: m["request_id"] == "l1", WAIT)
        assert ack is not None and ack["ok"] and ack["result"]["mode"] == "lockdown"
        # signed with someone else's key: the broker passes it, the gate refuses it
        link.key = Ed25519PrivateKey.generate()
        link.send(topics.cmd("open"), {"request_id": "f1", "door": "main"}, timeout=WAIT)
        ack = link.expect(topics.cmd_ack, lambda m: not m["ok"], WAIT)
        assert ack is not None and "bad_signature" in ack["error"]
    kinds = [e.type.value for e in app.events.recent(50)]
    assert "remote_open" in kinds and "security_alert" in kinds

    # a newcomer on the third node gets the retained status at once
    with office_on(cluster.nodes[2], "office-look", [topics.status]) as look:
        status = look.expect(topics.status, lambda m: m.get("mode") == "lockdown", WAIT)
    assert status is not None and status["online"] and status["gate"] == "cmds"


def test_last_will_after_kill_9(cluster, tmp_path: Path, office_key) -> None:  # type: ignore[no-untyped-def]
    sim = Topics("gate", "palm-grove", "main-gate")
    node = cluster.nodes[0]
    mqtt = (
        f'[mqtt]\nenabled = true\nhost = "{node.host}"\nport = {node.port}\n'
        f'office_public_key = "{public_key_text(office_key)}"\nreconnect_max_s = 2\n'
    )
    config = write_sim_config(tmp_path, mqtt=mqtt)
    with office_on(cluster.nodes[1], "office-will", [sim.status]) as watcher:
        agent = AgentProcess(config)
        try:
            online = watcher.expect(sim.status, lambda m: m.get("online") is True, WAIT)
            assert online is not None
            agent.terminate(signal.SIGKILL)  # no DISCONNECT: the broker sends the will
            will = watcher.expect(sim.status, lambda m: m.get("online") is False, WAIT)
        finally:
            agent.terminate(signal.SIGKILL)
    assert will is not None and will["gate"] == "main-gate"
    with office_on(cluster.nodes[2], "office-will-2", [sim.status]) as later:
        retained = later.expect(sim.status, timeout=WAIT)
    assert retained is not None and retained["online"] is False


# -- (3) the whole cluster killed and started again under a tap storm ---------------------
def test_cluster_killed_and_restarted_under_a_tap_storm(  # type: ignore[no-untyped-def]
    cluster, make_app, make_config, office_key, tmp_path: Path
) -> None:
    topics = Topics("gate", "test-site", "storm")
    app, link = start_gate(make_app, make_config, cluster.nodes[0], office_key, "storm")
    taps = SimControls(app)
    decided = {True: 0, False: 0}
    stop = threading.Event()

    def storm() -> None:
        i = 0
        while not stop.is_set():
            decided[taps.tap(card(i), door="main").granted] += 1
            i += 1
            stop.wait(0.02)

    def count() -> int:
        return decided[True] + decided[False]

    store = OfficeStore(tmp_path / "office.db")
    with office_on(cluster.nodes[1], "office-storm", [topics.events], clean=False) as watcher:
        confirm_subscribed(watcher, topics.events)
        thread = threading.Thread(target=storm)
        thread.start()
        try:
            wait_for(lambda: count() >= 100, WAIT, "storm under way")
            cluster.stop(kill=True)  # every node, kill -9; their stores stay
            wait_for(lambda: not link.conn.connected, WAIT, "gate to notice")
            down = count()
            cluster.start(timeout=60)
            assert link.conn.wait_connected(WAIT), cluster.log()
            assert count() > down, "the gate stopped deciding while the broker was away"
            back = count()
            wait_for(lambda: count() >= back + 100, WAIT, "storm after the restart")
        finally:
            stop.set()
            thread.join(10)
        wait_for(lambda: app.events.depth() == 0, timeout=30, what="backlog taken by the broker")
        at_gate = gate_events(app)
        arrivals = receive(watcher, store, topics, set(at_gate), timeout=40)
    ids = office_ids(store, topics)
    assert sorted(ids) == sorted(at_gate), f"{len(set(at_gate) - set(ids))} event(s) missing"
    kinds = [at_gate[i] for i in ids]
    assert kinds.count("access_granted") == decided[True] >= 100
    assert kinds.count("access_denied") == decided[False] >= 100
    assert arrivals >= len(ids)  # repeats, if any, were dropped by id


# -- accounts and permissions (a node of its own) ------------------------------------------
def test_nats_permissions_confine_each_gate(  # type: ignore[no-untyped-def]
    tmp_path: Path, make_app, make_config, office_key
) -> None:
    g1, g2 = Topics("gate", "test-site", "g1"), Topics("gate", "test-site", "g2")
    users = [
        NatsUser("gate-g1", "pw1", g1.outbound, g1.inbound),
        NatsUser("gate-g2", "pw2", g2.outbound, g2.inbound),
        NatsUser("office", "pw0", ["gate/#"], ["gate/#"]),
    ]
    nats = NatsCluster(tmp_path / "acl", size=1, users=users)
    nats.start()
    try:
        (tmp_path / "g1.pw").write_text("pw1\n")
        office = office_on(
            nats, "office", [g1.events, g1.cmd_ack], office_key, username="office", password="pw0"
        )
        with office as link:
            app, _link = start_gate(
                make_app,
                make_config,
                nats,
                office_key,
                "g1",
                username="gate-g1",
                password_file=str(tmp_path / "g1.pw"),
            )
            assert link.expect(g1.events, timeout=WAIT) is not None  # through the gate's account
            # another gate's account, holding a genuinely signed command for g1
            intruder = office_on(
                nats, "intruder", [g1.events], office_key, username="gate-g2", password="pw2"
            )
            with intruder as spy:
                spy.send(g1.cmd("open"), {"request_id": "evil", "door": "main"}, timeout=WAIT)
                SimControls(app).tap("uid:0BAD0001", door="main")  # an event to snoop on
                assert link.expect(g1.events, timeout=WAIT) is not None
                assert spy.expect(g1.events, timeout=1) is None
            assert link.expect(g1.cmd_ack, timeout=1) is None and app.doors["main"].locked
            link.send(g1.cmd("open"), {"request_id": "ok", "door": "main"}, timeout=WAIT)
            ack = link.expect(g1.cmd_ack, lambda m: m["request_id"] == "ok", WAIT)
            assert ack is not None and ack["ok"]

        wrong = MqttConnection(
            MqttSettings(
                host=nats.host,
                port=nats.port,
                client_id="bad",
                username="office",
                password="nope",
                reconnect_max_s=1,
            ),
            Handlers(),
        )
        wrong.start()
        try:
            reason = wait_for(lambda: wrong.last_error, what="a refusal")
        finally:
            wrong.stop()
        assert "not authorized" in reason and not wrong.connected
    finally:
        nats.stop()


def test_a_refused_subscription_is_asked_for_again(  # type: ignore[no-untyped-def]
    tmp_path: Path, make_app, make_config, office_key
) -> None:
    """NATS refuses a SUBSCRIBE it does not permit, and (measured on a cluster) some while
    it recovers from a lost node: once it grants it, the gate subscribes, still connected."""
    g1 = Topics("gate", "test-site", "g1")
    deaf = NatsUser("gate-g1", "pw1", g1.outbound, [t for t in g1.inbound if "/cmd/" not in t])
    desk = NatsUser("office", "pw0", ["gate/#"], ["gate/#"])
    nats = NatsCluster(tmp_path / "deaf", size=1, users=[deaf, desk])
    nats.start()
    try:
        (tmp_path / "g1.pw").write_text("pw1\n")
        _app, link = start_gate(
            make_app,
            make_config,
            nats,
            office_key,
            "g1",
            username="gate-g1",
            password_file=str(tmp_path / "g1.pw"),
        )
        assert link.conn.subscriptions.refused == [g1.cmd("+")]
        since = link.conn.health.snapshot().connected_since
        office = office_on(
            nats, "office", [g1.cmd_ack], office_key, username="office", password="pw0"
        )
        with office as watcher:
            watcher.send(g1.cmd("status"), {"request_id": "unheard"}, timeout=WAIT)
            assert watcher.expect(g1.cmd_ack, timeout=1) is None  # the gate cannot hear it
            nats.reload([NatsUser("gate-g1", "pw1", g1.outbound, g1.inbound), desk])
            # it asks again after 2 s, then 4, 8, ... at most a minute apart
            wait_for(lambda: not link.conn.subscriptions.refused, 65, "the gate to subscribe")
            watcher.send(g1.cmd("status"), {"request_id": "heard"}, timeout=WAIT)
            ack = watcher.expect(g1.cmd_ack, lambda m: m["request_id"] == "heard", WAIT)
        assert ack is not None and ack["ok"]
        assert link.conn.health.snapshot().connected_since == since  # no reconnect needed
    finally:
        nats.stop()
