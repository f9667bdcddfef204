"""The Wiegand reader on gpiozero's MockFactory: pulses driven on D0/D1 with real timing.

Frames go out as 50 us low pulses 1-2 ms apart with random jitter, from a thread. A
loaded machine can stretch a pause inside a frame past the frame timeout, which makes a
different (split) frame on the wire; the rig notices that from its own timestamps and
runs the scenario again on a fresh reader rather than asserting on a frame never sent.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import tomllib
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import pytest
from gpiozero import InputDevice
from gpiozero.pins.mock import MockFactory
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from agent.core.clock import ManualClock
from agent.gate.assemble import build_app
from agent.models.config import GateConfig, ReaderSpec
from drivers import registry
from drivers.base import DriverContext, Feedback
from drivers.cards import CardNumber, CardRead, parse_card
from drivers.wiegand import WiegandReader
from drivers.wiegand_format import STANDARD_FORMATS, FormatSet, WiegandFormat, encode
from tests.conftest import enroll
from tests.reader_rig import RealClock, Reports, wait_until

D0, D1 = 17, 27
TIMEOUT = 0.015  # frame timeout in these tests; bits are 1-2 ms apart
H26, H34, H37 = (STANDARD_FORMATS[n] for n in ("H10301", "H10306", "H10304"))
T = TypeVar("T")

# A site format of the kind the options take from TOML: two ranges under one parity
# bit, and an overall parity (listed last) that also checks the other two.
ACME36 = tomllib.loads("""
name = "acme36"
bits = 36
facility = { start = 1, length = 12 }
card = { start = 13, length = 21 }
parity = [
  { position = 0, parity = "even", covers = [[1, 8], [10, 17]] },
  { position = 34, parity = "odd", covers = [18, 33] },
  { position = 35, parity = "odd", covers = [0, 34] },
]
""")


OUTSIDE = {"position": 40, "parity": "odd", "covers": [1, 2]}  # past ACME36's 36 bits


class Rig(Reports):
    """A started reader on fresh mock pins, and a wire that pulses them."""

    def __init__(self, **options: Any) -> None:
        super().__init__(read=self.read)
        self.factory = MockFactory()
        opts = {"d0": D0, "d1": D1, "frame_timeout_s": TIMEOUT, **options}
        reader = registry.create(
            "reader", "wiegand", "gate-in", opts, DriverContext(RealClock(), self.factory)
        )
        assert isinstance(reader, WiegandReader) and reader.driver_name == "wiegand"
        self.reader = reader
        self.clean = True  # False once this machine stretched a pause inside a frame
        self.rng = random.Random(7)
        self.failing_reads = 0  # how many deliveries the gate's hook should fail
        self.start(reader)

    def read(self, read: CardRead) -> None:
        if self.failing_reads:
            self.failing_reads -= 1
            raise RuntimeError("the gate's queue is closed")
        self.reads.append(read)

    def pulse_train(self, frame: Sequence[int], spacing: tuple[float, float]) -> None:
        lines = (self.factory.pin(D0), self.factory.pin(D1))
        started_before = 0.0
        for index, bit in enumerate(frame):
            if index:
                time.sleep(self.rng.uniform(*spacing))
            before = time.monotonic()
            lines[bit].drive_low()
            # the longest this edge can have followed the previous one
            if index and time.monotonic() - started_before >= TIMEOUT * 0.8:
                self.clean = False
            started_before = before
            end = time.perf_counter() + 50e-6
            while time.perf_counter() < end:
                pass
            lines[bit].drive_high()

    def transmit(self, *frames: Sequence[int], spacing: tuple[float, float] = (1e-3, 2e-3)) -> None:
        """Send frames from a thread, each after a pause of twice the frame timeout."""

        def wire() -> None:
            for frame in frames:
                time.sleep(2 * TIMEOUT)
                self.pulse_train(frame, spacing)

        thread = threading.Thread(target=wire)
        thread.start()
        thread.join()

    def outcomes(self) -> int:
        return len(self.reads) + self.reader.frame_errors

    def settle(self, expected: int) -> None:
        """Wait for ``expected`` reads and errors, then long enough to see any extra."""
        assert wait_until(lambda: self.outcomes() >= expected)
        time.sleep(3 * TIMEOUT)

    def close(self) -> None:
        self.stop()
        self.factory.close()


def attempt(scenario: Callable[[Rig], T], **options: Any) -> T:
    """Run ``scenario`` on a fresh rig until the machine lets a run go undisturbed."""
    for _ in range(5):
        rig = Rig(**options)
        try:
            result = scenario(rig)
        except AssertionError:
            if rig.clean:
                raise
            continue
        finally:
            rig.close()
        if rig.clean:
            return result
    raise AssertionError("five runs in a row had their pulse timing disturbed")


def test_26_34_and_37_bit_frames_are_decoded() -> None:
    def scenario(rig: Rig) -> tuple[list[CardNumber], int, list[tuple[bool, str]]]:
        rig.transmit(encode(H26, 12, 3456), encode(H34, 40000, 65000), encode(H37, 513, 500000))
        rig.settle(3)
        return rig.cards(), rig.reader.frame_errors, rig.health

    cards, errors, health = attempt(scenario)
    assert errors == 0
    assert cards == [
        parse_card("w26:12:3456"),
        CardNumber.from_prox(40000 << 16 | 65000, 32),
        CardNumber.from_prox(513 << 19 | 500000, 35),
    ]
    assert health == [(True, f"listening on D0={D0} D1={D1}")]
    # the W26 read is the card as typed, and what an EM4100 serial reader makes of it
    assert cards[0].canonical(24) == parse_card("em:0A000C0D80").canonical(24)


def test_a_configured_custom_format_is_decoded() -> None:
    layout = WiegandFormat.model_validate(ACME36)
    frames = (encode(layout, 4095, 1_234_567), encode(H26, 1, 2))

    def scenario(rig: Rig) -> tuple[list[CardNumber], int]:
        rig.transmit(*frames)
        rig.settle(2)
        return rig.cards(), rig.reader.frame_errors

    cards, errors = attempt(scenario, formats=[], custom_formats=[ACME36])
    assert cards == [CardNumber.from_prox(4095 << 21 | 1_234_567, 33)]
    assert errors == 1  # 26 bits is not a format this reader accepts


def test_bad_parity_short_long_and_unknown_frames_are_counted_not_delivered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bad_parity = list(encode(H26, 12, 3456))
    bad_parity[-1] ^= 1
    frames = (bad_parity, [1, 0] * 5, [0, 1] * 20, [1] * 30, encode(H26, 7, 8))

    def scenario(rig: Rig) -> tuple[list[CardNumber], int, str]:
        caplog.clear()
        rig.transmit(*frames)
        rig.settle(5)
        return rig.cards(), rig.reader.frame_errors, caplog.text

    with caplog.at_level(logging.WARNING, logger="drivers.base"):
        cards, errors, text = attempt(scenario)
    assert errors == 4 and cards == [parse_card("w26:7:8")]
    for why in ("bad parity: H10301 bit 25", "too short: 10", "too long: 40", "unknown length: 30"):
        assert why in text
    assert "3456" not in text  # no raw card number in the log


@pytest.mark.parametrize(("hold_s", "expected"), [(0, "AAB"), (30, "AB")])
def test_frames_back_to_back_are_separate_reads_unless_a_held_card_repeats(
    hold_s: float, expected: str
) -> None:
    def scenario(rig: Rig) -> tuple[list[CardNumber], int]:
        rig.transmit(encode(H26, 1, 100), encode(H26, 1, 100), encode(H26, 1, 101))
        rig.settle(len(expected))
        return rig.cards(), rig.reader.frame_errors

    cards = {"A": parse_card("w26:1:100"), "B": parse_card("w26:1:101")}
    assert attempt(scenario, hold_s=hold_s) == ([cards[c] for c in expected], 0)


def test_kernel_timestamps_order_and_cut_edges_that_arrive_late_and_grouped() -> None:
    # As lgpio can hand them over: one line's edges, then the other's, long after the
    # fact, each with the kernel's timestamp. Two frames 0.5 s apart on the wire.
    def scenario(rig: Rig) -> list[CardNumber]:
        edges = [(1000.0 + i * 0.0015, bit) for i, bit in enumerate(encode(H26, 9, 999))]
        edges += [(1000.5 + i * 0.0015, bit) for i, bit in enumerate(encode(H34, 9, 998))]
        handlers = {bit: rig.factory.pin(D1 if bit else D0).when_changed for bit in (0, 1)}
        before = time.monotonic()
        for wanted in (0, 1):
            for ticks, bit in edges:
                if bit == wanted:
                    handlers[bit](ticks, False)
        rig.clean = time.monotonic() - before < TIMEOUT * 0.8
        rig.settle(2)
        return rig.cards()

    cards = attempt(scenario)
    assert cards == [parse_card("w26:9:999"), CardNumber.from_prox(9 << 16 | 998, 32)]


def test_a_failing_hook_does_not_stop_the_reader() -> None:
    def scenario(rig: Rig) -> list[CardNumber]:
        rig.failing_reads = 1
        rig.transmit(encode(H26, 5, 6), encode(H26, 5, 7))
        rig.settle(1)
        return rig.cards()

    assert attempt(scenario) == [parse_card("w26:5:7")]


def test_noise_bursts_are_one_error() -> None:
    def scenario(rig: Rig) -> tuple[list[CardNumber], int]:
        rig.transmit([0, 1] * 200, spacing=(2e-4, 4e-4))
        rig.settle(1)
        return rig.cards(), rig.reader.frame_errors

    assert attempt(scenario) == ([], 1)


def test_a_line_held_low_is_a_fault_until_it_idles_high() -> None:
    rig = Rig()
    try:
        rig.factory.pin(D1).drive_low()
        assert wait_until(lambda: len(rig.health) >= 2)
        assert rig.health[1] == (False, "D1 held low: check the reader's wiring and power")
        rig.factory.pin(D1).drive_high()
        assert wait_until(lambda: len(rig.health) >= 3)
        assert rig.health[2] == (True, "lines idle high again") and rig.reads == []
    finally:
        rig.close()


def test_external_pull_ups_leave_the_lines_floating() -> None:
    def scenario(rig: Rig) -> list[CardNumber]:
        for pin in (D0, D1):
            assert rig.factory.pin(pin).pull == "floating"
            rig.factory.pin(pin).drive_high()  # the level shifter's pull-up
        rig.transmit(encode(H26, 3, 4))
        rig.settle(1)
        return rig.cards()

    assert attempt(scenario, pull_up=False) == [parse_card("w26:3:4")]


def test_feedback_lines_and_close_release_the_pins() -> None:
    rig = Rig(feedback={"green": 22, "red": 23})
    try:
        rig.reader.feedback(Feedback.DENY)
        assert wait_until(lambda: rig.factory.pin(23).state is False)  # active low: lit
        assert rig.factory.pin(22).state is True
        rig.threads.stop()
        rig.reader.close()
        rig.reader.close()  # twice is fine
        assert rig.factory.pin(D0).when_changed is None
        InputDevice(D0, pin_factory=rig.factory).close()  # the pin is free again
    finally:
        rig.close()


def test_gate_opens_for_a_wiegand_read_of_a_card_enrolled_from_its_em4100_id(
    make_config: Callable[..., GateConfig], clock: ManualClock
) -> None:
    factory = MockFactory()
    reader = {"id": "main-in", "driver": "wiegand", "d0": D0, "d1": D1, "frame_timeout_s": 0.25}
    door = {"id": "main", "readers": [reader], "relay": {"driver": "gpio", "pin": 5}}
    app = build_app(
        make_config(doors=[door], inputs={"visitor_button": None, "fire_alarm": None}),
        clock=clock,
        pin_factory=factory,
    )
    app.start(threaded=False)
    try:
        enroll(app, "em:0A000C0D80", doors=None)  # enrolled from a serial reader's id
        decided: list[Any] = []
        app.add_decision_listener(decided.append)
        # the edges as lgpio hands them over, with kernel timestamps 1.5 ms apart
        handlers = {bit: factory.pin(D1 if bit else D0).when_changed for bit in (0, 1)}
        for index, bit in enumerate(encode(H26, 12, 3456)):
            handlers[bit](500.0 + index * 0.0015, False)

        def decided_yet() -> bool:
            app.loop.pump()
            return bool(decided)

        assert wait_until(decided_yet)
        assert decided[0].granted and factory.pin(5).state is True
    finally:
        app.stop()
        factory.close()


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"d1": 17}, "different lines"),
        ({"formats": ["H10399"]}, "unknown formats"),
        ({"formats": ["H10302", "H10304"]}, "both 37 bits"),
        ({"formats": []}, "at least one format"),
        ({"custom_formats": [{**ACME36, "bits": 30}]}, "past the frame"),
        ({"custom_formats": [{**ACME36, "parity": [OUTSIDE]}]}, "lies outside"),
        ({"custom_formats": [{**ACME36, "parity": ACME36["parity"][::-1]}]}, "listed later"),
        ({"frame_timeout_s": 0.0005}, "greater than or equal"),
    ],
)
def test_options_are_checked_when_the_config_loads(options: dict[str, Any], problem: str) -> None:
    table = {"id": "gate-in", "driver": "wiegand", "d0": 17, "d1": 27, **options}
    with pytest.raises(ValidationError, match=problem):
        ReaderSpec.model_validate(table)


# -- the pure decoder ------------------------------------------------------------------
@st.composite
def layouts(draw: st.DrawFn) -> WiegandFormat:
    """Standard formats, ACME36, and random ones whose parity covers every data bit."""
    kind = draw(st.sampled_from(["standard", "acme", "random"]))
    if kind == "standard":
        return draw(st.sampled_from(list(STANDARD_FORMATS.values())))
    if kind == "acme":
        return WiegandFormat.model_validate(ACME36)
    bits = draw(st.integers(4, 70))
    data = bits - 2  # bits 1..bits-2 between two parity bits
    card_len = draw(st.integers(1, min(data, 48)))
    fac_len = draw(st.integers(0, min(data - card_len, 16)))
    start = draw(st.integers(1, 1 + data - card_len - fac_len))
    split = draw(st.integers(1, bits - 2))
    kinds = draw(st.tuples(st.sampled_from(["even", "odd"]), st.sampled_from(["even", "odd"])))
    return WiegandFormat.model_validate(
        {
            "name": "random",
            "bits": bits,
            "facility": {"start": start, "length": fac_len} if fac_len else None,
            "card": {"start": start + fac_len, "length": card_len},
            "parity": [
                {"position": 0, "parity": kinds[0], "covers": [1, split]},
                {"position": bits - 1, "parity": kinds[1], "covers": [split, bits - 2]},
            ],
        }
    )


@settings(deadline=None, max_examples=300)
@given(layout=layouts(), data=st.data())
def test_encode_then_decode_gives_the_pair_back_and_any_flip_is_caught(
    layout: WiegandFormat, data: st.DataObject
) -> None:
    fac_bits = layout.facility.length if layout.facility else 0
    facility = data.draw(st.integers(0, (1 << fac_bits) - 1))
    card = data.draw(st.integers(0, (1 << layout.card.length) - 1))
    frame = encode(layout, facility, card)
    read = FormatSet([layout]).decode(frame)
    assert (read.format, read.facility, read.card) == (layout.name, facility, card)
    assert read.card_number() == CardNumber.from_prox(
        facility << layout.card.length | card, layout.id_bits
    )
    flipped = list(frame)
    flipped[data.draw(st.integers(0, layout.bits - 1))] ^= 1
    try:
        other = FormatSet([layout]).decode(flipped)
    except ValueError as exc:  # FrameError is a CardFormatError, a ValueError
        assert "bad parity" in str(exc)
    else:
        raise AssertionError(f"a flipped bit decoded as {other}")  # every bit is covered


@settings(deadline=None, max_examples=300)
@given(frame=st.lists(st.integers(0, 1), max_size=140))
def test_any_bit_sequence_decodes_or_is_refused_never_crashes(frame: list[int]) -> None:
    formats = FormatSet([H26, H34, H37, WiegandFormat.model_validate(ACME36)])
    try:
        read = formats.decode(frame)
    except ValueError as exc:
        assert str(exc).split(":")[0] in ("too short", "too long", "unknown length", "bad parity")
    else:
        assert len(frame) in (26, 34, 36, 37) and read.card_number().bits <= 35
