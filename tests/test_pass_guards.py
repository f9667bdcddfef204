"""Pass guards: a pass issued in the future is refused; wrong short codes from one source
earn it growing waits and a pass_guessing alarm (once a minute), and hold up no one else."""

from __future__ import annotations

from datetime import timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.core.clock import ManualClock
from agent.core.guesses import FREE_MISSES, GuessWatch
from agent.core.kinds import ALARMS, EventType
from agent.gate.app import App
from agent.models.pass_codec import display_short
from tests.pass_rig import issue, scan
from tests.test_passes import gate, key  # noqa: F401 - fixtures shared with the pass tests


def test_a_pass_issued_in_the_future_is_refused(
    gate: App,  # noqa: F811 - a fixture shared with the pass tests
    key: Ed25519PrivateKey,  # noqa: F811 - a fixture shared with the pass tests
    clock: ManualClock,
) -> None:
    now = clock.now().replace(microsecond=0)
    ahead = issue(key, now, issued_at=now + timedelta(hours=1), valid_from=now - timedelta(hours=1))
    assert scan(gate, ahead.text).reason == "issued_in_future"
    skewed = issue(key, now, issued_at=now + timedelta(minutes=2))  # within the clock skew
    assert scan(gate, skewed.text).granted


def _guess(office: Ed25519PrivateKey, clock: ManualClock) -> str:
    """A well-formed short code this gate was never sent."""
    return display_short(issue(office, clock.now().replace(microsecond=0)).short_code)


def test_wrong_short_codes_from_a_scanner_are_throttled_and_alarmed(
    gate: App,  # noqa: F811 - a fixture shared with the pass tests
    key: Ed25519PrivateKey,  # noqa: F811 - a fixture shared with the pass tests
    clock: ManualClock,
) -> None:
    reasons = [scan(gate, _guess(key, clock)).reason for _ in range(50)]
    assert reasons[: FREE_MISSES + 1] == ["unknown"] * (FREE_MISSES + 1)
    assert set(reasons[FREE_MISSES + 1 :]) == {"throttled"}  # not even looked up
    alarms = [e for e in gate.events.recent(200) if e.type is EventType.PASS_GUESSING]
    assert len(alarms) == 1 and EventType.PASS_GUESSING in ALARMS
    assert alarms[0].details["source"] == "scanner:main-qr" and alarms[0].door == "main"

    # another source is not held up by this one's guesses
    assert scan(gate, _guess(key, clock), reader="side-qr").reason == "unknown"
    # the wait grows with each wrong code after it
    clock.advance(1.1)
    assert scan(gate, _guess(key, clock)).reason == "unknown"
    clock.advance(1.1)
    assert scan(gate, _guess(key, clock)).reason == "throttled"  # now 2 s
    clock.advance(1.0)
    assert scan(gate, _guess(key, clock)).reason == "unknown"
    # a minute on, a source still guessing raises the alarm again
    clock.advance(61)
    for _ in range(5):
        scan(gate, _guess(key, clock))
    alarms = [e for e in gate.events.recent(300) if e.type is EventType.PASS_GUESSING]
    assert len(alarms) == 2


def test_guards_typing_short_codes_are_throttled_per_guard(
    gate: App,  # noqa: F811 - a fixture shared with the pass tests
    key: Ed25519PrivateKey,  # noqa: F811 - a fixture shared with the pass tests
    clock: ManualClock,
) -> None:
    for _ in range(FREE_MISSES + 1):
        assert gate.admit_pass("main", _guess(key, clock), "guard:g-1").reason == "unknown"
    assert gate.admit_pass("main", _guess(key, clock), "guard:g-1").reason == "throttled"
    assert gate.admit_pass("main", _guess(key, clock), "guard:g-2").reason == "unknown"


def test_a_right_short_code_starts_a_source_over() -> None:
    watch = GuessWatch()
    for n in range(FREE_MISSES):
        assert not watch.missed("s", float(n))
    watch.matched("s")
    assert watch.waiting("s", 10.0) == 0 and watch.misses("s") == 0
