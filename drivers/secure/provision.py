"""Desk provisioning: turn a blank card into a site credential, through APDUs only.

The office calls these with a desk reader's ``CardTransport``. Keys go on last, and
among them the card's own key 0 first and the per-card key that makes a card genuine
(the credential file's read key, the SDM file-read key) last: a card torn away at
any point before that last ChangeKey never reads as genuine, and none is left
genuine with a factory key 0 (which would let anyone rewrite it). A torn DESFire
keeps its created application (``provision_desfire`` expects a blank); a torn NTAG
424 opens with its diversified key 0 once that went on.
"""

from __future__ import annotations

import os

from drivers.secure.aes import xor
from drivers.secure.base import CardTransport
from drivers.secure.desfire import (
    Ev2Link,
    Random,
    authenticate,
    encode_credential,
    read_card_uid,
    select_application,
)
from drivers.secure.ev2 import ProtocolViolation
from drivers.secure.keys import NTAG_DF_NAME, SiteKeys
from drivers.secure.session import iso_select_df
from drivers.secure.softcard import jamcrc

CREATE_APPLICATION, CREATE_STD_DATA_FILE, WRITE_DATA, CHANGE_KEY = 0xCA, 0xCD, 0x8D, 0xC4
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
    picc_key: bytes = FACTORY_KEY,
    rng: Random = os.urandom,
) -> bytes:
    """Create the site's application, its credential file and diversified keys; the UID."""
    content = encode_credential(credential_id, keys.credential_size)
    if select_application(transport, bytes(3)) != 0:
        raise ProtocolViolation("the card has no PICC level")
    link = Ev2Link(transport, authenticate(transport, 0, picc_key, rng))
    uid = read_card_uid(link)
    key_count = max(keys.uid_key_no, keys.card_key_no) + 1
    link.command(CREATE_APPLICATION, data=keys.aid + b"\x0b" + bytes([0x80 | key_count]))
    if select_application(transport, keys.aid) != 0:
        raise ProtocolViolation("the new application cannot be selected")
    link = Ev2Link(transport, authenticate(transport, 0, FACTORY_KEY, rng))
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
    """Put the site's SDM keys (1: meta read, 2: file read) and key 0 on a blank NTAG 424.

    The SDM file settings themselves (ChangeFileSettings) are not sent yet: the
    software card has them fixed; a real tag needs that step too.
    """
    if not iso_select_df(transport, NTAG_DF_NAME):
        raise ProtocolViolation("not an NTAG 424 DNA")
    link = Ev2Link(transport, authenticate(transport, 0, factory_key, rng))
    uid = read_card_uid(link)
    change_key(link, 0, keys.ntag_app_key(uid), factory_key, in_use=True)  # ends the session
    link = Ev2Link(transport, authenticate(transport, 0, keys.ntag_app_key(uid), rng))
    change_key(link, 1, keys.ntag_meta_key(), factory_key, in_use=False)
    change_key(link, 2, keys.ntag_file_key(uid), factory_key, in_use=False)
    return uid
