"""A site's secure-credential settings and the keys derived from its master key.

Every key on a card is derived from the one site master key (AN10922), with the
key number appended to the system identifier so no two roles share a key:

* DESFire application key 0 (the card's own master): per card (UID);
* key ``uid_key_no``: site-wide (empty UID): lets the gate read a random-UID card's
  real UID (GetCardUID) before it knows which per-card key to use;
* key ``card_key_no``: per card: reads the credential file; proving it is what makes
  the card genuine, and a clone of one card's key opens nothing else;
* NTAG 424 DNA: key 0 per card, the SDM meta-read key (key 1) site-wide (it must be,
  to decrypt PICCData before the UID is known), the SDM file-read key (key 2) per card.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drivers.secure.an10922 import diversify
from drivers.secure.ntag424 import NXP_NTAG424_PUBLIC_KEY

NTAG_DF_NAME = bytes.fromhex("D2760000850101")  # the NDEF application of NTAG 424 DNA
_NTAG_AID = NTAG_DF_NAME[-3:]


@dataclass(frozen=True, slots=True)
class SiteKeys:
    """What the gate needs to verify secure cards offline (never logged: ``repr`` hides keys)."""

    master: bytes = field(repr=False)
    aid: bytes = bytes.fromhex("A1C0DE")  # the DESFire application holding the credential
    system_id: bytes = b"gate-agent"  # AN10922 system identifier (up to 19 bytes here)
    uid_key_no: int = 1
    card_key_no: int = 2
    credential_file: int = 1
    credential_mode: str = "full"  # "full" (encrypted + MAC) or "mac" for ReadData
    credential_size: int = 32
    relay_budget_s: float = 0.3  # longer than this for the whole exchange: a relay
    ntag_url: bytes = b"gate.example/s?"  # the SUN URL the office writes (after https://)
    originality_key: bytes = field(default=NXP_NTAG424_PUBLIC_KEY, repr=False)

    def __post_init__(self) -> None:
        if len(self.master) != 16:
            raise ValueError("the site master key is AES-128: 16 bytes")
        if len(self.aid) != 3 or len(self.system_id) > 19:
            raise ValueError("an AID has 3 bytes and the system identifier at most 19")
        if not 0 < self.uid_key_no < 14 or not 0 < self.card_key_no < 14:
            raise ValueError("key numbers are 1 to 13 (0 is the application's own key)")
        if self.uid_key_no == self.card_key_no:
            raise ValueError("the UID key and the card key must be different keys")
        if self.credential_mode not in ("full", "mac"):
            raise ValueError("credential_mode is 'full' or 'mac'")

    def _key(self, uid: bytes, aid: bytes, key_no: int) -> bytes:
        return diversify(self.master, uid, aid, self.system_id + bytes([key_no]))

    def app_key(self, uid: bytes) -> bytes:
        """DESFire application key 0 of this card."""
        return self._key(uid, self.aid, 0)

    def uid_key(self) -> bytes:
        """The site-wide key that may read a card's real UID."""
        return self._key(b"", self.aid, self.uid_key_no)

    def card_key(self, uid: bytes) -> bytes:
        """This card's own key for the credential file."""
        return self._key(uid, self.aid, self.card_key_no)

    def ntag_app_key(self, uid: bytes) -> bytes:
        """NTAG 424 DNA key 0 of this tag."""
        return self._key(uid, _NTAG_AID, 0)

    def ntag_meta_key(self) -> bytes:
        """The SDM meta-read key (site-wide: it decrypts PICCData, which names the UID)."""
        return self._key(b"", _NTAG_AID, 1)

    def ntag_file_key(self, uid: bytes) -> bytes:
        """The SDM file-read key of this tag (its SUN MAC)."""
        return self._key(uid, _NTAG_AID, 2)
