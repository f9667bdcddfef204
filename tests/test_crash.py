"""kill -9 in the middle of a storm of card reads: every recorded event still arrives."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path

from agent.faces.control import request
from agent.link.signing import public_key_text
from agent.link.topics import Topics
from tests.helpers import AgentProcess, cli, write_sim_config
from tests.mqtt_helpers import collect_events, office, wait_for

SIM = Topics("gate", "palm-grove", "main-gate")


def test_kill_9_mid_storm_loses_no_event(tmp_path: Path, broker, office_key) -> None:  # type: ignore[no-untyped-def]
    mqtt = (
        f'[mqtt]\nenabled = true\nhost = "{broker.host}"\nport = {broker.port}\n'
        f'office_public_key = "{public_key_text(office_key)}"\nreconnect_max_s = 2\n'
        "keepalive_s = 5\n"
    )
    config = write_sim_config(tmp_path, mqtt=mqtt)
    members = tmp_path / "list.csv"
    members.write_text("card,holder_id\nuid:04A1B2C3,R-1\n")
    cli(config, "allowlist", "import", str(members))
    with office(broker, client_id="office-storm", topics=SIM):
        pass  # the office's persistent session: the broker queues events for it

    sock = tmp_path / "state" / "control.sock"
    first = AgentProcess(config)
    granted_replies = 0
    stop = threading.Event()

    def storm() -> None:
        nonlocal granted_replies
        i = 0
        while not stop.is_set():
            card = "uid:04A1B2C3" if i % 2 else f"uid:0BAD{i % 4096:04X}"
            door = "vehicle" if i % 2 else "pedestrian"
            try:
                reply = request(sock, "tap", timeout=2, card=card, door=door)
            except OSError:
                return
            if reply.get("ok") and reply["result"]["granted"]:
                granted_replies += 1
            i += 1

    thread = threading.Thread(target=storm)
    thread.start()
    time.sleep(2.0)
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(10)
    stop.set()
    thread.join(10)
    assert granted_replies > 20, "the storm barely ran"
    # no clean goodbye: the broker publishes the gate's retained last will
    with office(broker, client_id="office-will", clean=True, topics=SIM) as watcher:
        will = watcher.expect(SIM.status, lambda m: m.get("online") is False, timeout=15)
    assert will is not None and will["gate"] == "main-gate"

    second = AgentProcess(config)
    wait_for(lambda: second.status()["outbox_depth"] == 0, timeout=60, what="outbox to drain")
    events = json.loads(cli(config, "events", "--json", "--limit", "1000000").stdout)
    gate_ids = {e["id"] for e in events}
    granted_at_gate = sum(e["type"] == "access_granted" for e in events)
    assert granted_at_gate >= granted_replies
    second.terminate()

    with office(broker, client_id="office-storm", topics=SIM) as link:
        received = collect_events(link, len(gate_ids) + 1, timeout=60, topics=SIM)
    assert gate_ids <= set(received), f"{len(gate_ids - set(received))} event(s) never arrived"
    assert sum(e["type"] == "access_granted" for e in received.values()) == granted_at_gate
    # the clean stop of the second run went out before the link closed
    assert any(e["type"] == "agent_stopped" for e in received.values())
    seqs = [e["seq"] for e in received.values()]
    assert len(seqs) == len(set(seqs)), "two events share a sequence number"
