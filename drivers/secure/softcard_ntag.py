"""A software NTAG 424 DNA: the NDEF application, a SUN message per read, Read_Sig.

SDM is configured as the office provisions it, fixed here rather than set by
ChangeFileSettings (not emulated): PICCData encrypted with key 1 (SDM meta read),
SDMMAC with key 2 (SDM file read) over empty mirrored data, in a URL record of the
NDEF file. Every ReadBinary of the NDEF file raises the read counter by one.
"""

from __future__ import annotations

import os

from cryptography.hazmat.primitives.asymmetric import ec

from drivers.secure.aes import cbc_encrypt
from drivers.secure.desfire import Random
from drivers.secure.keys import NTAG_DF_NAME
from drivers.secure.ntag424 import PICC_DATA_TAG, originality_sign, sdm_mac, sun_ndef
from drivers.secure.softcard import ILLEGAL_COMMAND, OK, Application, CardRefusal, SoftCardBase

_OK = b"\x90\x00"
_NOT_FOUND = b"\x6a\x82"
NDEF_FILE = b"\xe1\x04"


class SoftNtag424(SoftCardBase):
    """An NTAG 424 DNA with five AES keys (all zero when blank) and an SDM-enabled NDEF file.

    ``signer`` stands in for NXP's factory key: tests verify the originality
    signature against its public key; ``None`` makes a chip with no valid signature.
    """

    def __init__(
        self,
        uid: bytes,
        rng: Random = os.urandom,
        keys: list[bytes] | None = None,
        signer: ec.EllipticCurvePrivateKey | None = None,
        counter: int = 0,
        url: bytes = b"gate.example/s?",
    ) -> None:
        super().__init__(uid, rng)
        self.ndef_app = Application(list(keys) if keys else [bytes(16)] * 5)
        self.app = None
        self.counter = counter
        self.url = url
        self.signature = originality_sign(uid, signer) if signer else bytes(56)
        self._file: bytes | None = None

    def iso(self, apdu: bytes) -> bytes:
        """SelectFile (by DF name, by file id) and ReadBinary of the NDEF file."""
        if apdu[:2] == b"\x00\xa4" and len(apdu) >= 5:
            target = bytes(apdu[5 : 5 + apdu[4]])
            if apdu[2] == 0x04 and target == NTAG_DF_NAME:
                self.app, self._file, self.channel = self.ndef_app, None, None
                return _OK
            if apdu[2] == 0x00 and self.app is not None and target == NDEF_FILE:
                self._file = target
                return _OK
            return _NOT_FOUND
        if apdu[:2] == b"\x00\xb0" and self._file == NDEF_FILE:
            return self.ndef() + _OK
        return b"\x6d\x00"

    def ndef(self) -> bytes:
        """The NDEF file after one more read, with a fresh SUN message."""
        self.counter = (self.counter + 1) & 0xFFFFFF
        keys = self.ndef_app.keys
        plain = bytes([PICC_DATA_TAG]) + self.uid + self.counter.to_bytes(3, "little")
        picc = cbc_encrypt(keys[1], plain + self.rng(16 - len(plain)))
        return sun_ndef(self.url, picc, sdm_mac(keys[2], self.uid, self.counter))

    def native(self, cmd: int, data: bytes) -> tuple[bytes, int]:
        if cmd == 0x3C:
            return self.signature, OK
        if cmd == 0x5A:
            raise CardRefusal(ILLEGAL_COMMAND)
        return super().native(cmd, data)
