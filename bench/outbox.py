"""Outbox drain rate: a backlog of events published at QoS 1 to a local mosquitto.

Fills the outbox while the gate is offline, starts the uplink, and times until every
event is PUBACKed and marked sent; an office subscriber counts what arrives. JSON out.

    python bench/outbox.py [--events 20000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from agent.core.kinds import EventType
from agent.link.mqtt import MqttSettings
from agent.link.wiring import attach
from agent.office.client import OfficeLink
from bench.common import machine, peak_rss_mb
from bench.mqtt_common import broker_and_gate


def run(count: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        broker, _key, app = broker_and_gate(folder)
        for i in range(count):
            app.events.append(
                EventType.ACCESS_DENIED,
                "main",
                reason="unknown",
                card=f"uid:****{i % 65536:04X}",
                reader="r1",
            )
        topic = "gate/bench/g1/events"
        office = OfficeLink(
            MqttSettings(host=broker.host, port=broker.port, client_id="bench-office"), [topic]
        )
        with office:
            uplink = attach(app)
            started = time.perf_counter()
            app.start(threaded=True)
            while app.events.depth() and time.perf_counter() - started < 120:
                time.sleep(0.01)
            drained = time.perf_counter() - started
            received = len({m["id"] for _t, m in office.drain(topic, idle=1.0)})
        app.stop()
        broker.stop()
        return {
            "benchmark": "outbox_drain",
            "events": count + 1,
            "drain_s": round(drained, 3),
            "events_per_s": round((count + 1) / drained),
            "received_by_office": received,
            "published": uplink.uplink.sent_count,
            "peak_rss_mb": peak_rss_mb(),
            "machine": machine(),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000)
    print(json.dumps(run(parser.parse_args().events), indent=2))


if __name__ == "__main__":
    main()
