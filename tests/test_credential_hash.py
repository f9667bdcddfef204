"""The import's fast paths give what the plain ones give (issue 23): the hasher's
precomputed HMAC states equal ``hmac.digest``, and ``canonical_text`` equals
``parse_card(...).canonical`` (or fails with the same error) for any text."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import partial

from hypothesis import example, given
from hypothesis import strategies as st

from agent.errors import CardFormatError
from agent.store.credentials import CredentialHasher
from drivers.cards import CardNumber, canonical_text, parse_card


@given(
    key=st.binary(min_size=16, max_size=200),
    text=st.text(max_size=80),
)
@example(key=b"k" * 64, text="uid:04A224B2")  # a key of exactly one block
@example(key=b"k" * 65, text="uid:04A224B2")  # one byte over: RFC 2104 hashes it first
@example(key=bytes(range(16)), text="")
def test_hasher_equals_hmac_digest(key: bytes, text: str) -> None:
    hasher = CredentialHasher(key)
    want = hmac.digest(key, text.encode(), "sha256").hex()
    assert hasher.hash_text(text) == want
    assert hasher.hash_text(text) == want  # the kept states are not used up


@given(key=st.binary(min_size=16, max_size=130), uid=st.binary(min_size=4, max_size=10))
def test_identify_hashes_the_canonical_number(key: bytes, uid: bytes) -> None:
    card = CardNumber.from_uid(uid)
    canonical = card.canonical()
    hasher = CredentialHasher(key)
    assert hasher.identify(card) == (
        hmac.digest(key, canonical.encode(), "sha256").hex(),
        card.masked(),
    )
    assert hasher.identify_text(canonical) == hasher.identify(card)


_HEXISH = "0123456789abcdefABCDEFgG:- \u0660\u0661\uff10\uff41\u00a0\n\t"
_PREFIXES = ["uid:", "nfc:", "UID:", "Nfc:", "uId:", "u\u0131d:", "uid", "uid :", " uid:"]
_PREFIXES += ["nfc :", "em:", "prox:", "w26:", "fc:", "", "uid::", "\u0130d:", "uid:\t"]


@st.composite
def near_misses(draw: st.DrawFn) -> str:
    """Card notations and texts that are nearly one: separators, odd digit counts,
    3 and 11 bytes, spaces, case, non-ASCII digits and letters that fold to ASCII."""
    prefix = draw(st.sampled_from(_PREFIXES))
    if draw(st.booleans()):
        count = draw(st.sampled_from([3, 4, 7, 10, 11]))
        body = draw(st.binary(min_size=count, max_size=count)).hex()
        if draw(st.booleans()):
            body = body.upper()
        if draw(st.booleans()):
            sep = draw(st.sampled_from([":", "-", " "]))
            body = sep.join(body[i : i + 2] for i in range(0, len(body), 2))
        if draw(st.booleans()):
            body = body[: draw(st.integers(0, len(body)))]
    else:
        body = draw(st.text(alphabet=_HEXISH, max_size=24))
    tail = draw(st.sampled_from(["", "", " ", "\n", "0", "\u0660"]))
    return prefix + body + tail


def _outcome(call: Callable[[], str]) -> tuple[str, str]:
    try:
        return "ok", call()
    except CardFormatError as exc:
        return "error", str(exc)


@given(text=near_misses() | st.text(max_size=40))
@example(text="uid:04A224B2")
@example(text="nfc:0004a224b2c15e")
@example(text="uid:04A224")  # 3 bytes
@example(text="uid:00112233445566778899AA")  # 11 bytes
@example(text="uid:04A224B")  # odd digits
@example(text="uid:04A224B2 ")
@example(text="u\u0131d:04A224B2")  # dotless i: re.IGNORECASE would take it
@example(text="uid:04A224B\u0662")  # an Arabic-Indic digit
@example(text="uid:04A224B2\n")
def test_canonical_text_equals_parse_card(text: str) -> None:
    for bits in (24, 26, 32):
        want = _outcome(partial(lambda b: parse_card(text).canonical(b), bits))
        assert _outcome(partial(canonical_text, text, bits)) == want
