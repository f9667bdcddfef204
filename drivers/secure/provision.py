"""Desk provisioning: turn a blank card into a site credential, through APDUs only.

The office calls these with a desk reader's ``CardTransport``. Keys go on last, and
among them the card's own key 0 first and the per-card key that makes a card genuine
(the credential file's read key, the SDM file-read key) last: a card torn away at
any point before that last ChangeKey never reads as genuine, and none is left
genuine with a factory key 0 (which would let anyone rewrite it). A torn DESFire
keeps its created application (``provision_desfire`` expects a blank); a torn NTAG
424 opens with its diversified key 0 once that went on.

A factory DESFire's PICC master key is a 2K3DES zero key, which AuthenticateEV2First
cannot use; its factory PICC key settings let anyone create an application, so the
application is created without PICC authentication and everything after that runs
under the new application's own AES key 0. A factory NTAG 424 has SDM off and an
empty NDEF file, free to write: the SUN template is written first (plain), then
ChangeFileSettings turns SDM on under key 0 (writes need key 0 from then on).
"""

from __future__ import annotations

import os

from agent.errors import CardFormatError
from drivers.secure.aes import xor
from drivers.secure.base import CardTransport
from drivers.secure.desfire import (
    Ev2Link,
    Random,
    authenticate,
    encode_credential,
    plain,
    read_card_uid,
    select_application,
)
from drivers.secure.ev2 import ProtocolViolation
from drivers.secure.keys import NTAG_DF_NAME, SiteKeys
from drivers.secure.sdm import NDEF_FILE_NO, sun_template
from drivers.secure.session import iso_select_df
from drivers.secure.softcard import jamcrc

CREATE_APPLICATION, CREATE_STD_DATA_FILE, WRITE_DATA, CHANGE_KEY = 0xCA, 0xCD, 0x8D, 0xC4
CHANGE_FILE_SETTINGS = 0x5F
SDM_META_READ_KEY, SDM_FILE_READ_KEY = 1, 2
FACTORY_KEY = bytes(16)
_MODE_BYTE = {"mac": 1, "full": 3}


def change_key(
    link: Ev2Link, key_no: int, new: bytes, old: bytes, in_use: bool, version: int = 0
) -> None:
    """ChangeKey (full mode): the key in use as ``new || version``, another as the XOR
    with its old value, the version and the CRC32 of the new key."""
    if in_use:
        data, response = new + bytes([version]), "none"
    else:
        data, response = xor(new, old) + bytes([version]) + jamcrc(new), "mac"
    link.command(CHANGE_KEY, bytes([key_no]), data, "full", response=response)


def provision_desfire(
    transport: CardTransport,
    keys: SiteKeys,
    credential_id: str,
    rng: Random = os.urandom,
) -> bytes:
    """Create the site's application, its credential file and diversified keys; the UID.

    CreateApplication goes plain, without PICC authentication (factory PICC settings);
    key settings 0x0B (key 0 changes keys), AES keys (0x80) as many as the site uses.
    """
    content = encode_credential(credential_id, keys.credential_size)
    if select_application(transport, bytes(3)) != 0:
        raise ProtocolViolation("the card has no PICC level")
    key_count = max(keys.uid_key_no, keys.card_key_no) + 1
    app_settings = keys.aid + b"\x0b" + bytes([0x80 | key_count])
    status = plain(transport, CREATE_APPLICATION, app_settings)[1]
    if status != 0:
        raise ProtocolViolation(f"the card refuses a new application ({status:02X})")
    if select_application(transport, keys.aid) != 0:
        raise ProtocolViolation("the new application cannot be selected")
    link = Ev2Link(transport, authenticate(transport, 0, FACTORY_KEY, rng))
    uid = read_card_uid(link)
    size = keys.credential_size.to_bytes(3, "little")
    rights = bytes([0x00, keys.card_key_no << 4])  # RW/Change: key 0; Read: card key, Write: 0
    link.command(
        CREATE_STD_DATA_FILE,
        data=bytes([keys.credential_file, _MODE_BYTE[keys.credential_mode]]) + rights + size,
    )
    header = bytes([keys.credential_file]) + bytes(3) + len(content).to_bytes(3, "little")
    link.command(WRITE_DATA, header, content, keys.credential_mode)
    change_key(link, 0, keys.app_key(uid), FACTORY_KEY, in_use=True)  # ends the session
    link = Ev2Link(transport, authenticate(transport, 0, keys.app_key(uid), rng))
    change_key(link, keys.uid_key_no, keys.uid_key(), FACTORY_KEY, in_use=False)
    change_key(link, keys.card_key_no, keys.card_key(uid), FACTORY_KEY, in_use=False)
    return uid


def provision_ntag424(
    transport: CardTransport,
    keys: SiteKeys,
    factory_key: bytes = FACTORY_KEY,
    rng: Random = os.urandom,
) -> bytes:
    """Make a blank NTAG 424 a SUN tag of the site: the NDEF template, SDM, then keys.

    The NDEF file (02) gets ``https://`` + ``keys.ntag_url`` + ``e=<PICCData>&c=<MAC>``
    (WriteData, plain, while writing is free), ChangeFileSettings turns SDM on with
    PICCData under key 1 (meta read) and the SDMMAC under key 2 (file read), then key
    0, 1 and 2 get the site's keys.
    """
    template, settings = sun_template(keys.ntag_url, SDM_META_READ_KEY, SDM_FILE_READ_KEY)
    header = bytes([NDEF_FILE_NO]) + bytes(3) + len(template).to_bytes(3, "little")
    if len(header + template) > 255:
        raise CardFormatError("the SUN URL is too long for one WriteData")
    if not iso_select_df(transport, NTAG_DF_NAME):
        raise ProtocolViolation("not an NTAG 424 DNA")
    status = plain(transport, WRITE_DATA, header + template)[1]
    if status != 0:
        raise ProtocolViolation(f"the NDEF file cannot be written ({status:02X})")
    link = Ev2Link(transport, authenticate(transport, 0, factory_key, rng))
    uid = read_card_uid(link)
    link.command(CHANGE_FILE_SETTINGS, bytes([NDEF_FILE_NO]), settings.encode(), "full")
    change_key(link, 0, keys.ntag_app_key(uid), factory_key, in_use=True)  # ends the session
    link = Ev2Link(transport, authenticate(transport, 0, keys.ntag_app_key(uid), rng))
    change_key(link, 1, keys.ntag_meta_key(), factory_key, in_use=False)
    change_key(link, 2, keys.ntag_file_key(uid), factory_key, in_use=False)
    return uid
