"""``gate-office web digest``: the daily digest built from the dashboard's figures in the
site's language, mailed through a real local SMTP server (aiosmtpd; plain, and STARTTLS with
a login), handed to the alert hook, and every failure told in one line with a non-zero exit."""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword

from tests.office_web_rig import GOOD_ID, a_resident, db, gate_office, make_staff, office_web

__all__ = ["db", "office_web"]


class Inbox:
    """An aiosmtpd handler keeping every message it is given."""

    def __init__(self) -> None:
        self.mails: list[tuple[Envelope, email.message.EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        raw = envelope.content if isinstance(envelope.content, bytes) else b""
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        self.mails.append((envelope, parsed))  # type: ignore[arg-type]
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler, port = Inbox(), _free_port()
    server = Controller(handler, hostname="127.0.0.1", port=port)
    server.start()
    try:
        yield handler, port
    finally:
        server.stop()


@pytest.fixture
def tls_inbox(tmp_path: Path) -> Iterator[tuple[Inbox, int, Path]]:
    """A server that takes mail only after STARTTLS and a login (digest / right password)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def login(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"digest", b"right password")  # fmt: skip
        return AuthResult(success=ok, handled=False)  # False: the server answers 535

    handler, port = Inbox(), _free_port()
    server = Controller(handler, hostname="127.0.0.1", port=port, tls_context=context,
                        require_starttls=True, auth_required=True, authenticator=login)  # fmt: skip
    server.start()
    try:
        yield handler, port, cert
    finally:
        server.stop()


def _config(tmp_path: Path, digest: str, hook: list[str] | None = None) -> Path:
    path = tmp_path / "office.toml"
    hook_line = f"[alerts]\nhook = {json.dumps(hook)}\n" if hook else ""
    path.write_text(f'signing_key_file = "office.key"\n{hook_line}[workplace.digest]\n{digest}')
    return path


def _run(config: Path) -> int:
    from django.test import override_settings

    from agent.office.web.cases import digest

    with override_settings(GATE_OFFICE_CONFIG=str(config), GATE_OFFICE_EVENTS_DB=""):
        return digest.main(argparse.Namespace(print=False))


def _overdue_case(title: str = "Noise at night") -> Any:
    from django.utils import timezone

    from agent.office.web.cases.models import Case

    now = timezone.now()
    unit, owner = a_resident().household.unit, make_staff("owner", "clerk")
    return Case.objects.create(title=title, description="-", unit=unit, owner=owner,
                               received_at=now - timedelta(days=9),
                               due_at=now - timedelta(days=4))  # fmt: skip


def _drilled_plans() -> Any:
    """A fire plan drilled at 2026-12-01 09:15 Shanghai time and a flood plan never drilled;
    the fire drill returned."""
    from datetime import UTC, datetime

    from agent.office.web.plans.models import Drill, EmergencyPlan, PlanVersion

    drill = None
    for scenario in ("fire", "flood"):
        plan = EmergencyPlan.objects.create(scenario=scenario)
        approved = datetime(2026, 1, 5, tzinfo=UTC)
        version = PlanVersion.objects.create(plan=plan, number=1, title=scenario,
                                             drafted_by="manager", approved_by="manager",
                                             approved_at=approved)  # fmt: skip
        if scenario == "fire":
            at = datetime(2026, 12, 1, 1, 15, tzinfo=UTC)
            drill = Drill.objects.create(version=version, scheduled_at=at, scheduled_by="manager",
                                         request_id="req-1", started_at=at)  # fmt: skip
    return drill


def test_the_digest_is_mailed_in_the_sites_language_without_id_or_phone_numbers(
    db: None, tmp_path: Path, inbox: tuple[Inbox, int]
) -> None:
    handler, port = inbox
    _overdue_case("Call 13800138000 back")
    _drilled_plans()
    config = _config(tmp_path, f'host = "127.0.0.1"\nport = {port}\nfrom = "office@example.org"\n'
                               'to = ["manager@example.org", "clerk@example.org"]\n'
                               'language = "zh-hans"\n')  # fmt: skip
    assert _run(config) == 0
    ((envelope, mail),) = handler.mails
    assert envelope.rcpt_tos == ["manager@example.org", "clerk@example.org"]
    assert (
        mail["Subject"].startswith("[gate-office] 每日摘要 20")
        and mail["From"] == "office@example.org"
    )
    body = mail.get_content()
    colon = "\uff1a"  # the full-width colon of Chinese text
    assert f"已超期案件{colon}1" in body and "Call *** back" in body and "3-2-501" in body
    assert f"负责人{colon}owner" in body and "投诉: 0 / 0 / 0 / 1 (1)" in body
    assert "13800138000" not in body and GOOD_ID not in body and "张三" not in body
    assert "未指定事件库" in body  # no event store: the gates' part says so
    # the last drill per plan, as on the dashboard
    assert f"各预案最近一次演练{colon}\n  火灾: 2026-12-01 09:15\n  水灾: 从未演练\n" in body


def test_starttls_and_a_login_and_a_refused_one(
    db: None, tmp_path: Path, tls_inbox: tuple[Inbox, int, Path], capsys: Any
) -> None:
    handler, port, cert = tls_inbox
    (tmp_path / "mail.pw").write_text("right password\n")
    (tmp_path / "wrong.pw").write_text("wrong")
    settings = (f'host = "127.0.0.1"\nport = {port}\nstarttls = true\nca_file = "{cert}"\n'
                'username = "digest"\nto = ["manager@example.org"]\nlanguage = "en"\n')  # fmt: skip
    assert _run(_config(tmp_path, settings + 'password_file = "mail.pw"\n')) == 0
    ((_envelope, mail),) = handler.mails
    assert mail["Subject"].startswith("[gate-office] Daily digest ")
    assert "Overdue cases: 0" in mail.get_content()
    assert _run(_config(tmp_path, settings + 'password_file = "wrong.pw"\n')) == 1
    err = capsys.readouterr().err
    assert err == f"error: the mail server 127.0.0.1:{port} refused the login of 'digest': 535\n"
    no_tls = settings.replace("starttls = true", "starttls = false")
    assert _run(_config(tmp_path, no_tls + 'password_file = "mail.pw"\n')) == 1
    assert capsys.readouterr().err.count("\n") == 1 and len(handler.mails) == 1


def test_the_digest_goes_to_the_alert_hook_as_one_json_object(db: None, tmp_path: Path) -> None:
    _overdue_case()
    drill = _drilled_plans()
    got = tmp_path / "hook.json"
    hook = [sys.executable, "-c", f"import sys; open({str(got)!r}, 'w').write(sys.stdin.read())"]
    assert _run(_config(tmp_path, 'hook = true\nlanguage = "en"\n', hook)) == 0
    sent = json.loads(got.read_text())
    assert sent["alert"] == "digest" and sent["subject"].startswith("[gate-office] Daily digest")
    assert [c["title"] for c in sent["overdue"]] == ["Noise at night"]
    assert sent["open"]["complaint"] == [0, 0, 0, 1] and "Noise at night" in sent["text"]
    assert sent["last_drills"] == {
        "fire": {"drill": drill.pk, "started": "2026-12-01T01:15:00+00:00"},
        "flood": None,
    }
    assert (
        "Last drill per plan:\n  fire: 2026-12-01 09:15\n  flood: never drilled\n" in sent["text"]
    )
    failing = [sys.executable, "-c", "raise SystemExit(3)"]
    assert _run(_config(tmp_path, "hook = true\n", failing)) == 1


@pytest.fixture(scope="module")
def web_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    state = tmp_path_factory.mktemp("digest-web")
    made = gate_office("web", "init", "--state", str(state))
    assert made.returncode == 0, made.stderr
    return state


def test_the_command_sends_and_fails_in_one_line(
    web_state: Path, tmp_path: Path, inbox: tuple[Inbox, int]
) -> None:
    handler, port = inbox
    good = _config(tmp_path, f'host = "127.0.0.1"\nport = {port}\nto = ["a@example.org"]\n')
    sent = gate_office("web", "digest", "--state", str(web_state), "--office-config", str(good))
    assert sent.returncode == 0, sent.stderr
    assert len(handler.mails) == 1 and "每日摘要" in str(handler.mails[0][1]["Subject"])
    closed = _free_port()
    cases = [
        (f'host = "127.0.0.1"\nport = {closed}\nto = ["a@example.org"]\n', 1,
         f"error: the mail server 127.0.0.1:{closed} cannot be used: "),
        (f'host = "127.0.0.1"\nport = {port}\n', 1, "error: no recipients: "),
        ('language = "en"\n', 2, "error: nowhere to send the digest: "),
        ("hook = true\n", 1, "error: hook = true in [workplace.digest], but [alerts] hook is"),
    ]  # fmt: skip
    for settings, code, told in cases:
        config = _config(tmp_path, settings)
        done = gate_office(
            "web", "digest", "--state", str(web_state), "--office-config", str(config)
        )
        assert (done.returncode, done.stderr.count("\n")) == (code, 1), (settings, done.stderr)
        assert done.stderr.startswith(told) and "Traceback" not in done.stderr
    printed = gate_office("web", "digest", "--state", str(web_state), "--print")
    assert printed.returncode == 0 and printed.stdout.startswith("[gate-office] 每日摘要 ")


def test_the_digest_unit_and_its_timer() -> None:
    import shlex

    from tests.office_web_rig import ROOT

    service = (ROOT / "systemd" / "gate-office-web-digest.service").read_text()
    timer = (ROOT / "systemd" / "gate-office-web-digest.timer").read_text()
    (start,) = [line[len("ExecStart=") :] for line in service.splitlines()
                if line.startswith("ExecStart=")]  # fmt: skip
    argv = shlex.split(start)[1:]
    assert argv[:2] == ["web", "digest"] and "--office-config" in argv
    assert gate_office(*argv, "--help").returncode == 0
    assert (
        "Type=oneshot" in service
        and "Environment=GATE_OFFICE_WEB_FIELD_KEY=%d/field.key" in service
    )
    assert "Persistent=true" in timer and "OnCalendar=" in timer


def test_the_digest_names_gates_offline_and_alarms_not_acknowledged(office_web: Path) -> None:
    from datetime import UTC, datetime

    from agent.office.web.cases import dashboard, digest

    now = datetime(2026, 12, 7, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai
    gates = dashboard.Gates(
        offline=[dashboard.GateLine("s1/north", since=now - timedelta(hours=2))],
        alarms=[dashboard.GateLine("s1/south", alarms=2), dashboard.GateLine("s2/east", alarms=1)],
    )
    subject, body = digest.compose(dashboard.Dashboard(now, [], [], gates), "en")
    assert subject == "[gate-office] Daily digest 2026-12-07"
    assert "Gates offline: 1\n  s1/north (2026-12-07 06:30)\n" in body
    assert "Alarms not acknowledged: 3\n  s1/south: 2\n  s2/east: 1\n" in body
    sent = digest.payload(dashboard.Dashboard(now, [], [], gates), subject, body)
    assert sent["gates_offline"] == ["s1/north"]
    assert sent["alarms_unacknowledged"] == {"s1/south": 2, "s2/east": 1}


def test_the_digest_counts_a_behaviour_case_but_never_carries_its_title(
    db: None, tmp_path: Path
) -> None:
    from django.utils import timezone

    from agent.office.web.cases import dashboard, digest
    from agent.office.web.cases.models import Case

    case = _overdue_case("Fight on the stairs")
    Case.objects.filter(pk=case.pk).update(kind=Case.Kind.BEHAVIOUR)
    board = dashboard.build(timezone.now())
    subject, body = digest.compose(board, "en")
    sent = digest.payload(board, subject, body)
    assert f"#{case.pk}" in body and "Fight on the stairs" not in body
    assert sent["overdue"][0]["title"] == "-" and "Fight" not in json.dumps(sent)
