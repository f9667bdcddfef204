import pytest

from agent.errors import CardFormatError
from agent.store.credentials import CredentialHasher
from drivers.cards import CardNumber, Technology, parse_card


@pytest.mark.parametrize(
    "text",
    ["uid:04A224B2", "nfc:04a224b2", "04:A2:24:B2", "04-a2-24-b2", "UID:04 A2 24 B2"],
)
def test_uid_notations_normalise_to_one_credential(text: str) -> None:
    assert parse_card(text).canonical() == "uid:04A224B2"


def test_em4100_and_wiegand26_of_the_same_card_agree() -> None:
    # EM id 0x0A000C0D80: low 24 bits are facility 12 (0x0C), card 3456 (0x0D80)
    em = parse_card("em:0A000C0D80")
    w26 = parse_card("w26:12:3456")
    assert em.technology is w26.technology is Technology.PROX
    assert em.canonical(24) == w26.canonical(24) == parse_card("12,3456").canonical(24)
    hasher = CredentialHasher(b"k" * 32, prox_bits=24)
    assert hasher.credential(em) == hasher.credential(w26)


def test_seven_byte_uid_keeps_leading_zero_bytes() -> None:
    assert parse_card("uid:0004A224B2C15E").canonical() == "uid:0004A224B2C15E"


@pytest.mark.parametrize(
    "text",
    ["", "12345", "uid:ABC", "uid:GG00AA11", "em:123", "w26:300:1", "w26:1:70000", "uid:00"],
)
def test_bad_notations_are_refused(text: str) -> None:
    with pytest.raises(CardFormatError):
        parse_card(text)


def test_repr_and_mask_never_show_the_whole_number() -> None:
    card = parse_card("uid:04A224B2C15E80")
    assert "04A224B2C1" not in repr(card)
    assert card.masked() == "uid:****5E80"
    assert CardNumber.from_prox(0x0C0D80, 24).masked() == "prox:****80"


def test_credential_is_keyed() -> None:
    card = parse_card("uid:04A224B2")
    one = CredentialHasher(b"a" * 32).credential(card)
    two = CredentialHasher(b"b" * 32).credential(card)
    assert one != two and len(one) == 64
    assert "04a224b2" not in one.lower()
