"""The digest on its way: by mail through SMTP (the standard library's smtplib, STARTTLS
and a login when configured) and to the office's alert hook (one JSON object on stdin).

Every failure is a ``DigestError`` of one line: the command prints it and exits non-zero.
"""

from __future__ import annotations

import json
import smtplib
import socket
import ssl
import subprocess
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from agent.errors import GateError
from agent.models.digest import DigestSettings

HOOK_TIMEOUT_S = 60


class DigestError(GateError):
    """The digest could not be sent (or there is nowhere to send it)."""


def one_line(exc: BaseException) -> str:
    """An exception's text on one line (SMTP replies may span several)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def _path(path: Path, base: Path | None) -> Path:
    return path if path.is_absolute() or base is None else base / path


def message(digest: DigestSettings, subject: str, body: str) -> EmailMessage:
    """The mail: plain text, UTF-8, to every recipient."""
    if not digest.to:
        raise DigestError("no recipients: set to = [...] in [workplace.digest]")
    mail = EmailMessage()
    mail["Subject"] = subject
    mail["From"] = digest.sender or f"gate-office@{socket.getfqdn()}"
    mail["To"] = ", ".join(digest.to)
    mail["Date"] = formatdate(localtime=True)
    mail["Message-ID"] = make_msgid(domain="gate-office")
    mail.set_content(body)
    return mail


def send_mail(digest: DigestSettings, mail: EmailMessage, base: Path | None = None) -> None:
    """Hand ``mail`` to the configured server; paths relative to ``base`` (the config's folder)."""
    where = f"{digest.host}:{digest.port}"
    password = ""
    if digest.password_file is not None:
        try:
            password = _path(digest.password_file, base).read_text().strip()
        except OSError as exc:
            raise DigestError(f"mail password file: {one_line(exc)}") from None
    try:
        with smtplib.SMTP(digest.host, digest.port, timeout=digest.timeout_s) as smtp:
            if digest.starttls:
                ca = _path(digest.ca_file, base) if digest.ca_file else None
                smtp.starttls(context=ssl.create_default_context(cafile=ca))
            if digest.username is not None:
                smtp.login(digest.username, password)
            smtp.send_message(mail)
    except smtplib.SMTPAuthenticationError as exc:
        raise DigestError(
            f"the mail server {where} refused the login of {digest.username!r}: {exc.smtp_code}"
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        refused = ", ".join(sorted(exc.recipients))
        raise DigestError(f"the mail server {where} refused the recipients {refused}") from None
    except (smtplib.SMTPException, OSError) as exc:  # ssl.SSLError is an OSError
        raise DigestError(f"the mail server {where} cannot be used: {one_line(exc)}") from None


def send_hook(hook: list[str], payload: dict[str, Any]) -> None:
    """Run the alert hook with ``payload`` as one JSON line on stdin and wait for it."""
    if not hook:
        raise DigestError("hook = true in [workplace.digest], but [alerts] hook is empty")
    data = json.dumps(payload, ensure_ascii=False, default=str).encode() + b"\n"
    try:
        done = subprocess.run(hook, input=data, timeout=HOOK_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DigestError(f"the alert hook {hook[0]}: {one_line(exc)}") from None
    if done.returncode != 0:
        raise DigestError(f"the alert hook {hook[0]} exited with {done.returncode}")
