"""The optional second factor: TOTP (RFC 6238, 6 digits, 30 s) from ``cryptography``.

The secret is sealed with the field key like ID numbers (never plain in the database);
a code is accepted one step either side of now, and never twice (the last step used is
kept), so a code seen over a shoulder cannot be replayed.
"""

from __future__ import annotations

import base64
import secrets
import time

import segno
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor import InvalidToken
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction

from agent.office.web.register.sealing import seal, unseal
from agent.office.web.staff.models import TotpDevice

DIGITS = 6
STEP_S = 30
ISSUER = "gate-office"


def _totp(secret: bytes) -> TOTP:
    return TOTP(secret, DIGITS, SHA1(), STEP_S)  # SHA-1: what authenticator apps read


def secret_of(device: TotpDevice) -> bytes:
    """The device's raw secret."""
    return base64.b32decode(unseal(device.sealed_secret))


def code_at(secret: bytes, when: float) -> str:
    """The code an authenticator shows at ``when`` (tests and nothing else need it)."""
    return _totp(secret).generate(when).decode()


def enrolled(user: AbstractBaseUser | AnonymousUser) -> bool:
    """True when the person's sign-in asks for a code."""
    pk = user.pk
    return pk is not None and TotpDevice.objects.filter(user_id=pk, confirmed=True).exists()


def start_enrolment(user: AbstractBaseUser) -> TotpDevice:
    """The person's device; a new unconfirmed secret when there is none (the QR code shown
    stays the same until it is confirmed or a manager resets it)."""
    device = TotpDevice.objects.filter(user_id=user.pk).first()
    if device is not None:
        return device
    secret = base64.b32encode(secrets.token_bytes(20)).decode()
    return TotpDevice.objects.create(user_id=user.pk, sealed_secret=seal(secret))


def provisioning_uri(device: TotpDevice, username: str) -> str:
    """The ``otpauth://`` URI an authenticator app scans."""
    return _totp(secret_of(device)).get_provisioning_uri(username, ISSUER)


def qr_data_uri(uri: str) -> str:
    """The URI as a QR code in an SVG data URI (an ``<img>`` source in the template)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5))


def accept(device: TotpDevice, code: str, now: float | None = None) -> bool:
    """True for a right code not used before; marks its step used (and confirms the device)."""
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return False
    now = time.time() if now is None else now
    totp = _totp(secret_of(device))
    with transaction.atomic():
        device = TotpDevice.objects.select_for_update().get(pk=device.pk)
        for step in (0, -1, 1):
            at = now + step * STEP_S
            number = int(at // STEP_S)
            if number <= device.last_step:
                continue
            try:
                totp.verify(code.encode(), int(at))
            except InvalidToken:
                continue
            TotpDevice.objects.filter(pk=device.pk).update(last_step=number, confirmed=True)
            return True
    return False


def remove(user: AbstractBaseUser) -> bool:
    """The person's device gone (a manager's reset); True when there was one."""
    deleted, _ = TotpDevice.objects.filter(user_id=user.pk).delete()
    return deleted > 0


def secret_text(device: TotpDevice) -> str:
    """The secret in base32 groups of four, for typing into an app that cannot scan."""
    text = unseal(device.sealed_secret)
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))
