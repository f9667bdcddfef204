"""Provisioning as real blank cards need it: NTAG 424 SDM settings and the DESFire PICC level.

The ChangeFileSettings numbers are AN12196's worked example (rev. 2.0 §5.9 Table 18,
rev. 1.8 Table 19): settings ``4000E0C1F121200000430000430000`` for the NDEF file of
``https://choose.url.com/ntag424?e=...&c=...``, sent in full mode at CmdCtr 1.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable

import pytest

from agent.errors import GateError
from drivers.secure.base import CardTransport, SecureFailure
from drivers.secure.desfire import Ev2Link, authenticate
from drivers.secure.ev2 import ProtocolViolation, SecureChannel
from drivers.secure.hostile import ManualClock, Recorder
from drivers.secure.keys import NTAG_DF_NAME, SiteKeys
from drivers.secure.provision import provision_desfire, provision_ntag424
from drivers.secure.sdm import FileSettings, SdmLayout, decode, sun_template
from drivers.secure.session import iso_select_df, read_secure
from drivers.secure.softcard import Application, SoftDesfire, status_of
from drivers.secure.softcard_ntag import SoftNtag424

UID = bytes.fromhex("04A1B2C3D4E5F6")
KEYS = SiteKeys(master=bytes(range(16)), originality_key=b"")
AN12196_SETTINGS = bytes.fromhex("4000E0C1F121200000430000430000")
AN12196_URL = b"choose.url.com/ntag424?"


def rng(seed: int) -> Callable[[int], bytes]:
    return random.Random(seed).randbytes


def reason(card: CardTransport, keys: SiteKeys = KEYS) -> str:
    with pytest.raises(SecureFailure) as caught:
        read_secure(card, keys, ManualClock(), rng(7))
    return caught.value.reason


def test_an12196_settings_encode_and_decode_field_by_field() -> None:
    layout = SdmLayout(meta_read=2, file_read=1, ctr_ret=1, picc_offset=0x20,
                       mac_input_offset=0x43, mac_offset=0x43)  # fmt: skip
    example = FileSettings(comm_mode=0, read=0xE, write=0, read_write=0, change=0, sdm=layout)
    assert example.encode() == AN12196_SETTINGS
    assert decode(AN12196_SETTINGS) == example
    assert decode(bytes.fromhex("00E0EE")) == FileSettings()  # a factory NDEF file: SDM off


def test_the_site_template_puts_mirrors_where_an12196_does() -> None:
    ndef, settings = sun_template(AN12196_URL, meta_read=2, file_read=1)
    assert settings.sdm is not None
    assert settings.encode()[4:6] == bytes.fromhex("FF21")  # CtrRet: nobody
    example = dataclasses.replace(settings, sdm=dataclasses.replace(settings.sdm, ctr_ret=1))
    assert example.encode() == AN12196_SETTINGS
    assert ndef[0x20 - 2 : 0x20] == b"e=" and ndef[0x43 - 3 : 0x43] == b"&c="
    assert ndef[7:] == AN12196_URL + b"e=" + b"0" * 32 + b"&c=" + b"0" * 16


@dataclasses.dataclass
class Scripted:
    answers: list[bytes]
    sent: list[bytes] = dataclasses.field(default_factory=list)

    def exchange(self, apdu: bytes) -> bytes:
        self.sent.append(apdu)
        return self.answers.pop(0)


def test_change_file_settings_apdu_is_an12196s() -> None:
    channel = SecureChannel(
        enc_key=bytes.fromhex("1309C877509E5A215007FF0ED19CA564"),
        mac_key=bytes.fromhex("4C6626F5E72EA694202139295C7A7FC7"),
        ti=bytes.fromhex("9D00C4DF"),
        counter=1,
    )
    card = Scripted([bytes.fromhex("57BFF87B1241E93D9100")])
    Ev2Link(card, channel).command(0x5F, b"\x02", AN12196_SETTINGS, "full")  # MAC verified
    assert card.sent == [
        bytes.fromhex("905F0000190261B6D97903566E84C3AE5274467E89EAD799B7C1A0EF7A0400")
    ]
    assert channel.counter == 2


def test_a_blank_ntag_has_sdm_off_until_provisioned() -> None:
    tag = SoftNtag424(UID, rng=rng(1))
    assert tag.ndef() == bytes(256) and tag.counter == 0
    assert reason(tag) == "card_not_genuine"
    assert provision_ntag424(tag, KEYS, rng=rng(2)) == UID
    assert [read_secure(tag, KEYS, ManualClock())[1].counter for _ in range(3)] == [1, 2, 3]
    settings = decode(tag.settings)
    assert settings.sdm is not None
    assert (settings.read, settings.write, settings.read_write, settings.change) == (14, 0, 0, 0)
    assert (settings.sdm.meta_read, settings.sdm.file_read) == (1, 2)
    record = b"\xd1\x01\x45\x55\x04gate.example/s?e=" + b"0" * 32 + b"&c=" + b"0" * 16
    assert bytes(tag.file) == (b"\x00\x49" + record).ljust(256, b"\x00")  # mirrors: per read


def test_the_software_tag_mirrors_where_its_settings_say() -> None:
    keys = dataclasses.replace(KEYS, ntag_url=b"door.example.org/a/long/path/sun?tag=1&")
    tag = SoftNtag424(UID, rng=rng(3))
    provision_ntag424(tag, keys, rng=rng(4))
    assert read_secure(tag, keys, ManualClock())[1].genuine
    assert reason(tag) == "card_not_genuine"  # the site's other URL: not its template


def test_the_software_tag_guards_its_ndef_file() -> None:
    tag = SoftNtag424(UID, rng=rng(5))
    provision_ntag424(tag, KEYS, rng=rng(6))
    write = bytes.fromhex("908D00000A02000000030000414243") + b"\x00"
    assert status_of(tag.exchange(write)) == 0x9D  # writing needs key 0 now
    assert status_of(tag.exchange(bytes.fromhex("905F0000040200E0EE00"))) == 0x9D  # no session
    with pytest.raises(GateError):
        provision_ntag424(tag, KEYS, rng=rng(7))  # no longer blank


def test_unsupported_sdm_layouts_are_refused_by_the_software_tag() -> None:
    tag = SoftNtag424(UID, rng=rng(8))
    assert iso_select_df(tag, NTAG_DF_NAME)
    link = Ev2Link(tag, authenticate(tag, 0, bytes(16), rng(9)))
    with pytest.raises(ProtocolViolation, match="9E"):  # SDMENCFileData asked for
        link.command(0x5F, b"\x02", bytes.fromhex("4000E0D1F121200000430000430000"), "full")
    assert decode(tag.settings).sdm is None


def test_a_blank_desfire_refuses_aes_at_picc_level_and_provisions_without_it() -> None:
    card = SoftDesfire(UID, rng=rng(10))
    with pytest.raises(ProtocolViolation, match="AE"):
        authenticate(card, 0, bytes(16), rng(11))  # the factory PICC key is 2K3DES
    recorder = Recorder(card)
    assert provision_desfire(recorder, KEYS, "R-7", rng=rng(12)) == UID
    commands = [apdu[1] for apdu, _ in recorder.transcript]
    assert commands[:3] == [0x5A, 0xCA, 0x5A]  # select PICC, create plain, select app
    assert recorder.transcript[1][0] == bytes.fromhex("90CA000005A1C0DE0B8300")
    assert read_secure(card, KEYS, ManualClock())[1].credential_id == "R-7"


def test_a_desfire_whose_picc_settings_forbid_free_create_is_refused() -> None:
    card = SoftDesfire(UID, rng=rng(13), picc_settings=0x0B)
    with pytest.raises(ProtocolViolation, match="9D"):
        provision_desfire(card, KEYS, "R-8", rng=rng(14))
    assert card.apps == {}


def test_an_aes_picc_key_still_allows_an_authenticated_create() -> None:
    picc = Application([bytes(16)])
    card = SoftDesfire(UID, rng=rng(15), picc_settings=0x0B, picc=picc)
    link = Ev2Link(card, authenticate(card, 0, bytes(16), rng(16)))
    link.command(0xCA, data=bytes.fromhex("A1C0DE0B83"))
    assert list(card.apps) == [bytes.fromhex("A1C0DE")]
