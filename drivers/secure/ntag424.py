"""NTAG 424 DNA: SUN message verification (AN12196, AES mode) and the originality check.

A SUN message is what the tag mirrors into its NDEF file on every read: PICCData
(UID and read counter, AES-CBC under the SDM meta-read key) and an SDMMAC (the
truncated CMAC of the mirrored data under a session key derived from the SDM file
read key, the UID and the counter). The counter rises by one per read, so a replayed
message repeats an old counter: the gate keeps the last one it saw.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature

from agent.errors import GateError
from drivers.secure.aes import cbc_decrypt, cmac, cmac_t

PICC_DATA_TAG = 0xC7  # UID mirrored, counter mirrored, UID length 7
_SV2_PREFIX = bytes.fromhex("3CC300010080")

# NXP's originality-signature public key for NTAG 424 DNA (secp224r1, uncompressed),
# as published in AN12196 §8.2 and found in lucianox777/nfc-ev2-crypto validate_ecc.py.
NXP_NTAG424_PUBLIC_KEY = bytes.fromhex(
    "048A9B380AF2EE1B98DC417FECC263F8449C7625CECE82D9B916C992DA209D68"
    "422B81EC20B65A66B5102A61596AF3379200599316A00A1410"
)


class SunInvalid(GateError, ValueError):
    """A SUN message whose PICCData or MAC does not verify."""


@dataclass(frozen=True, slots=True)
class SunMessage:
    """What a verified SUN message says: the tag's UID and its read counter."""

    uid: bytes
    counter: int


def decrypt_picc_data(meta_read_key: bytes, picc_data: bytes) -> SunMessage:
    """Decrypt the 16-byte PICCData (tag 0xC7: UID 7 bytes, counter 3 bytes LE)."""
    if len(picc_data) != 16:
        raise SunInvalid("PICCData is one AES block")
    plain = cbc_decrypt(meta_read_key, picc_data)
    if plain[0] != PICC_DATA_TAG:
        raise SunInvalid("PICCData tag is not 0xC7")
    return SunMessage(uid=plain[1:8], counter=int.from_bytes(plain[8:11], "little"))


def session_mac_key(file_read_key: bytes, uid: bytes, counter: int) -> bytes:
    """KSesSDMFileReadMAC: CMAC over SV2 = 3CC3 0001 0080 || UID || counter (LE)."""
    return cmac(file_read_key, _SV2_PREFIX + uid + counter.to_bytes(3, "little"))


def sdm_mac(file_read_key: bytes, uid: bytes, counter: int, mirrored: bytes = b"") -> bytes:
    """The 8-byte SDMMAC over the mirrored data (empty for the plain PICCData case)."""
    return cmac_t(session_mac_key(file_read_key, uid, counter), mirrored)


def verify_sun(
    meta_read_key: bytes,
    file_read_key_for: Callable[[bytes], bytes],
    picc_data: bytes,
    mac: bytes,
    mirrored: bytes = b"",
) -> SunMessage:
    """Decrypt PICCData, then check the SDMMAC with the key ``file_read_key_for(uid)``."""
    message = decrypt_picc_data(meta_read_key, picc_data)
    key = file_read_key_for(message.uid)
    expected = sdm_mac(key, message.uid, message.counter, mirrored)
    if not hmac.compare_digest(expected, mac):
        raise SunInvalid("SDMMAC does not match")
    return message


_SUN_HEX = re.compile(rb"e=([0-9A-F]{32})&c=([0-9A-F]{16})")


def sun_ndef(url: bytes, picc_data: bytes, mac: bytes) -> bytes:
    """The NDEF file of a SUN tag: NLEN, one URI record ``https://<url>e=<PICC>&c=<MAC>``."""
    params = b"e=" + picc_data.hex().upper().encode() + b"&c=" + mac.hex().upper().encode()
    payload = b"\x04" + url + params
    record = bytes([0xD1, 0x01, len(payload), 0x55]) + payload
    return len(record).to_bytes(2, "big") + record


def parse_sun_ndef(url: bytes, ndef: bytes) -> tuple[bytes, bytes]:
    """(PICCData, SDMMAC) of an NDEF file that is exactly what the office wrote.

    Anything else in the file (another URL, lower-case hex, a stray byte) is refused:
    a genuine tag mirrors into the template and changes nothing around it. A whole
    file read (256 bytes) may follow the NDEF message with zero bytes, nothing else.
    """
    end = 2 + int.from_bytes(ndef[:2], "big")
    if ndef[end:].strip(b"\x00"):
        raise SunInvalid("the NDEF file holds more than the site's SUN template")
    ndef = ndef[:end]
    match = _SUN_HEX.search(ndef)
    if match is None:
        raise SunInvalid("no SUN message in the NDEF file")
    picc, mac = bytes.fromhex(match.group(1).decode()), bytes.fromhex(match.group(2).decode())
    if sun_ndef(url, picc, mac) != ndef:
        raise SunInvalid("the NDEF file is not the site's SUN template")
    return picc, mac


def originality_holds(uid: bytes, signature: bytes, public_key: bytes) -> bool:
    """NXP's originality signature: ECDSA secp224r1 over the raw UID, ``r || s`` 56 bytes.

    The UID itself is the "digest": left-padded to 28 bytes it is the same integer,
    which lets a 224-bit prehashed verification stand in for NXP's raw one.
    """
    if len(signature) != 56 or not 4 <= len(uid) <= 28:
        return False
    try:
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP224R1(), public_key)
        der = encode_dss_signature(
            int.from_bytes(signature[:28], "big"), int.from_bytes(signature[28:], "big")
        )
        digest = bytes(28 - len(uid)) + uid
        key.verify(der, digest, ec.ECDSA(Prehashed(hashes.SHA224())))
    except (InvalidSignature, ValueError):
        return False
    return True


def originality_sign(uid: bytes, private_key: ec.EllipticCurvePrivateKey) -> bytes:
    """Sign a UID the way NXP's factory does (the software card's own test key)."""
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    der = private_key.sign(bytes(28 - len(uid)) + uid, ec.ECDSA(Prehashed(hashes.SHA224())))
    r, s = decode_dss_signature(der)
    return r.to_bytes(28, "big") + s.to_bytes(28, "big")
