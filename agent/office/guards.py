"""``gate-office guards push FILE`` and ``guards hash``: console accounts for gates.

The file (CSV with a header, or a JSON list) has ``guard_id`` and either
``password_hash`` (from ``guards hash``) or ``password`` (hashed here; only the hash
ever leaves the office), and optionally ``disabled``. The gate swaps its whole list
in one step and acks the version it holds.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agent.errors import ConfigError
from agent.models.guards import GuardEntry, GuardList
from agent.models.problems import error_list
from agent.office import group, options
from agent.office.answers import NoAnswer, Refused, show
from agent.office.presence import online_status, site_statuses
from agent.store.passwords import hash_password, read_password

FLAGS = {"1", "true", "yes", "y"}


def read_guards(path: Path) -> list[GuardEntry]:
    """Every row checked; one bad row refuses the file (line numbers in the message)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        rows: list[Any] = (
            json.loads(text) if path.suffix == ".json" else list(csv.DictReader(io.StringIO(text)))
        )
    except ValueError as exc:
        raise ConfigError(f"{path}: not JSON: {exc}") from None
    if not isinstance(rows, list):
        raise ConfigError(f"{path}: a JSON list of accounts is needed")
    entries, problems = [], []
    for line, row in enumerate(rows, start=2 if path.suffix != ".json" else 1):
        try:
            entries.append(_entry(row))
        except (ValidationError, ValueError, TypeError) as exc:
            detail = "; ".join(f"{p}: {m}" for p, m in error_list(exc)) if isinstance(
                exc, ValidationError) else str(exc)  # fmt: skip
            problems.append((f"{'row' if path.suffix == '.json' else 'line'} {line}", detail))
    if problems:
        raise ConfigError(f"{path}: nothing was sent", problems[:20])
    try:
        GuardList(version=1, guards=entries)
    except ValidationError as exc:
        raise ConfigError(f"{path}: nothing was sent", error_list(exc)) from None
    return entries


def _entry(row: Any) -> GuardEntry:
    if not isinstance(row, dict):
        raise TypeError("an account is an object (a CSV row)")
    row = {k: v for k, v in row.items() if v not in ("", None)}
    password = row.pop("password", None)
    if password is not None:
        if "password_hash" in row:
            raise ValueError("give password or password_hash, not both")
        if not isinstance(password, str) or len(password) < 10:
            raise ValueError("password: at least 10 characters")
        row["password_hash"] = hash_password(password)
    disabled = row.get("disabled")
    if isinstance(disabled, str):
        row["disabled"] = disabled.strip().lower() in FLAGS
    return GuardEntry.model_validate(row)


def push_guards(args: argparse.Namespace, entries: list[GuardEntry]) -> dict[str, Any]:
    topics = options.topics(args)
    version = args.version or int(time.time() * 1000)  # newer than any earlier push
    message = GuardList(version=version, guards=entries)
    with options.link(args, [site_statuses(topics), topics.guards_ack]) as link:
        online_status(link, topics, "the guard accounts")
        link.send(topics.guards_set, message.model_dump(mode="json"))
        ack = link.expect(topics.guards_ack, timeout=args.timeout)
    if ack is None:
        raise NoAnswer(
            f"gate {topics.site}/{topics.gate} is online but did not acknowledge the guard "
            f"accounts within {args.timeout:g} s; nothing is known to have changed"
        )
    if not ack.get("ok"):
        raise Refused(f"refused by the gate: the guard accounts: {ack.get('error')} "
                      f"{'; '.join(ack.get('errors') or [])}".rstrip())  # fmt: skip
    return {"ok": True, "version": ack.get("version"), "count": ack.get("count")}


def cmd_guards_push(args: argparse.Namespace) -> int:
    entries = read_guards(Path(args.file))
    if args.to:
        return group.each_gate(args, lambda one: push_guards(one, entries), "guard accounts")
    held = push_guards(args, entries)
    text = (f"gate {args.site}/{args.gate} holds guard accounts version {held['version']} "
            f"({held['count']} account(s))")  # fmt: skip
    show({**held, "site": args.site, "gate": args.gate}, args.json, text)
    return 0


def cmd_guards_hash(args: argparse.Namespace) -> int:
    """A password hash for the file's ``password_hash`` column (password: prompt/stdin)."""
    password = read_password("guard password: ")
    if len(password) < 10:
        raise ConfigError("a guard password needs at least 10 characters")
    print(hash_password(password))
    return 0
