"""EV2 authentication and secure messaging (DESFire EV2/EV3, NTAG 424 DNA), AES mode.

AuthenticateEV2First (AN12196 §6.6, AN12343): the card sends E(K, RndB); the reader
answers E(K, RndA || RndB<<8); the card proves K with E(K, TI || RndA<<8 || PDcap2 ||
PCDcap2). Session keys are CMACs under K of SV1 (A5 5A ...) and SV2 (5A A5 ...).
Secure messaging (AN12196 §5): every command and response carries an 8-byte
truncated CMAC over Cmd/RC, the command counter, TI and the data; in full mode the
data is also AES-CBC encrypted with an IV derived from TI and the counter.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from agent.errors import GateError
from drivers.secure.aes import (
    cbc_decrypt,
    cbc_encrypt,
    cmac,
    cmac_t,
    ecb_encrypt,
    pad80,
    rotl,
    unpad80,
    xor,
)


class ProtocolViolation(GateError, ValueError):
    """The other side's message does not verify (wrong key, MAC, length or padding)."""


def session_vectors(rnd_a: bytes, rnd_b: bytes) -> tuple[bytes, bytes]:
    """SV1 and SV2 of AN12343: label || 0001 0080 || mixed RndA / RndB (MSB first)."""
    tail = rnd_a[0:2] + xor(rnd_a[2:8], rnd_b[0:6]) + rnd_b[6:16] + rnd_a[8:16]
    return b"\xa5\x5a\x00\x01\x00\x80" + tail, b"\x5a\xa5\x00\x01\x00\x80" + tail


def session_keys(key: bytes, rnd_a: bytes, rnd_b: bytes) -> tuple[bytes, bytes]:
    """(SesAuthENCKey, SesAuthMACKey) for a finished authentication."""
    sv1, sv2 = session_vectors(rnd_a, rnd_b)
    return cmac(key, sv1), cmac(key, sv2)


def reader_part1(key: bytes, card_challenge: bytes, rnd_a: bytes) -> tuple[bytes, bytes]:
    """Decrypt E(K, RndB); returns (RndB, E(K, RndA || RndB')) to send back."""
    if len(card_challenge) != 16 or len(rnd_a) != 16:
        raise ProtocolViolation("the card's challenge is one AES block")
    rnd_b = cbc_decrypt(key, card_challenge)
    return rnd_b, cbc_encrypt(key, rnd_a + rotl(rnd_b))


def reader_part2(key: bytes, card_answer: bytes, rnd_a: bytes, rnd_b: bytes) -> SecureChannel:
    """Check the card's proof E(K, TI || RndA' || PDcap2 || PCDcap2); opens the channel."""
    if len(card_answer) != 32:
        raise ProtocolViolation("the card's proof is two AES blocks")
    plain = cbc_decrypt(key, card_answer)
    if not hmac.compare_digest(plain[4:20], rotl(rnd_a)):
        raise ProtocolViolation("the card did not prove the key (RndA' differs)")
    enc, mac = session_keys(key, rnd_a, rnd_b)
    return SecureChannel(enc, mac, ti=plain[0:4], pdcap2=plain[20:26], pcdcap2=plain[26:32])


def card_part1(key: bytes, rnd_b: bytes) -> bytes:
    """The card's opening: E(K, RndB)."""
    return cbc_encrypt(key, rnd_b)


def card_part2(key: bytes, reader_answer: bytes, rnd_b: bytes, ti: bytes) -> SecureChannel:
    """The card checks RndB' and opens its side of the channel; ``answer`` is its proof."""
    if len(reader_answer) != 32:
        raise ProtocolViolation("the reader's answer is two AES blocks")
    plain = cbc_decrypt(key, reader_answer)
    rnd_a = plain[:16]
    if not hmac.compare_digest(plain[16:], rotl(rnd_b)):
        raise ProtocolViolation("the reader did not prove the key")
    enc, mac = session_keys(key, rnd_a, rnd_b)
    channel = SecureChannel(enc, mac, ti=ti, pdcap2=bytes(6), pcdcap2=bytes(6))
    channel.answer = cbc_encrypt(key, ti + rotl(rnd_a) + bytes(12))
    return channel


@dataclass(slots=True)
class SecureChannel:
    """Both sides' state after authentication: session keys, TI and the command counter.

    ``counter`` is CmdCtr; it rises by one after every command/response pair, so a
    recorded MAC never verifies twice.
    """

    enc_key: bytes
    mac_key: bytes
    ti: bytes
    pdcap2: bytes = bytes(6)
    pcdcap2: bytes = bytes(6)
    counter: int = 0
    answer: bytes = b""

    def _ctr(self) -> bytes:
        return self.counter.to_bytes(2, "little")

    def command_mac(self, cmd: int, header: bytes, data: bytes) -> bytes:
        """MACt over Cmd || CmdCtr || TI || header || data (data already encrypted)."""
        return cmac_t(self.mac_key, bytes([cmd]) + self._ctr() + self.ti + header + data)

    def response_mac(self, status: int, data: bytes) -> bytes:
        """MACt over RC || CmdCtr+1 || TI || data: call after ``advance``."""
        return cmac_t(self.mac_key, bytes([status]) + self._ctr() + self.ti + data)

    def _iv(self, label: bytes) -> bytes:
        return ecb_encrypt(self.enc_key, label + self.ti + self._ctr() + bytes(8))

    def encrypt_command(self, data: bytes) -> bytes:
        """Full mode command data: AES-CBC, IV = E(K, A55A || TI || CmdCtr || 0*8)."""
        return cbc_encrypt(self.enc_key, pad80(data), self._iv(b"\xa5\x5a")) if data else b""

    def decrypt_command(self, data: bytes) -> bytes:
        """The card's side of ``encrypt_command``."""
        if not data:
            return b""
        return unpad80(cbc_decrypt(self.enc_key, data, self._iv(b"\xa5\x5a")))

    def encrypt_response(self, data: bytes) -> bytes:
        """Full mode response data, IV = E(K, 5AA5 || TI || CmdCtr+1 || 0*8)."""
        return cbc_encrypt(self.enc_key, pad80(data), self._iv(b"\x5a\xa5")) if data else b""

    def decrypt_response(self, data: bytes) -> bytes:
        """The reader's side of ``encrypt_response`` (after ``advance``)."""
        if not data:
            return b""
        return unpad80(cbc_decrypt(self.enc_key, data, self._iv(b"\x5a\xa5")))

    def advance(self) -> None:
        """One command/response pair done."""
        self.counter = (self.counter + 1) & 0xFFFF

    def check_response(self, status: int, body: bytes) -> bytes:
        """Split ``data || MACt`` of a response, verify the MAC (call after ``advance``)."""
        if len(body) < 8:
            raise ProtocolViolation("response too short for its MAC")
        data, mac = body[:-8], body[-8:]
        if not hmac.compare_digest(self.response_mac(status, data), mac):
            raise ProtocolViolation("response MAC does not verify")
        return data
