"""``gate-office pass issue | push | revoke``: visitor passes signed with the office key.

A pass works offline at any gate of its site (or the one gate it names) from its code
alone: the gate checks the signature against the office's public key. Its short code
works only where the pass was delivered ahead (``--push``, or ``pass push``). A
revocation is a signed ``cmd/pass`` message; a gate keeps it until the pass is over.
"""

from __future__ import annotations

import argparse
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from agent.errors import ConfigError, GateError
from agent.link.signing import load_private_key
from agent.models.pass_codec import (
    PassFormatError,
    SignedPass,
    decode,
    display_short,
    is_code,
    new_pass_id,
    sign,
)
from agent.models.passes import PassPlate, PassUpdate, RevokedPass, VisitorPass
from agent.office import group, options
from agent.office.answers import NO_ANSWER, OK, REFUSED, NoAnswer, Refused, refused, show, when
from agent.office.places import current_user
from agent.office.presence import online_status, site_statuses
from agent.store.credentials import CredentialHasher, read_key_file
from agent.store.plates import plate_credential

_RELATIVE = re.compile(r"^\+(\d{1,6})([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
QR_SCALE = 8  # pixels a module: a phone screen or a print both scan well
QR_BORDER = 4  # the quiet zone the QR standard asks for


def parse_when(flag: str, text: str, now: datetime) -> datetime:
    """``+30m``, ``+4h``, ``+2d`` from now, or ISO 8601 (no offset: this computer's zone)."""
    try:
        if match := _RELATIVE.match(text.strip()):
            moment = now + timedelta(**{_UNITS[match[2]]: int(match[1])})
        else:
            moment = datetime.fromisoformat(text.strip()).astimezone()
    except (ValueError, OverflowError):
        raise ConfigError(f"{flag} {text!r}: an ISO 8601 time or +N[m|h|d]") from None
    return moment.astimezone(UTC).replace(microsecond=0)


def _signer(args: argparse.Namespace) -> Ed25519PrivateKey:
    return load_private_key(Path(args.key))


def cmd_pass_issue(args: argparse.Namespace) -> int:
    if not args.site:
        raise ConfigError("--site is needed (or GATE_OFFICE_SITE): a pass is for one site")
    key = _signer(args)
    now = datetime.now(UTC).replace(microsecond=0)
    doors = [d.strip() for d in (args.doors or "").split(",") if d.strip()] or None
    try:
        visitor_pass = VisitorPass(
            id=new_pass_id(),
            site=args.site,
            gate=None if args.any_gate else args.gate,
            unit=args.unit,
            valid_from=parse_when("--from", args.valid_from, now) if args.valid_from else now,
            valid_until=parse_when("--until", args.until, now),
            doors=doors,
            uses=args.uses,
            issued_at=now,
            issued_by=args.by or current_user()[:32],
        )
    except ValidationError as exc:
        problems = [(".".join(map(str, e["loc"])) or "pass", e["msg"].removeprefix("Value error, "))
                    for e in exc.errors()]  # fmt: skip
        raise ConfigError("the pass cannot be issued", problems) from None
    if doors:
        _check_doors(args, doors)
    plates = _plates(args, visitor_pass.id)
    signed = sign(visitor_pass, key)
    files = write_qr(signed, args.png, args.svg)
    report: list[dict[str, Any]] = []
    if args.push:
        report = send_to_gates(args, visitor_pass, deliver=[signed.text], plates=plates)
    data = {
        "pass": visitor_pass.model_dump(mode="json"),
        "code": signed.text,
        "short_code": display_short(signed.short_code),
        "files": files,
        "delivered": report,
        "plate": plates[0].masked if plates else None,
    }
    show(data, args.json, _issue_text(signed, files, report))
    return _worst(report)


def _plates(args: argparse.Namespace, pass_id: str) -> list[PassPlate]:
    """``--plate`` as the gates hash a camera's read of it (the site key); only the HMAC
    and the mask travel, and only with the pass they belong to."""
    if not getattr(args, "plate", None):
        return []
    if not getattr(args, "push", True):  # ``pass push`` always sends
        raise ConfigError("--plate needs --push: a plate reaches the gates only with its pass")
    if not args.site_key:
        raise ConfigError("--plate needs --site-key (or GATE_OFFICE_SITE_KEY) to hash it")
    found = plate_credential(args.plate, CredentialHasher(read_key_file(Path(args.site_key))))
    if isinstance(found, str):
        raise ConfigError(f"--plate {args.plate!r}: not a licence plate")
    return [PassPlate(pass_id=pass_id, plate=found[0], masked=found[1])]


def _check_doors(args: argparse.Namespace, doors: list[str]) -> None:
    """Refuse doors no target gate has, by the doors in the gates' last status the office
    stored; a gate it has no status of is named, and refused unless --allow-unknown-doors."""
    from agent.office.db import open_store
    from agent.office.options import database

    store = open_store(database(args))
    try:
        rows = [g for g in store.gates() if g.site == args.site]
    finally:
        store.close()
    if not args.any_gate:
        rows = [g for g in rows if g.gate == args.gate]
    known = {g.gate: set((g.last_status or {}).get("doors") or {}) for g in rows}
    unknown = [g for g, ds in known.items() if not ds] or ([] if rows else [args.gate or "*"])
    if unknown and not args.allow_unknown_doors:
        where = ", ".join(f"{args.site}/{g}" for g in unknown)
        raise Refused(
            f"the office does not know the doors of {where} (no status stored yet: is "
            "`gate-office serve` running?); give --allow-unknown-doors to issue anyway"
        )
    have = set().union(*known.values()) if known else set()
    missing = [d for d in doors if have and d not in have]
    if missing:
        gates = "every gate of " + args.site if args.any_gate else f"{args.site}/{args.gate}"
        raise Refused(
            f"no door {', '.join(missing)} at {gates}: it has {', '.join(sorted(have))}; "
            "a pass for it would be refused everywhere"
        )


def _issue_text(signed: SignedPass, files: dict[str, str], report: list[dict[str, Any]]) -> str:
    vp = signed.visitor_pass
    where = f"{vp.site}/{vp.gate}" if vp.gate else f"every gate of {vp.site}"
    lines = [
        f"pass {vp.id} for unit {vp.unit} at {where}",
        f"  valid {when(vp.valid_from.isoformat())} to {when(vp.valid_until.isoformat())}, "
        f"doors: {', '.join(vp.doors) if vp.doors else 'all'}, uses: {vp.uses}",
        f"  code: {signed.text}",
        f"  short code: {display_short(signed.short_code)}"
        + ("" if report else " (works once the pass is delivered: --push)"),
    ]
    lines += [f"  QR code ({kind}): {path}" for kind, path in files.items()]
    lines += [f"  delivered to {_row_text(row)}" for row in report]
    return "\n".join(lines)


def write_qr(signed: SignedPass, png: str | None, svg: str | None) -> dict[str, str]:
    """Write the pass's QR code as PNG and/or SVG; the paths written, by kind."""
    if not png and not svg:
        return {}
    try:
        import segno
    except ImportError:
        raise ConfigError(
            "writing QR codes needs segno: pip install 'gate-agent[office]'"
        ) from None
    # the code is upper-case base32 and dots: segno picks the compact alphanumeric mode
    qr = segno.make(signed.text, error="m", micro=False)
    written: dict[str, str] = {}
    if png:
        qr.save(png, kind="png", scale=QR_SCALE, border=QR_BORDER)
        written["png"] = str(png)
    if svg:
        title = f"visitor pass {signed.visitor_pass.id}"
        qr.save(svg, kind="svg", scale=QR_SCALE, border=QR_BORDER, title=title)
        written["svg"] = str(svg)
    return written


def cmd_pass_push(args: argparse.Namespace) -> int:
    """Deliver a pass issued before to more gates, so its short code works there."""
    signed = _own_pass(args, args.code)
    plates = _plates(args, signed.visitor_pass.id)  # the car goes with the pass, or is lost
    rows = send_to_gates(args, signed.visitor_pass, deliver=[signed.text], plates=plates)
    return _report(args, rows, f"pass {signed.visitor_pass.id} delivered")


def cmd_pass_revoke(args: argparse.Namespace) -> int:
    """Refuse a pass from now on, at every gate named (by pass id, or by its code)."""
    text = args.pass_
    if is_code(text):
        vp: VisitorPass | None = _own_pass(args, text).visitor_pass
        revoked = RevokedPass(id=vp.id, until=vp.valid_until) if vp else None
    else:
        vp = None
        try:
            revoked = RevokedPass(id=text.strip().lower())
        except ValidationError:
            raise ConfigError(f"{text!r} is neither a pass id (16 hex digits) nor a code") from None
    assert revoked is not None
    return _report(args, send_to_gates(args, vp, revoke=[revoked]), f"pass {revoked.id} revoked")


def _own_pass(args: argparse.Namespace, text: str) -> SignedPass:
    try:
        signed = decode(text)
    except PassFormatError as exc:
        raise ConfigError(f"not a pass code: {exc}") from None
    if not signed.verify(_signer(args).public_key()):
        raise Refused("this pass was not signed with this office's key (--key)")
    return signed


def send_to_gates(
    args: argparse.Namespace,
    vp: VisitorPass | None,
    revoke: list[RevokedPass] | None = None,
    deliver: list[str] | None = None,
    plates: list[PassPlate] | None = None,
) -> list[dict[str, Any]]:
    """Send the revocations and deliveries to every gate of ``--to`` (default: the pass's
    gate, else ``--site/--gate``); one row per gate, never raising for one gate's failure."""
    if not args.to:
        site = vp.site if vp else args.site
        gate = vp.gate if vp and vp.gate else args.gate
        if not site or not gate:
            raise ConfigError("which gates? give --to, or --site and --gate")
        args.to = f"{site}/{gate}"
    rows = []
    for site, gate in group.targets(args):
        one = argparse.Namespace(**{**vars(args), "site": site, "gate": gate})
        try:
            update = PassUpdate(request_id=uuid.uuid4().hex, revoke=revoke or [],
                                deliver=deliver or [], plates=plates or [])  # fmt: skip
            rows.append({"site": site, "gate": gate, "ok": True, **_send(one, update)})
        except GateError as exc:
            rows.append({"site": site, "gate": gate, "ok": False, "error": str(exc),
                         "no_answer": isinstance(exc, NoAnswer)})  # fmt: skip
    return rows


def _send(args: argparse.Namespace, update: PassUpdate) -> dict[str, Any]:
    topics = options.topics(args)
    with options.link(args, [site_statuses(topics), topics.cmd_ack]) as link:
        online_status(link, topics, "the passes")
        link.send(topics.cmd("pass"), update.model_dump(mode="json"))
        ack = link.expect(
            topics.cmd_ack, lambda m: m.get("request_id") == update.request_id, args.timeout
        )
    if ack is None:
        name = f"{topics.site}/{topics.gate}"
        raise NoAnswer(f"gate {name} is online but sent no answer in {args.timeout:g} s")
    if not ack.get("ok"):
        raise refused(ack)
    result: dict[str, Any] = ack.get("result") or {}
    return result


def _row_text(row: dict[str, Any]) -> str:
    state = "ok" if row["ok"] else f"FAILED {row.get('error')}"
    return f"{row['site']}/{row['gate']}: {state}"


def _worst(rows: list[dict[str, Any]]) -> int:
    """The exit code: 0 all answered ok, 3 one did not answer, else 1 (one refused)."""
    if all(r["ok"] for r in rows):
        return OK
    return NO_ANSWER if any(r.get("no_answer") for r in rows) else REFUSED


def _report(args: argparse.Namespace, rows: list[dict[str, Any]], what: str) -> int:
    lines = [f"{what} at {len(rows)} gate(s):"] + [f"  {_row_text(r)}" for r in rows]
    show({"ok": all(r["ok"] for r in rows), "gates": rows}, args.json, "\n".join(lines))
    return _worst(rows)
