"""AES-128 key diversification per NXP AN10922 (CMAC based).

The diversified key is the CMAC of ``0x01 || UID || AID || system identifier`` under
the master key, with one twist against plain CMAC: the input is always padded to
two blocks (32 bytes). A full 32-byte input uses subkey K1; a shorter one gets
``0x80 00 ...`` padding and subkey K2.
"""

from __future__ import annotations

from drivers.secure.aes import BLOCK, ZERO_IV, cbc_encrypt, ecb_encrypt, xor

_DIV_CONSTANT_AES128 = b"\x01"
_RB = 0x87


def _double(block: bytes) -> bytes:
    value = int.from_bytes(block, "big") << 1
    if value >> 128:
        value = (value & ((1 << 128) - 1)) ^ _RB
    return value.to_bytes(BLOCK, "big")


def subkeys(key: bytes) -> tuple[bytes, bytes]:
    """CMAC subkeys K1, K2 of an AES-128 key."""
    k1 = _double(ecb_encrypt(key, ZERO_IV))
    return k1, _double(k1)


def diversification_input(uid: bytes, aid: bytes, system_id: bytes) -> bytes:
    """``0x01 || UID || AID || system identifier``: what AN10922 MACs (at most 32 bytes)."""
    message = _DIV_CONSTANT_AES128 + uid + aid + system_id
    if len(message) > 2 * BLOCK:
        raise ValueError("diversification input longer than 31 bytes")
    return message


def diversify(master: bytes, uid: bytes, aid: bytes, system_id: bytes) -> bytes:
    """The card's own AES-128 key derived from the site master key."""
    if len(master) != BLOCK:
        raise ValueError("an AES-128 master key has 16 bytes")
    message = diversification_input(uid, aid, system_id)
    k1, k2 = subkeys(master)
    if len(message) == 2 * BLOCK:
        data = message[:BLOCK] + xor(message[BLOCK:], k1)
    else:
        padded = message + b"\x80" + bytes(2 * BLOCK - len(message) - 1)
        data = padded[:BLOCK] + xor(padded[BLOCK:], k2)
    return cbc_encrypt(master, data)[BLOCK:]
