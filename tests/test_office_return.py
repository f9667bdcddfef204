"""An office or broker that comes back gets what was in flight at once: the gate resends
what has no receipt when the office announces it is online (or on a session the broker
lost), not only after its 30 s receipt timeout. Real mosquitto, a real gate, and
``gate-office serve`` as a process that is killed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.core.clock import SystemClock
from agent.core.kinds import EventType
from agent.gate.app import App
from agent.link.wiring import GateLink, attach
from agent.models.config import GateConfig
from tests.broker import Mosquitto
from tests.conftest import mqtt_table
from tests.mqtt_helpers import wait_for
from tests.office_proc import OfficeProcess

# well below the gate's 30 s receipt timeout, generous for a loaded machine
BACK_WITHIN_S = 15.0


def _storm(gate: App, count: int, seconds: float) -> threading.Thread:
    def run() -> None:
        for n in range(count):
            gate.record(EventType.EXIT_REQUEST, "main", n=n)
            time.sleep(seconds / count)

    thread = threading.Thread(target=run, name="storm", daemon=True)
    thread.start()
    return thread


@pytest.fixture
def offices() -> Iterator[list[OfficeProcess]]:
    running: list[OfficeProcess] = []
    yield running
    for office in running:
        office.kill()


def _gate(make_app: Callable[..., App], make_config: Callable[..., GateConfig],
          broker: Any, office_key: Any) -> tuple[App, GateLink]:  # fmt: skip
    # the default receipt timeout (30 s): what a resend on the office's return must beat
    config = make_config(mqtt=mqtt_table(broker, office_key))
    gate = make_app(config, clock=SystemClock())
    link = attach(gate)
    gate.start(threaded=True)
    assert link.conn.wait_connected(10)
    return gate, link


def _all_arrive_once(gate: App, office: OfficeProcess, back: float) -> None:
    def done() -> bool:
        rows, seqs = office.stored("test-site", "g1")
        return rows == len(seqs) == gate.events.last_seq() and gate.events.unreceived() == 0

    left = BACK_WITHIN_S - (time.monotonic() - back)
    wait_for(done, timeout=max(left, 0.1), what="every event at the office, receipted")
    rows, seqs = office.stored("test-site", "g1")
    assert seqs == list(range(1, gate.events.last_seq() + 1))
    assert rows == len(seqs)  # each exactly once
    assert "Traceback" not in office.logs()


def test_an_office_killed_mid_storm_gets_everything_soon_after_it_returns(
    tmp_path: Path,
    make_app: Callable[..., App],
    make_config: Callable[..., GateConfig],
    broker: Any,
    office_key: Any,
    offices: list[OfficeProcess],
) -> None:
    office = OfficeProcess(tmp_path / "office", broker, office_key)
    offices.append(office)
    office.start()
    office.wait_subscribed()  # the service's session subscribes before the gate speaks
    gate, _link = _gate(make_app, make_config, broker, office_key)
    storm = _storm(gate, 600, 3.0)
    time.sleep(1.0)
    office.kill()  # what it took from the broker and had not committed is gone
    time.sleep(1.0)
    office.start()
    back = time.monotonic()
    storm.join()
    _all_arrive_once(gate, office, back)


def test_a_broker_back_without_its_state_loses_nothing_and_waits_for_no_timeout(
    tmp_path: Path,
    make_app: Callable[..., App],
    make_config: Callable[..., GateConfig],
    office_key: Any,
    offices: list[OfficeProcess],
) -> None:
    """The gate reconnects first and sends again what has no receipt, but the broker has
    no office session to keep it for; the office follows two seconds later."""
    broker = Mosquitto(tmp_path / "broker", persistence=False)
    broker.start()
    try:
        office = OfficeProcess(tmp_path / "office", broker, office_key)
        offices.append(office)
        office.start()
        office.wait_subscribed()
        gate, link = _gate(make_app, make_config, broker, office_key)
        storm = _storm(gate, 600, 3.0)
        time.sleep(1.0)
        office.kill()
        broker.restart()
        time.sleep(0.5)
        wait_for(lambda: link.conn.connected, what="the gate back on the broker")
        time.sleep(2.0)
        office.start()
        back = time.monotonic()
        storm.join()
        _all_arrive_once(gate, office, back)
    finally:
        broker.stop()
