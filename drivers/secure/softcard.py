"""A software card: DESFire EV2 and NTAG 424 DNA answering APDUs like a ``CardTransport``.

Built on the same crypto as the reader side (``ev2``), it lets the real protocol code
run unchanged in tests and benchmarks, and lets tests make hostile cards (see
``hostile``). It emulates what the gate and the office's provisioning use:
SelectApplication, AuthenticateEV2First, GetCardUID, ReadData, CreateApplication,
ChangeKey, CreateStdDataFile and WriteData; the NTAG adds ISO SelectFile,
ReadBinary of the NDEF file with a fresh SUN message per read, and Read_Sig.

Like a factory card, a blank DESFire's PICC master key is a 2K3DES zero key, which
AuthenticateEV2First refuses (AUTH_ERROR), and its PICC key settings (0x0F) let
CreateApplication go without authentication; with bit 2 of those settings clear it
needs AuthenticateEV2First with an AES PICC key 0 (a MAC'd command).

Simplifications, on purpose: applications have AES keys only; no legacy (DES)
authentication; application key settings are recorded, not enforced beyond file
access rights; errors answer with the DESFire status codes the gate treats as refusals.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass, field

from agent.errors import GateError
from drivers.secure.aes import xor
from drivers.secure.base import split_status
from drivers.secure.desfire import Random
from drivers.secure.ev2 import ProtocolViolation, SecureChannel, card_part1, card_part2

OK, MORE = 0x00, 0xAF
NO_SUCH_KEY, PERMISSION_DENIED, APP_NOT_FOUND = 0x40, 0x9D, 0xA0
AUTH_ERROR, INTEGRITY_ERROR, ILLEGAL_COMMAND, LENGTH_ERROR = 0xAE, 0x1E, 0x1C, 0x7E
FILE_NOT_FOUND, DUPLICATE = 0xF0, 0xDE
PICC = bytes(3)
FACTORY_PICC_SETTINGS, FREE_CREATE = 0x0F, 0x04
COMM_MODES = {0: "plain", 1: "mac", 3: "full"}


def jamcrc(data: bytes) -> bytes:
    """DESFire's CRC32 of a new key (no final inversion), little-endian."""
    return ((zlib.crc32(data) ^ 0xFFFFFFFF) & 0xFFFFFFFF).to_bytes(4, "little")


@dataclass(slots=True)
class StdFile:
    """A standard data file: content, communication mode and access keys."""

    data: bytearray
    mode: str
    read_key: int
    write_key: int


@dataclass(slots=True)
class Application:
    """A DESFire application: its AES keys and files."""

    keys: list[bytes]
    files: dict[int, StdFile] = field(default_factory=dict)
    key_type: str = "aes"  # "2k3des" for a factory PICC master key


class CardRefusal(GateError):
    """Internal: the emulated card answers with this status and no data."""

    def __init__(self, status: int) -> None:
        super().__init__(f"{status:02X}")
        self.status = status


class SoftCardBase:
    """What DESFire EV2 and NTAG 424 DNA share: EV2 authentication and secure messaging."""

    def __init__(self, uid: bytes, rng: Random = os.urandom) -> None:
        self.uid = uid
        self.rng = rng
        self.app: Application | None = None
        self.channel: SecureChannel | None = None
        self.auth_key_no: int | None = None
        self._pending: tuple[int, bytes] | None = None

    def exchange(self, apdu: bytes) -> bytes:
        """Answer one command APDU."""
        try:
            if len(apdu) >= 5 and apdu[0] == 0x90:
                lc = apdu[4] if len(apdu) > 5 else 0
                data, code = self.native(apdu[1], apdu[5 : 5 + lc])
                return data + bytes([0x91, code])
            return self.iso(apdu)
        except CardRefusal as refusal:
            self.channel = None if refusal.status != MORE else self.channel
            return bytes([0x91, refusal.status])

    def iso(self, apdu: bytes) -> bytes:
        """ISO 7816-4 commands; none by default."""
        return b"\x6d\x00"

    def native(self, cmd: int, data: bytes) -> tuple[bytes, int]:
        """Native commands shared by both chips."""
        if cmd == 0x71:
            return self._auth_first(data)
        if cmd == 0xAF and self._pending is not None:
            return self._auth_second(data)
        self._pending = None
        if cmd == 0x51:
            self.open_command(cmd, b"", data)
            return self.answer(self.uid, "full")
        if cmd == 0xC4:
            return self._change_key(data)
        raise CardRefusal(ILLEGAL_COMMAND)

    def keys(self) -> list[bytes]:
        """The keys of the selected application."""
        if self.app is None:
            raise CardRefusal(APP_NOT_FOUND)
        return self.app.keys

    def _auth_first(self, data: bytes) -> tuple[bytes, int]:
        self.channel, self.auth_key_no = None, None
        if len(data) < 2:
            raise CardRefusal(LENGTH_ERROR)
        if data[0] >= len(self.keys()):
            raise CardRefusal(NO_SUCH_KEY)
        if self.app is not None and self.app.key_type != "aes":
            raise CardRefusal(AUTH_ERROR)
        rnd_b = self.rng(16)
        self._pending = (data[0], rnd_b)
        return card_part1(self.keys()[data[0]], rnd_b), MORE

    def _auth_second(self, data: bytes) -> tuple[bytes, int]:
        assert self._pending is not None
        key_no, rnd_b = self._pending
        self._pending = None
        try:
            self.channel = card_part2(self.keys()[key_no], data, rnd_b, self.rng(4))
        except ProtocolViolation:
            raise CardRefusal(AUTH_ERROR) from None
        self.auth_key_no = key_no
        return self.channel.answer, OK

    def open_command(self, cmd: int, header: bytes, body: bytes, mode: str = "mac") -> bytes:
        """Check a secured command's MAC; returns its data (decrypted in full mode)."""
        ch = self.channel
        if ch is None:
            raise CardRefusal(PERMISSION_DENIED)
        if len(body) < 8 or ch.command_mac(cmd, header, body[:-8]) != body[-8:]:
            raise CardRefusal(INTEGRITY_ERROR)
        try:
            data = ch.decrypt_command(body[:-8]) if mode == "full" else body[:-8]
        except ValueError:
            raise CardRefusal(INTEGRITY_ERROR) from None
        ch.advance()
        return data

    def answer(self, data: bytes, mode: str) -> tuple[bytes, int]:
        """A secured response: data (encrypted in full mode) and its MAC."""
        assert self.channel is not None
        body = self.channel.encrypt_response(data) if mode == "full" else data
        return body + self.channel.response_mac(OK, body), OK

    def _change_key(self, data: bytes) -> tuple[bytes, int]:
        if not data:
            raise CardRefusal(LENGTH_ERROR)
        key_no = data[0] & 0x0F
        plain = self.open_command(0xC4, data[:1], data[1:], "full")
        keys = self.keys()
        if key_no >= len(keys) or len(plain) < 17:
            raise CardRefusal(NO_SUCH_KEY if key_no >= len(keys) else LENGTH_ERROR)
        if key_no == self.auth_key_no:
            keys[key_no] = plain[:16]
            self.channel, self.auth_key_no = None, None
            return b"", OK
        new = xor(plain[:16], keys[key_no])
        if len(plain) != 21 or plain[17:21] != jamcrc(new):
            raise CardRefusal(INTEGRITY_ERROR)
        keys[key_no] = new
        return self.answer(b"", "mac")


class SoftDesfire(SoftCardBase):
    """A DESFire EV2 card: a PICC level (key 0) and applications with standard files.

    ``picc_settings`` are the PICC master key settings (factory 0x0F; bit 2: free
    CreateApplication); ``picc`` replaces the factory PICC level (2K3DES zero key).
    """

    def __init__(
        self,
        uid: bytes,
        rng: Random = os.urandom,
        picc_settings: int = FACTORY_PICC_SETTINGS,
        picc: Application | None = None,
    ) -> None:
        super().__init__(uid, rng)
        self.picc = picc or Application([bytes(16)], key_type="2k3des")
        self.picc_settings = picc_settings
        self.apps: dict[bytes, Application] = {}
        self.app = self.picc

    def native(self, cmd: int, data: bytes) -> tuple[bytes, int]:
        if cmd == 0x5A:
            return self._select(data)
        if cmd == 0xCA:
            return self._create_application(data)
        if cmd == 0xCD:
            return self._create_file(data)
        if cmd in (0xAD, 0x8D):
            return self._file_io(cmd, data)
        return super().native(cmd, data)

    def _select(self, data: bytes) -> tuple[bytes, int]:
        self.channel, self.auth_key_no, self._pending = None, None, None
        aid = bytes(data[:3])
        if aid == PICC:
            self.app = self.picc
        elif aid in self.apps:
            self.app = self.apps[aid]
        else:
            self.app = None
            raise CardRefusal(APP_NOT_FOUND)
        return b"", OK

    def _create_application(self, data: bytes) -> tuple[bytes, int]:
        if self.app is not self.picc:
            raise CardRefusal(PERMISSION_DENIED)
        secured = self.channel is not None and self.auth_key_no == 0
        if not secured and not self.picc_settings & FREE_CREATE:
            raise CardRefusal(PERMISSION_DENIED)
        body = self.open_command(0xCA, b"", data) if secured else data
        if len(body) != 5 or not body[4] & 0x80:
            raise CardRefusal(LENGTH_ERROR)
        if bytes(body[:3]) in self.apps:
            raise CardRefusal(DUPLICATE)
        self.apps[bytes(body[:3])] = Application([bytes(16)] * (body[4] & 0x0F))
        return self.answer(b"", "mac") if secured else (b"", OK)

    def _create_file(self, data: bytes) -> tuple[bytes, int]:
        body = self.open_command(0xCD, b"", data)
        if self.app is None or self.app is self.picc or self.auth_key_no != 0 or len(body) != 7:
            raise CardRefusal(PERMISSION_DENIED)
        if body[1] not in COMM_MODES:
            raise CardRefusal(LENGTH_ERROR)
        size = int.from_bytes(body[4:7], "little")
        self.app.files[body[0]] = StdFile(
            bytearray(size), COMM_MODES[body[1]], body[3] >> 4, body[3] & 0x0F
        )
        return self.answer(b"", "mac")

    def _file_io(self, cmd: int, data: bytes) -> tuple[bytes, int]:
        header = bytes(data[:7])
        files = self.app.files if self.app is not None else {}
        if len(header) != 7 or header[0] not in files:
            raise CardRefusal(FILE_NOT_FOUND)
        file = files[header[0]]
        if self.auth_key_no != (file.read_key if cmd == 0xAD else file.write_key):
            raise CardRefusal(PERMISSION_DENIED)
        offset, length = (
            int.from_bytes(header[1:4], "little"),
            int.from_bytes(header[4:7], "little"),
        )
        if cmd == 0x8D:
            content = self.open_command(cmd, header, data[7:], file.mode)
            if len(content) != length or offset + length > len(file.data):
                raise CardRefusal(LENGTH_ERROR)
            file.data[offset : offset + length] = content
            return self.answer(b"", "mac")
        self.open_command(cmd, header, data[7:])
        end = len(file.data) if length == 0 else offset + length
        return self.answer(bytes(file.data[offset:end]), file.mode)


def status_of(response: bytes) -> int:
    """The DESFire status byte of a response (tests and provisioning)."""
    return split_status(response)[2]
