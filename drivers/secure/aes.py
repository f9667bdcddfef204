"""AES-128 building blocks shared by the NXP protocols (``cryptography`` only)."""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

BLOCK = 16
ZERO_IV = bytes(BLOCK)


def ecb_encrypt(key: bytes, block: bytes) -> bytes:
    """One AES-128 block encryption (the raw permutation)."""
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def cbc_encrypt(key: bytes, data: bytes, iv: bytes = ZERO_IV) -> bytes:
    """AES-CBC over whole blocks (the caller pads)."""
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return enc.update(data) + enc.finalize()


def cbc_decrypt(key: bytes, data: bytes, iv: bytes = ZERO_IV) -> bytes:
    """AES-CBC decryption over whole blocks; a ragged length raises ``ValueError``."""
    if len(data) % BLOCK:
        raise ValueError("ciphertext is not a whole number of blocks")
    dec = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return dec.update(data) + dec.finalize()


def cmac(key: bytes, message: bytes) -> bytes:
    """The full 16-byte AES-CMAC (NIST SP 800-38B)."""
    mac = CMAC(algorithms.AES(key))
    mac.update(message)
    return mac.finalize()


def cmac_t(key: bytes, message: bytes) -> bytes:
    """NXP's truncated MAC: the odd-numbered bytes (1, 3, ..., 15) of the CMAC."""
    return cmac(key, message)[1::2]


def pad80(data: bytes) -> bytes:
    """ISO/IEC 9797-1 method 2: 0x80 then zeros to a whole block (always adds a byte)."""
    padded = data + b"\x80"
    return padded + bytes(-len(padded) % BLOCK)


def unpad80(data: bytes) -> bytes:
    """Undo ``pad80``; raises ``ValueError`` when the padding is not there."""
    stripped = data.rstrip(b"\x00")
    if not stripped.endswith(b"\x80") or len(data) - len(stripped) >= BLOCK:
        raise ValueError("bad padding")
    return stripped[:-1]


def rotl(data: bytes) -> bytes:
    """Rotate left by one byte (RndA', RndB')."""
    return data[1:] + data[:1]


def xor(a: bytes, b: bytes) -> bytes:
    """Byte-wise exclusive or of two equal-length strings."""
    return bytes(x ^ y for x, y in zip(a, b, strict=True))
