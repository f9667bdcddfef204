"""NXP's worked examples for the secure-credential crypto, number for number.

Sources (numbers only): AN10922 §2.2.1 as in libfreefare's
test/test_mifare_key_deriver_an10922.c; AN12196 (NTAG 424 DNA SUN, EV2 authentication,
secure messaging) as in nfc-developer/sdm-backend tests/test_libsdm.py and
lucianox777/nfc-ev2-crypto test_ev2.py; originality signatures from the latter's
test_ecc.py.
"""

from __future__ import annotations

import pytest

from drivers.secure.an10922 import diversification_input, diversify
from drivers.secure.desfire import Ev2Link
from drivers.secure.ev2 import SecureChannel, reader_part1, reader_part2
from drivers.secure.ntag424 import (
    NXP_NTAG424_PUBLIC_KEY,
    SunInvalid,
    originality_holds,
    sdm_mac,
    verify_sun,
)
from drivers.secure.provision import change_key

H = bytes.fromhex
ZERO = bytes(16)


def test_an10922_aes128_vector() -> None:
    master, uid, aid = H("00112233445566778899AABBCCDDEEFF"), H("04782E21801D80"), H("3042F5")
    assert diversification_input(uid, aid, b"NXP Abu") == H("0104782E21801D803042F54E585020416275")
    assert diversify(master, uid, aid, b"NXP Abu") == H("A8DD63A3B89D54B37CA802473FDA9175")


def test_an10922_full_two_blocks_uses_k1_and_differs_from_padded() -> None:
    master = H("00112233445566778899AABBCCDDEEFF")
    full = diversify(master, H("04782E21801D80"), H("3042F5"), b"0123456789ABCDEFGHIJK")
    shorter = diversify(master, H("04782E21801D80"), H("3042F5"), b"0123456789ABCDEFGHIJ")
    assert len(full) == 16 and full != shorter
    with pytest.raises(ValueError):
        diversify(master, H("04782E21801D80"), H("3042F5"), b"0123456789ABCDEFGHIJKL")


def test_sun_message_an12196() -> None:
    sun = verify_sun(ZERO, lambda _uid: ZERO, H("EF963FF7828658A599F3041510671E88"),
                     H("94EED9EE65337086"))  # fmt: skip
    assert sun.uid == H("04DE5F1EACC040")
    assert sun.counter == 61


def test_sun_message_wrong_mac_refused() -> None:
    with pytest.raises(SunInvalid):
        verify_sun(ZERO, lambda _uid: ZERO, H("EF963FF7828658A599F3041510671E88"),
                   H("3CC1E7F6C6C33B33"))  # fmt: skip


def test_plain_sun_mac() -> None:
    assert sdm_mac(ZERO, H("041E3C8A2D6B80"), 6) == H("4B00064004B0B3D3")
    assert sdm_mac(ZERO, H("041E3C8A2D6B80"), 6) != H("AB00064004B0B3AB")


ORIGINAL = [
    ("047728824D6580", "9C7068636A285FEBA1E2406654009DCE6E8A9C9CE318BE0262ED1625"
     "19B970B32FB802858420D667D12CEBCD32BB4BC8AFE21C753A5A6C26"),
    ("041D3C8A2D6B80", "A438FEB368DC45F9B8899C2926A985BE5D08E342CE016E9F08F3FDAE"
     "388BB4D6B3DFD7DEA2E1977CCD2E4C9F82F245D4DE08FB7FCB8043E3"),
    ("041C3C8A2D6B80", "B46D0539F65330E0D3C262FD6971C2E1DE1B609E68E2D003903FAAFC"
     "C0A4AC6DB78C638A85247FE5AD2AD535105B5CF0422143BF2817B862"),
]  # fmt: skip


@pytest.mark.parametrize(("uid", "signature"), ORIGINAL)
def test_originality_signature_holds(uid: str, signature: str) -> None:
    assert originality_holds(H(uid), H(signature), NXP_NTAG424_PUBLIC_KEY)


@pytest.mark.parametrize(("uid", "signature"), ORIGINAL)
def test_originality_signature_flipped_fails(uid: str, signature: str) -> None:
    flipped = H(signature)[:-1] + bytes([H(signature)[-1] ^ 1])
    assert not originality_holds(H(uid), flipped, NXP_NTAG424_PUBLIC_KEY)
    assert not originality_holds(H("047728824D6581"), H(signature), NXP_NTAG424_PUBLIC_KEY)


def test_originality_random_uid_fails() -> None:
    signature = H("8172EFBA10E1884E49536FC21EAD1AE55AF08A1423DBE43C8364C456"
                  "534694BCEF0BF85BF329A0FF8B221013AF860976AB029155BD95BBCE")  # fmt: skip
    assert not originality_holds(H("21A6D8FD5528D3"), signature, NXP_NTAG424_PUBLIC_KEY)
    assert not originality_holds(H("21A6D8FD5528D3"), signature[:-1], NXP_NTAG424_PUBLIC_KEY)


@pytest.mark.parametrize(
    ("rnd_a", "challenge", "reader", "proof", "ti", "enc", "mac"),
    [
        (  # AN12196 §6.6
            "13C5DB8A5930439FC3DEF9A4C675360F", "A04C124213C186F22399D33AC2A30215",
            "35C3E05A752E0144BAC0DE51C1F22C56B34408A23D8AEA266CAB947EA8E0118D",
            "3FA64DB5446D1F34CD6EA311167F5E4985B89690C04A05F17FA7AB2F08120663",
            "9D00C4DF", "1309C877509E5A215007FF0ED19CA564", "4C6626F5E72EA694202139295C7A7FC7",
        ),
        (  # AN12196 §6.10
            "B98F4C50CF1C2E084FD150E33992B048", "B875CEB0E66A6C5CD00898DC371F92D1",
            "FF0306E47DFBC50087C4D8A78E88E62DE1E8BE457AA477C707E2F0874916A8B1",
            "0CC9A8094A8EEA683ECAAC5C7BF20584206D0608D477110FC6B3D5D3F65C3A6A",
            "7614281A", "7A93D6571E4B180FCA6AC90C9A7488D4", "FC4AF159B62E549B5812394CAB1918CC",
        ),
    ],
)  # fmt: skip
def test_authenticate_ev2_first(
    rnd_a: str, challenge: str, reader: str, proof: str, ti: str, enc: str, mac: str
) -> None:
    rnd_b, answer = reader_part1(ZERO, H(challenge), H(rnd_a))
    assert answer == H(reader)
    channel = reader_part2(ZERO, H(proof), H(rnd_a), rnd_b)
    assert channel.ti == H(ti)
    assert (channel.pdcap2, channel.pcdcap2) == (bytes(6), bytes(6))
    assert channel.enc_key == H(enc)
    assert channel.mac_key == H(mac)


def test_mac_mode_command_and_response() -> None:  # AN12196 §5.3
    channel = SecureChannel(ZERO, H("8248134A386E86EB7FAF54A52E536CB6"), ti=H("7A21085E"))
    assert channel.command_mac(0xF5, b"\x02", b"") == H("6597A457C8CD442C")
    channel.advance()
    body = H("0040EEEE000100D1FE001F00004400004400002000006A00002A474282E7A47986")
    assert channel.check_response(0x00, body) == body[:-8]


def test_full_mode_command() -> None:  # AN12196 §5.4 (WriteData of an NDEF file)
    channel = SecureChannel(H("1309C877509E5A215007FF0ED19CA564"),
                            H("4C6626F5E72EA694202139295C7A7FC7"), ti=H("9D00C4DF"))  # fmt: skip
    header = H("02000000800000")
    data = H(
        "0051D1014D550463686F6F73652E75726C2E636F6D2F6E7461673432343F653D"
        "303030303030303030303030303030303030303030303030303030303030303026"
        "633D30303030303030303030303030303030"
    ) + bytes(128 - 83)
    body = channel.encrypt_command(data)
    sent = header + body + channel.command_mac(0x8D, header, body)
    assert sent == H(
        "02000000800000421C73A27D827658AF481FDFF20A5025B559D0E3"
        "AA21E58D347F343CFFC768BFE596C706BC00F2176781D4B0242642A0FF5A42C4"
        "61AAF894D9A1284B8C76BCFA658ACD40555D362E08DB15CF421B51283F9064BC"
        "BE20E96CAE545B407C9D651A3315B27373772E5DA2367D2064AE054AF996C6F1"
        "F669170FA88CE8C4E3A4A7BBBEF0FD971FF532C3A802AF745660F2B4D1D9A849"
        "9661EBF3"
    )
    channel.advance()
    assert channel.check_response(0x00, H("FC222E5F7A542452")) == b""


def test_full_mode_write_data_short() -> None:  # AN12196 §6.12
    channel = SecureChannel(H("7A93D6571E4B180FCA6AC90C9A7488D4"),
                            H("FC4AF159B62E549B5812394CAB1918CC"), ti=H("7614281A"))  # fmt: skip
    header = H("030000000A0000")
    body = channel.encrypt_command(H("0102030405060708090A"))
    assert header + body + channel.command_mac(0x8D, header, body) == H(
        "030000000A00006B5E6804909962FC4E3FF5522CF0F8436C0C53315B9C73AA"
    )
    channel.advance()
    assert channel.check_response(0x00, H("C26D236E4A7C046D")) == b""
    with pytest.raises(ValueError):
        channel.check_response(0x00, H("C26D236E4A7C046E"))


def test_get_card_uid_full_response() -> None:  # AN12196 §7.3
    channel = SecureChannel(H("2B4D963C014DC36F24F69A50A394F875"),
                            H("379D32130CE61705DD5FD8C36B95D764"), ti=H("DF055522"))  # fmt: skip
    assert channel.command_mac(0x51, b"", b"") == H("8E2C155ADDA99BE3")
    channel.advance()
    data = channel.check_response(0x00, H("70756055688505B52A5E26E59E329CD6595F672298EA41B7"))
    assert channel.decrypt_response(data) == H("04958CAA5C5E80")


class OneAnswer:
    """A transport that keeps the command it is sent and answers ``91 00``."""

    def __init__(self) -> None:
        self.sent = b""

    def exchange(self, apdu: bytes) -> bytes:
        self.sent = apdu
        return b"\x91\x00"


@pytest.mark.parametrize(
    ("enc", "mac", "ti", "counter", "new", "version", "sent"),
    [
        (  # AN12196 Table 26: key 0 while authenticated with it, CmdCtr 3
            "4CF3CB41A22583A61E89B158D252FC53", "5529860B2FC5FB6154B7F28361D30BF9", "7614281A", 3,
            "5004BF991F408672B1EF00F08F9E8647", 1,
            "C0EB4DEEFEDDF0B513A03A95A75491818580503190D4D05053FF75668A01D6FD" "A6610234BDED6432",
        ),
        (  # AN12343 Table 40: key 0, CmdCtr 0
            "E156C8522F7C8DC82B0C99BA847DE723", "45D50C1570000D2F173DF949288E3CAD", "94297F4D", 0,
            "01234567890123456789012345678901", 0,
            "BF5400DC97A1FBD65BE870716D6F11F8161BB4CA472856DB94AB94B2EC1A13E6" "27CE07CF56C11091",
        ),
    ],
)  # fmt: skip
def test_change_key_in_use(
    enc: str, mac: str, ti: str, counter: int, new: str, version: int, sent: str
) -> None:
    # numbers as quoted in drusifer/ntag424_sdm_provisioner tests/test_crypto_components.py
    transport = OneAnswer()
    link = Ev2Link(transport, SecureChannel(H(enc), H(mac), ti=H(ti), counter=counter))
    change_key(link, 0, H(new), ZERO, in_use=True, version=version)
    assert transport.sent == H("90C4000029") + b"\x00" + H(sent) + b"\x00"
