"""DESFire EV2/EV3 as the gate uses it: select, authenticate, read the real UID and file.

The reader side of the protocol over a ``CardTransport``. Any answer that does not
verify raises ``ProtocolViolation`` (the session turns it into ``card_not_genuine``);
a transport failure propagates as ``CardGone`` (``card_torn``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from agent.errors import CardFormatError
from drivers.secure.base import CardTransport, native, split_status
from drivers.secure.ev2 import ProtocolViolation, SecureChannel, reader_part1, reader_part2
from drivers.secure.keys import SiteKeys

OK, MORE = 0x00, 0xAF
SELECT_APPLICATION = 0x5A
AUTHENTICATE_EV2_FIRST = 0x71
ADDITIONAL_FRAME = 0xAF
GET_CARD_UID = 0x51
READ_DATA = 0xAD

Random = Callable[[int], bytes]


def plain(transport: CardTransport, cmd: int, data: bytes = b"") -> tuple[bytes, int]:
    """A native command without secure messaging; returns (data, DESFire status)."""
    body, sw1, sw2 = split_status(transport.exchange(native(cmd, data)))
    if sw1 != 0x91:
        raise ProtocolViolation(f"not a DESFire status word: {sw1:02X}{sw2:02X}")
    return body, sw2


def select_application(transport: CardTransport, aid: bytes) -> int:
    """SelectApplication; returns the status (0x00 when the card has the application)."""
    return plain(transport, SELECT_APPLICATION, aid)[1]


def authenticate(
    transport: CardTransport, key_no: int, key: bytes, rng: Random = os.urandom
) -> SecureChannel:
    """AuthenticateEV2First with one key: the card must prove it holds ``key``."""
    challenge, status = plain(transport, AUTHENTICATE_EV2_FIRST, bytes([key_no, 0]))
    if status != MORE:
        raise ProtocolViolation(f"authentication refused ({status:02X})")
    rnd_a = rng(16)
    rnd_b, answer = reader_part1(key, challenge, rnd_a)
    proof, status = plain(transport, ADDITIONAL_FRAME, answer)
    if status != OK:
        raise ProtocolViolation(f"authentication failed ({status:02X})")
    return reader_part2(key, proof, rnd_a, rnd_b)


@dataclass(slots=True)
class Ev2Link:
    """A transport plus an open secure channel: commands with CMACt both ways."""

    transport: CardTransport
    channel: SecureChannel

    def command(
        self,
        cmd: int,
        header: bytes = b"",
        data: bytes = b"",
        mode: str = "mac",
        *,
        response: str = "mac",
    ) -> bytes:
        """Send ``cmd`` in ``mode`` ("mac" or "full" for the data), check the answer.

        ``response`` says how the answer's data comes back ("mac", "full", or "none"
        when the command ends the session, like changing the key in use).
        """
        ch = self.channel
        body = ch.encrypt_command(data) if mode == "full" else data
        mac = ch.command_mac(cmd, header, body)
        answer, status = plain(self.transport, cmd, header + body + mac)
        if status != OK:
            raise ProtocolViolation(f"command {cmd:02X} refused ({status:02X})")
        ch.advance()
        if response == "none":
            if answer:
                raise ProtocolViolation("unexpected data after a session-ending command")
            return b""
        payload = ch.check_response(status, answer)
        return ch.decrypt_response(payload) if response == "full" else payload


def read_card_uid(link: Ev2Link) -> bytes:
    """GetCardUID (encrypted answer): the real UID even on a random-UID card."""
    uid = link.command(GET_CARD_UID, response="full")
    if len(uid) not in (4, 7, 10):
        raise ProtocolViolation("a UID has 4, 7 or 10 bytes")
    return uid


def read_file(link: Ev2Link, file_no: int, length: int, mode: str) -> bytes:
    """ReadData of a whole standard file (offset 0) in MAC or full mode."""
    header = bytes([file_no]) + bytes(3) + length.to_bytes(3, "little")
    data = link.command(READ_DATA, header, response=mode)
    if len(data) != length:
        raise ProtocolViolation("the file came back with another length")
    return data


def encode_credential(credential_id: str, size: int) -> bytes:
    """The credential file's content: the id in ASCII, zero-filled to the file size."""
    if not 0 < len(credential_id) <= size or not credential_id.isascii():
        raise CardFormatError(f"a credential id is 1 to {size} printable ASCII characters")
    if not credential_id.isprintable():
        raise CardFormatError(f"a credential id is 1 to {size} printable ASCII characters")
    return credential_id.encode("ascii") + bytes(size - len(credential_id))


def decode_credential(data: bytes) -> str:
    """Inverse of ``encode_credential``; ``ProtocolViolation`` for anything else."""
    raw = data.rstrip(b"\x00")
    if not raw or b"\x00" in raw or not all(0x20 <= b < 0x7F for b in raw):
        raise ProtocolViolation("the credential file does not name a credential")
    return raw.decode("ascii")


def read_desfire(
    transport: CardTransport, keys: SiteKeys, rng: Random = os.urandom
) -> tuple[bytes, str]:
    """After SelectApplication: the card's real UID and the credential id it names.

    Authenticates first with the site-wide UID key (to learn the UID of a random-UID
    card), then with the card's own diversified key, which reads the credential file.
    """
    link = Ev2Link(transport, authenticate(transport, keys.uid_key_no, keys.uid_key(), rng))
    uid = read_card_uid(link)
    channel = authenticate(transport, keys.card_key_no, keys.card_key(uid), rng)
    data = read_file(
        Ev2Link(transport, channel),
        keys.credential_file,
        keys.credential_size,
        keys.credential_mode,
    )
    return uid, decode_credential(data)
