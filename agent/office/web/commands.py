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
from agent.office.web.command_flags import audit_parser, env, web_parser


def _setup(args: argparse.Namespace) -> None:
    from agent.office.web import boot

    state = Path(args.state)
    if args.site_key:
        os.environ["GATE_OFFICE_WEB_SITE_KEY"] = str(Path(args.site_key).resolve())
    if getattr(args, "site_master_key", None):
        os.environ["GATE_OFFICE_WEB_SITE_MASTER_KEY"] = str(Path(args.site_master_key).resolve())
    if getattr(args, "desk_reader", None):
        os.environ["GATE_OFFICE_WEB_DESK_READER"] = args.desk_reader
    if getattr(args, "web_cmd", "") == "init":
        for made in boot.make_keys(state):
            print(f"made {made} (keep it out of the database's backups' reach)")
    from agent.office.zone import site_zone

    args.timezone = args.timezone or env("TIMEZONE") or "Asia/Shanghai"  # deliver's may be ""
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
    args = web_parser().parse_args(argv)
    if args.web_cmd == "serve":
        _serve(args)
        return OK
    if args.web_cmd == "digest" and args.office_config:
        os.environ["GATE_OFFICE_WEB_OFFICE_CONFIG"] = str(Path(args.office_config).resolve())
    if args.web_cmd == "deliver":
        from agent.office.web.cards import deliver_cmd

        return deliver_cmd.main(args, _setup)
    if args.web_cmd == "watch":
        from agent.office.web.cases import watch_cmd

        return watch_cmd.main(args, _setup)
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
    elif args.web_cmd == "digest":
        from agent.office.web.cases import digest

        return digest.main(args)
    return OK


def _purge(args: argparse.Namespace) -> None:
    from django.conf import settings
    from django.utils import timezone

    from agent.office.web.register import retention
    from agent.office.web.visitors.retention import purge_passes

    months = args.retention_months
    if months is None:
        months = settings.GATE_OFFICE_RETENTION_MONTHS
    days = args.visitor_retention_days
    if days is None:
        days = settings.GATE_OFFICE_VISITOR_RETENTION_DAYS
    if months < 1:
        raise ConfigError("--retention-months must be 1 or more")
    if days < 1:
        raise ConfigError("--visitor-retention-days must be 1 or more")
    now = timezone.now()
    print(retention.purge(now, months, dry_run=args.dry_run).summary())
    print(purge_passes(now, days, dry_run=args.dry_run).summary())


def audit_main(argv: list[str]) -> int:
    """``gate-office audit verify``: exit 1 naming the first bad entry."""
    args = audit_parser().parse_args(argv)
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
