"""What a pass code says, and whether the office signed it, checked with no network.

A code shown at the gate is the full signed text or the short code of a pass the office
delivered; a delivery must be genuine and for this gate. Codes are bearer credentials:
nothing here logs them.
"""

from __future__ import annotations

from agent.core.passes import PassReason
from agent.errors import Rejected
from agent.models.config import GateConfig
from agent.models.keys import parse_public_key
from agent.models.pass_codec import PassFormatError, SignedPass, decode, normalise_short
from agent.models.passes import MAX_CODE_CHARS
from agent.store.passes import PassStore


class PassCodes:
    """Reads shown codes and delivered passes against the office's public key."""

    def __init__(self, config: GateConfig, store: PassStore) -> None:
        key_text = config.mqtt.office_public_key
        self._key = parse_public_key(key_text) if key_text else None
        self._site, self._gate = config.gate.site, config.gate.gate_id
        self._store = store

    def read(self, code: object, via: str) -> tuple[SignedPass | None, PassReason | None]:
        """The pass behind ``code`` and, when it cannot be let in on its face, why not."""
        if not isinstance(code, str) or len(code) > MAX_CODE_CHARS:
            return None, PassReason.MALFORMED
        text: str | None = code
        if via == "short_code":
            short = normalise_short(code)
            if short is None:
                return None, PassReason.MALFORMED
            text = self._store.by_short_code(short)
            if text is None:
                return None, PassReason.UNKNOWN
        assert text is not None
        try:
            signed = decode(text)
        except PassFormatError:
            return None, PassReason.MALFORMED
        if self._key is None or not signed.verify(self._key):
            return signed, PassReason.FORGED
        return signed, None

    def genuine(self, index: int, code: str) -> SignedPass:
        """Delivered pass ``index``, refused whole unless the office signed it for here."""
        try:
            signed = decode(code)
        except PassFormatError as exc:
            raise Rejected(f"deliver.{index}: {exc}") from None
        vp = signed.visitor_pass
        if self._key is None or not signed.verify(self._key):
            raise Rejected(f"deliver.{index}: pass {vp.id} is forged (not the office key's)")
        if vp.site != self._site or vp.gate not in (None, self._gate):
            raise Rejected(f"deliver.{index}: pass {vp.id} is for {vp.site}/{vp.gate or '*'}")
        return signed
