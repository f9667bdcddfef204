"""What ``gate-office`` tells a person: one outcome per run, its exit code and its words."""

from __future__ import annotations

import json
import sys
from datetime import tzinfo
from typing import Any

from agent.errors import FatalError, GateError, RetryableError
from agent.office.zone import local_text

OK, REFUSED, USAGE, NO_ANSWER = 0, 1, 2, 3
INTERRUPTED = 130  # 128 + SIGINT, as shells report it
EXIT_CODES: dict[int, str] = {
    OK: "done: the gate answered ok (status: the gate is online)",
    REFUSED: "refused: by the gate (its reason is printed) or before sending (a bad input file)",
    USAGE: "usage or configuration: bad flags, no --site/--gate, an unreadable key or password",
    NO_ANSWER: "no answer: broker unreachable, gate unknown or offline, no ack within --timeout",
    INTERRUPTED: "interrupted (Ctrl-C); `events tail` ends 0, Ctrl-C is how it stops",
}

# what a person can do about each reason a gate refuses an office message for
HINTS = {
    "bad_signature": "is the office key the one the gate has?",
    "no_key": "the gate has no office_public_key in its [mqtt] section",
    "stale": "is this computer's clock right? the gate takes messages within max_clock_skew_s",
    "replayed": "the gate has seen this very message before; send the command again",
    "unsigned": "the gate takes signed messages only",
    "too_big": "the message is over the gate's max_payload_bytes (allow-lists: a smaller --chunk)",
}


class Refused(GateError):
    """The gate answered no (or the input was refused before anything was sent)."""


class NoAnswer(GateError):
    """Nothing usable came back: the broker, the gate's status or its ack is missing."""


def exit_code(exc: GateError) -> int:
    if isinstance(exc, NoAnswer | RetryableError):
        return NO_ANSWER
    if isinstance(exc, FatalError):  # ConfigError too: a key, a password, a flag
        return USAGE
    return REFUSED


def exit_help() -> str:
    """The exit codes as ``--help`` shows them."""
    lines = [f"  {code}  {meaning}" for code, meaning in EXIT_CODES.items()]
    return "exit codes:\n" + "\n".join(lines) + "\n"


def gate_reason(error: str) -> str:
    """``authentication failed: bad_signature: <detail>`` -> ``bad_signature: <hint>``."""
    text = error.removeprefix("authentication failed: ")
    reason = text.split(":", 1)[0]
    hint = HINTS.get(reason) if text != error else None
    return f"{reason}: {hint}" if hint else error


def refused(ack: dict[str, Any]) -> Refused:
    return Refused(f"refused by the gate: {gate_reason(str(ack.get('error')))}")


def show(data: Any, as_json: bool, text: str) -> None:
    """``data`` as JSON with ``--json``, else the sentence ``text``."""
    print(json.dumps(data, indent=2, default=str) if as_json else text)
    sys.stdout.flush()


def when(value: object, zone: tzinfo | None = None) -> str:
    """An ISO time from a gate in the site's zone (None: this computer's), to the second,
    with its UTC offset: 2026-06-10 09:00:00+02:00."""
    return local_text(str(value), zone).replace("T", " ", 1)


def offline_text(status: dict[str, Any], zone: tzinfo | None = None) -> str:
    if status.get("time"):
        return f"offline since {when(status['time'], zone)}"
    return "offline (its connection dropped; the broker's last-will status carries no time)"


def status_text(name: str, status: dict[str, Any], zone: tzinfo | None = None) -> str:
    """A gate's retained status in a few lines (times in ``zone``, the site's)."""
    if not status.get("online"):
        return f"gate {name}: {offline_text(status, zone)}"
    version, size = status.get("allowlist_version"), status.get("allowlist_size")
    listed = f"allow-list version {version} ({size} entries)" if version else "no allow-list"
    head = f"gate {name}: online"
    if status.get("time"):
        head += f" (status of {when(status['time'], zone)})"
    head += f", mode {status.get('mode')}{', lockdown on' if status.get('lockdown') else ''}"
    head += ", FIRE input active" if status.get("fire_alarm") else ""
    trusted = "trusted" if status.get("clock_trusted") else "NOT trusted"
    facts = [listed, f"outbox {status.get('outbox_depth')}",
             f"config revision {status.get('config_revision')}", f"clock {trusted}"]  # fmt: skip
    if status.get("version"):
        facts.append(f"software {status['version']}")
    lines = [head, "  " + ", ".join(facts)]
    for door, d in (status.get("doors") or {}).items():
        opened = {None: "no contact", True: "open", False: "closed"}[d.get("open")]
        state = "released" if d.get("released") else "locked" if d.get("locked") else "unlocked"
        flags = "".join(f", {f.upper()}" for f in ("forced", "held") if d.get(f))
        lines.append(f"  door {door}: {state}, {opened}{flags}")
    return "\n".join(lines)


def ack_text(name: str, ack: dict[str, Any]) -> str:
    """A command's ok ack as one sentence (``cmd status`` as the status lines)."""
    result = ack.get("result") or {}
    if ack.get("command") == "status":
        allow = result.get("allowlist") or {}
        flat = {**result, "online": True, "allowlist_version": allow.get("version"),
                "allowlist_size": allow.get("size")}  # fmt: skip
        return status_text(name, flat)
    words = [f"mode {result['mode']}"] if "mode" in result else []
    if "lockdown" in result:
        words.append(f"lockdown {'on' if result['lockdown'] else 'off'}")
    if result.get("pending"):
        words.append(f"pending: {result['pending']}")
    if result.get("held_by"):
        words.append(f"the release is held by {result['held_by']}")
    return f"ok: {ack.get('command')} done at gate {name}; " + ", ".join(words)
