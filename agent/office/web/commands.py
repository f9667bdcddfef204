"""``gate-office web ...`` and ``gate-office audit verify``: the office workplace's commands.

They parse their own flags (the rest of ``gate-office`` speaks MQTT; these do not).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from pathlib import Path

from agent.errors import ConfigError, GateError
from agent.office.answers import OK, REFUSED, USAGE

DEFAULT_PORT = 8480


def _env(name: str, default: str = "") -> str:
    return os.environ.get(f"GATE_OFFICE_WEB_{name}", default)


def _state_default() -> str:
    systemd = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    return _env("STATE") or (f"{systemd}/web" if systemd else "var/office-web")


def _where(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--database",
        default=_env("DATABASE"),
        help="the office database: a SQLite file (the demo) or postgresql://... "
        "(default: STATE/office-web.sqlite3; $GATE_OFFICE_WEB_DATABASE)",
    )
    p.add_argument(
        "--state",
        default=_state_default(),
        help="folder of the secret key, field key (unless $GATE_OFFICE_WEB_FIELD_KEY) and "
        "compiled catalogues (default $STATE_DIRECTORY/web, else ./var/office-web)",
    )
    p.add_argument(
        "--timezone",
        default=_env("TIMEZONE") or os.environ.get("GATE_OFFICE_TIMEZONE") or "Asia/Shanghai",
        help="the site's zone for every time shown (default Asia/Shanghai; "
        "$GATE_OFFICE_WEB_TIMEZONE, else $GATE_OFFICE_TIMEZONE)",
    )
    p.add_argument(
        "--site-language",
        choices=["zh-hans", "en"],
        default=_env("LANGUAGE", "zh-hans"),
        help="pages' language for people who chose none, and the sign-in page "
        "(default zh-hans; $GATE_OFFICE_WEB_LANGUAGE)",
    )
    p.add_argument(
        "--events-db",
        default=os.environ.get("GATE_OFFICE_DB", ""),
        help="the gates' event store (gate-office --db), for pages that show events",
    )
    p.add_argument(
        "--site-key",
        default=_env("SITE_KEY") or os.environ.get("GATE_OFFICE_SITE_KEY", ""),
        help="the site key file gates hash card numbers with (cards; $GATE_OFFICE_SITE_KEY)",
    )


def _desk_reader(text: str) -> str:
    if text in ("wedge", "sim") or (text.startswith("nfc:") and len(text) > 4):
        return text
    raise argparse.ArgumentTypeError("wedge, sim or nfc:PATH (an nfcpy path, e.g. nfc:usb)")


def _web_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gate-office web", description="the office workplace")
    sub = parser.add_subparsers(dest="web_cmd", required=True, metavar="COMMAND")
    p = sub.add_parser("init", help="make the keys (where missing) and migrate the database")
    _where(p)
    p = sub.add_parser("migrate", help="bring the database to the current schema")
    _where(p)
    p = sub.add_parser("createstaff", help="a staff account with a role (the first manager)")
    _where(p)
    p.add_argument("username")
    p.add_argument("--role", required=True,
                   choices=["manager", "clerk", "guard supervisor", "auditor"])  # fmt: skip
    p.add_argument("--password-file", help="read the password from this file (else asked)")
    p.add_argument("--language", choices=["zh-hans", "en"], default="zh-hans")
    p = sub.add_parser("demo", help="load the demo register into an empty SQLite database")
    _where(p)
    p = sub.add_parser("push-guards", help="send the guard accounts kept here to the gates "
                       "(GATE_OFFICE_HOST, ..., GATE_OFFICE_WEB_GUARD_GATES)")  # fmt: skip
    _where(p)
    p = sub.add_parser("purge", help="erase personal data of residents who moved out long ago")
    _where(p)
    p.add_argument("--retention-months", type=int, default=None,
                   help="months kept after a move-out (default: the setting, 12)")  # fmt: skip
    p.add_argument("--dry-run", action="store_true", help="only count who would be purged")
    p = sub.add_parser("serve", help="serve the workplace (uvicorn, ASGI)")
    _where(p)
    p.add_argument("--host", default=_env("BIND", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(_env("PORT", str(DEFAULT_PORT))))
    p.add_argument("--tls-cert", default=_env("TLS_CERT"), help="serve TLS with this certificate")
    p.add_argument("--tls-key", default=_env("TLS_KEY"), help="... and this key")
    p.add_argument("--proxy", action="store_true", default=_env("PROXY") == "1",
                   help="behind a reverse proxy: trust its X-Forwarded-* headers")  # fmt: skip
    p.add_argument("--allowed-host", action="append", default=None,
                   help="a host name the office is reached by (repeatable)")  # fmt: skip
    p.add_argument("--key", default=_env("PASS_KEY"),
                   help="the office's Ed25519 key that signs visitor passes")  # fmt: skip
    p.add_argument("--office-config", default=_env("OFFICE_CONFIG"),
                   help="office.toml of `gate-office serve`: the broker that takes visitor "
                   "passes and revocations to the gates (and the key, unless --key)")  # fmt: skip
    p.add_argument("--desk-reader", type=_desk_reader, default=_env("DESK_READER", "wedge"),
                   help="wedge: a keyboard-wedge reader types into the card field; sim: "
                   "a simulated desk reader on the page (demo, tests); nfc:PATH: a USB NFC "
                   "reader on this PC through nfcpy (nfc:usb, nfc:tty:USB0:pn532)")  # fmt: skip
    from agent.office.web.cards import deliver_cmd

    deliver_cmd.add_parser(sub, _where)
    return parser


def _audit_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gate-office audit", description="the audit log")
    sub = parser.add_subparsers(dest="audit_cmd", required=True, metavar="COMMAND")
    p = sub.add_parser("verify", help="walk the hash chain; exit 1 at the first bad entry")
    _where(p)
    return parser


def _setup(args: argparse.Namespace) -> None:
    from agent.office.web import boot

    state = Path(args.state)
    if args.site_key:
        os.environ["GATE_OFFICE_WEB_SITE_KEY"] = str(Path(args.site_key).resolve())
    if getattr(args, "desk_reader", None):
        os.environ["GATE_OFFICE_WEB_DESK_READER"] = args.desk_reader
    if getattr(args, "web_cmd", "") == "init":
        for made in boot.make_keys(state):
            print(f"made {made} (keep it out of the database's backups' reach)")
    from agent.office.zone import site_zone

    args.timezone = args.timezone or _env("TIMEZONE") or "Asia/Shanghai"  # deliver's may be ""
    site_zone(args.timezone)  # a mistyped zone is told now, in one line
    if args.site_language not in ("zh-hans", "en"):
        raise ConfigError(f"$GATE_OFFICE_WEB_LANGUAGE {args.site_language!r}: zh-hans or en")
    os.environ["GATE_OFFICE_WEB_TIMEZONE"] = args.timezone
    os.environ["GATE_OFFICE_WEB_LANGUAGE"] = args.site_language
    database = args.database or str(state / "office-web.sqlite3")
    boot.configure(database, state, args.events_db or None)


def _migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def _read_password(args: argparse.Namespace) -> str:
    if args.password_file:
        return Path(args.password_file).read_text().strip()
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise ConfigError("the two passwords differ")
    return first


def _create_staff(args: argparse.Namespace) -> None:
    from django.contrib.auth.models import Group, User
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    from agent.office.web.staff.models import StaffProfile

    if User.objects.filter(username=args.username).exists():
        raise ConfigError(f"staff account {args.username!r} exists already")
    password = _read_password(args)
    user = User(username=args.username)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ConfigError(" ".join(str(m) for m in exc.messages)) from None
    user.set_password(password)
    user.save()
    user.groups.add(Group.objects.get(name=args.role))
    StaffProfile.objects.create(user=user, language=args.language)
    print(f"staff account {args.username} ({args.role}) created")


def _push_guards() -> int:
    from agent.office.web.guards import push

    if not push.configured():
        raise ConfigError("set GATE_OFFICE_HOST and GATE_OFFICE_WEB_GUARD_GATES (docs/office.md)")
    done = push.push_recorded(f"{getpass.getuser()} (gate-office web push-guards)")
    print(f"guard accounts version {done.version} ({done.count} account(s)):")
    for row in done.report:
        state = f"holds it ({row['count']})" if row.get("ok") else f"FAILED {row.get('error')}"
        print(f"  {row['site']}/{row['gate']}: {state}")
    return OK if all(row.get("ok") for row in done.report) else REFUSED


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    if bool(args.tls_cert) != bool(args.tls_key):
        raise ConfigError("--tls-cert and --tls-key go together")
    if args.proxy:
        os.environ["GATE_OFFICE_WEB_PROXY"] = "1"
    if args.tls_cert or args.proxy:
        os.environ["GATE_OFFICE_WEB_TLS"] = "1"
    if args.allowed_host:
        os.environ["GATE_OFFICE_WEB_HOSTS"] = ",".join(args.allowed_host)
    for name, value in (("PASS_KEY", args.key), ("OFFICE_CONFIG", args.office_config)):
        if value:
            os.environ[f"GATE_OFFICE_WEB_{name}"] = str(Path(value).resolve())
    _setup(args)
    uvicorn.run(
        "agent.office.web.asgi:application",
        host=args.host,
        port=args.port,
        ssl_certfile=args.tls_cert or None,
        ssl_keyfile=args.tls_key or None,
        proxy_headers=args.proxy,
        forwarded_allow_ips="*" if args.proxy else None,
        timeout_keep_alive=5,
        log_level="warning",
    )


def web_main(argv: list[str]) -> int:
    """``gate-office web COMMAND``."""
    args = _web_parser().parse_args(argv)
    if args.web_cmd == "serve":
        _serve(args)
        return OK
    if args.web_cmd == "deliver":
        from agent.office.web.cards import deliver_cmd

        return deliver_cmd.main(args, _setup)
    _setup(args)
    if args.web_cmd in ("init", "migrate"):
        _migrate()
        print(f"office database {args.database or Path(args.state) / 'office-web.sqlite3'} ready")
    elif args.web_cmd == "createstaff":
        _create_staff(args)
    elif args.web_cmd == "demo":
        from agent.office.web.demo import load_demo

        _migrate()
        for line in load_demo():
            print(line)
    elif args.web_cmd == "purge":
        _purge(args)
    elif args.web_cmd == "push-guards":
        return _push_guards()
    return OK


def _purge(args: argparse.Namespace) -> None:
    from django.conf import settings
    from django.utils import timezone

    from agent.office.web.register import retention

    months = args.retention_months
    if months is None:
        months = settings.GATE_OFFICE_RETENTION_MONTHS
    if months < 1:
        raise ConfigError("--retention-months must be 1 or more")
    print(retention.purge(timezone.now(), months, dry_run=args.dry_run).summary())


def audit_main(argv: list[str]) -> int:
    """``gate-office audit verify``: exit 1 naming the first bad entry."""
    args = _audit_parser().parse_args(argv)
    _setup(args)
    from agent.office.web.audit import chain

    verdict = chain.verify()
    if verdict.intact:
        print(f"audit log intact: {verdict.entries} entries, head {verdict.head}")
        return OK
    print(f"audit entry {verdict.bad_position}: {verdict.problem} "
          f"({verdict.entries} entries before it hold)", file=sys.stderr)  # fmt: skip
    return REFUSED


def run(main: Callable[[list[str]], int], argv: list[str]) -> int:
    """One of the two mains with the office's exit codes (2 usage, 1 refused)."""
    from django.db import Error as DatabaseError

    try:
        return int(main(argv))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else USAGE
    except GateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE
    except DatabaseError as exc:
        print(f"error: the office database cannot be used: {exc}".strip(), file=sys.stderr)
        return USAGE


def cmd_web(args: argparse.Namespace) -> int:
    """``gate-office web ...`` from the main parser."""
    return run(web_main, ["--help"] * args.sub_help + list(args.rest))


def cmd_audit(args: argparse.Namespace) -> int:
    """``gate-office audit ...`` from the main parser."""
    return run(audit_main, ["--help"] * args.sub_help + list(args.rest))
