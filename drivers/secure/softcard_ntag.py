"""A software NTAG 424 DNA: the NDEF application, SDM as its settings say, Read_Sig.

Like a factory tag it starts with five AES zero keys, an NDEF file (02, ISO E104) of
256 zero bytes, free to read and write, and SDM off: its NDEF read carries no SUN
message. WriteData (plain, while the write right is free) fills the file and
ChangeFileSettings (full mode, under the file's change key) turns SDM on; from then
on every ISO ReadBinary of the file raises the read counter and mirrors, at the
offsets written, the PICCData (UID and counter, AES-CBC under the SDMMetaRead key)
and the SDMMAC (under a session key from the SDMFileRead key) in upper-case hex.

Simplifications: one file (the NDEF file); WriteData only in plain while writing is
free; ReadBinary only while reading is free; the counter rises on every read.
"""

from __future__ import annotations

import os

from cryptography.hazmat.primitives.asymmetric import ec

from drivers.secure.aes import cbc_encrypt
from drivers.secure.desfire import Random
from drivers.secure.keys import NTAG_DF_NAME
from drivers.secure.ntag424 import PICC_DATA_TAG, originality_sign, sdm_mac
from drivers.secure.sdm import FREE, MAC_HEX, NDEF_FILE_NO, PICC_HEX, FileSettings, decode
from drivers.secure.softcard import (
    FILE_NOT_FOUND,
    ILLEGAL_COMMAND,
    LENGTH_ERROR,
    OK,
    PERMISSION_DENIED,
    Application,
    CardRefusal,
    SoftCardBase,
)

_OK = b"\x90\x00"
_NOT_FOUND = b"\x6a\x82"
_DENIED = b"\x69\x82"
NDEF_FILE = b"\xe1\x04"
NDEF_SIZE = 256
PARAMETER_ERROR = 0x9E


class SoftNtag424(SoftCardBase):
    """An NTAG 424 DNA with five AES keys (all zero when blank) and an NDEF file.

    ``signer`` stands in for NXP's factory key: tests verify the originality
    signature against its public key; ``None`` makes a chip with no valid signature.
    ``ndef`` and ``settings`` (the ChangeFileSettings data) restore a saved tag.
    """

    def __init__(
        self,
        uid: bytes,
        rng: Random = os.urandom,
        keys: list[bytes] | None = None,
        signer: ec.EllipticCurvePrivateKey | None = None,
        counter: int = 0,
        ndef: bytes = bytes(NDEF_SIZE),
        settings: bytes = FileSettings().encode(),
    ) -> None:
        super().__init__(uid, rng)
        self.ndef_app = Application(list(keys) if keys else [bytes(16)] * 5)
        self.app = None
        self.counter = counter
        self.file = bytearray(ndef.ljust(NDEF_SIZE, b"\x00")[:NDEF_SIZE])
        self.settings = settings
        self._parsed = decode(settings)
        self.signature = originality_sign(uid, signer) if signer else bytes(56)
        self._selected: bytes | None = None

    def iso(self, apdu: bytes) -> bytes:
        """SelectFile (by DF name, by file id) and ReadBinary of the NDEF file."""
        if apdu[:2] == b"\x00\xa4" and len(apdu) >= 5:
            target = bytes(apdu[5 : 5 + apdu[4]])
            if apdu[2] == 0x04 and target == NTAG_DF_NAME:
                self.app, self._selected, self.channel = self.ndef_app, None, None
                return _OK
            if apdu[2] == 0x00 and self.app is not None and target == NDEF_FILE:
                self._selected = target
                return _OK
            return _NOT_FOUND
        if apdu[:2] == b"\x00\xb0" and self._selected == NDEF_FILE and len(apdu) == 5:
            if self._parsed.read != FREE:
                return _DENIED
            offset, length = int.from_bytes(apdu[2:4], "big"), apdu[4] or NDEF_SIZE
            return self.ndef()[offset : offset + length] + _OK
        return b"\x6d\x00"

    def ndef(self) -> bytes:
        """The NDEF file as one read sees it: with SDM on, one more read and a fresh SUN."""
        sdm = self._parsed.sdm
        if sdm is None:
            return bytes(self.file)
        self.counter = (self.counter + 1) & 0xFFFFFF
        keys, view = self.ndef_app.keys, bytearray(self.file)
        plain = bytes([PICC_DATA_TAG]) + self.uid + self.counter.to_bytes(3, "little")
        picc = cbc_encrypt(keys[sdm.meta_read], plain + self.rng(16 - len(plain)))
        view[sdm.picc_offset : sdm.picc_offset + PICC_HEX] = picc.hex().upper().encode()
        mirrored = bytes(view[sdm.mac_input_offset : sdm.mac_offset])
        mac = sdm_mac(keys[sdm.file_read], self.uid, self.counter, mirrored)
        view[sdm.mac_offset : sdm.mac_offset + MAC_HEX] = mac.hex().upper().encode()
        return bytes(view)

    def native(self, cmd: int, data: bytes) -> tuple[bytes, int]:
        if cmd == 0x3C:
            return self.signature, OK
        if cmd == 0x5A:
            raise CardRefusal(ILLEGAL_COMMAND)
        if cmd == 0x8D:
            return self._write_data(data)
        if cmd == 0x5F:
            return self._change_file_settings(data)
        return super().native(cmd, data)

    def _write_data(self, data: bytes) -> tuple[bytes, int]:
        if self.app is None or len(data) < 7 or data[0] != NDEF_FILE_NO:
            raise CardRefusal(FILE_NOT_FOUND)
        if self._parsed.write != FREE or self._parsed.comm_mode != 0:
            raise CardRefusal(PERMISSION_DENIED)
        offset, length = int.from_bytes(data[1:4], "little"), int.from_bytes(data[4:7], "little")
        content = data[7:]
        if len(content) != length or offset + length > NDEF_SIZE:
            raise CardRefusal(LENGTH_ERROR)
        self.file[offset : offset + length] = content
        return b"", OK

    def _change_file_settings(self, data: bytes) -> tuple[bytes, int]:
        if self.app is None or not data or data[0] != NDEF_FILE_NO:
            raise CardRefusal(FILE_NOT_FOUND)
        if self.auth_key_no != self._parsed.change:
            raise CardRefusal(PERMISSION_DENIED)
        plain = self.open_command(0x5F, data[:1], data[1:], "full")
        try:
            parsed = decode(plain)
        except ValueError:
            raise CardRefusal(PARAMETER_ERROR) from None
        sdm = parsed.sdm
        if sdm is not None and sdm.mac_offset + MAC_HEX > NDEF_SIZE:
            raise CardRefusal(PARAMETER_ERROR)
        self.settings, self._parsed = plain, parsed
        return self.answer(b"", "mac")
