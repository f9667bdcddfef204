"""The office's topic matching agrees with paho's (the broker's rules)."""

from __future__ import annotations

import paho.mqtt.client as paho
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.link.subscriptions import topic_matches

LEVEL = st.sampled_from(["gate", "s1", "g1", "status", "", "x"])
TOPIC = st.lists(LEVEL, min_size=1, max_size=5).map("/".join)
PATTERN = st.lists(st.sampled_from(["gate", "s1", "+", "status", "", "x"]), min_size=1,
                   max_size=5).map("/".join)  # fmt: skip
PATTERN_HASH = st.builds(lambda p: p + "/#", PATTERN) | st.just("#")


@settings(max_examples=400, deadline=None)
@given(PATTERN | PATTERN_HASH, TOPIC)
def test_same_answer_as_paho(pattern: str, topic: str) -> None:
    assert topic_matches(pattern, topic) == paho.topic_matches_sub(pattern, topic)


def test_a_handler_that_raises_does_not_end_the_link(broker) -> None:  # type: ignore[no-untyped-def]
    """paho ends its network thread on an exception from a callback: the one boundary
    catches it, so one bad message costs that message and not the connection."""
    import threading

    from agent.link.mqtt import Handlers, MqttConnection, MqttSettings

    got: list[bytes] = []
    second = threading.Event()

    def message(topic: str, payload: bytes) -> None:
        if payload == b"boom":
            raise TimeoutError("the core loop is too busy")
        got.append(payload)
        second.set()

    def settings(client_id: str) -> MqttSettings:
        return MqttSettings(host=broker.host, port=broker.port, client_id=client_id)

    listener = MqttConnection(
        settings("listener"), Handlers(message=message, subscriptions=[("t/x", 1)])
    )
    sender = MqttConnection(settings("sender"), Handlers())
    listener.start()
    sender.start()
    try:
        assert listener.wait_connected(10) and sender.wait_connected(10)
        threading.Event().wait(0.5)  # the SUBACK
        sender.publish("t/x", b"boom")
        sender.publish("t/x", b"fine")
        assert second.wait(10), "the link ended with the first message"
        assert got == [b"fine"] and listener.connected
    finally:
        sender.stop()
        listener.stop()
