"""Wiegand keypads (issue 21): 4- and 8-bit bursts are keys, noise is a counted frame
error. The decoder by property, then bursts pulsed on gpiozero's MockFactory pins."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.wiegand_format import STANDARD_FORMATS, FrameError, decode_key, encode, encode_key
from tests.test_wiegand import Rig, attempt

KEYS = "0123456789*#"
H26 = STANDARD_FORMATS["H10301"]


@given(st.sampled_from(KEYS), st.sampled_from([4, 8]))
def test_every_key_survives_both_burst_widths(key: str, bits: int) -> None:
    assert decode_key(encode_key(key, bits)) == key


@given(st.lists(st.integers(0, 1), min_size=0, max_size=40))
def test_any_burst_is_a_key_or_a_frame_error(frame: list[int]) -> None:
    try:
        key = decode_key(frame)
    except FrameError as exc:
        assert "keypad burst" in str(exc)
        return
    assert len(frame) in (4, 8) and key in KEYS
    if len(frame) == 8:  # only a burst whose check nibble matches gets through
        high, low = frame[:4], frame[4:]
        assert all(h != lo for h, lo in zip(high, low, strict=True))


def test_check_nibble_mismatch_and_values_past_hash_are_refused() -> None:
    noisy = list(encode_key("5", 8))
    noisy[0] ^= 1
    with pytest.raises(FrameError, match="check nibble"):
        decode_key(noisy)
    with pytest.raises(FrameError, match="13 is no key"):
        decode_key([1, 1, 0, 1])


def test_keypad_bursts_on_the_wire_reach_the_keypad_hook() -> None:
    noisy = list(encode_key("7", 8))
    noisy[6] ^= 1  # a bit flipped on the wire: the check nibble catches it

    def scenario(rig: Rig) -> tuple[list[str], int, int]:
        bursts = [encode_key(k, 4) for k in "24"] + [encode_key(k, 8) for k in "68#"]
        rig.transmit(*bursts, noisy, encode(H26, 12, 3456))
        rig.settle(2)  # the card, the frame error
        return rig.keys, rig.reader.frame_errors, len(rig.reads)

    keys, errors, reads = attempt(scenario)
    assert "".join(keys) == "2468#" and errors == 1 and reads == 1


def test_keypad_off_counts_bursts_as_bad_frames() -> None:
    def scenario(rig: Rig) -> tuple[list[str], int]:
        rig.transmit(encode_key("1", 4), encode_key("2", 8))
        rig.settle(2)
        return rig.keys, rig.reader.frame_errors

    keys, errors = attempt(scenario, keypad=False)
    assert keys == [] and errors == 2


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from(KEYS), min_size=1, max_size=12))
def test_pin_buffer_never_holds_more_than_max_digits(keys: list[str]) -> None:
    from agent.core.pin import KeyVerdict, PinBuffer

    buffer = PinBuffer(max_digits=8)
    for key in keys:
        verdict = buffer.feed(key)
        assert len(buffer) <= 8
        if verdict is KeyVerdict.DONE:
            assert key == "#" or len(buffer) == 8
            buffer.take()
            assert len(buffer) == 0
    assert "digits=[" not in repr(buffer)  # what was typed is never printed
