"""Guard console accounts at the office: added, passwords set, disabled, and pushed to a real
gate over real mosquitto with ``guards push``'s own code; each gate's answer on the page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.core.clock import SystemClock
from agent.link.wiring import attach
from agent.store.guards import GuardStore
from agent.store.passwords import verify_password
from tests.conftest import mqtt_table
from tests.office_web_rig import db, office_web, signed_in

__all__ = ["db", "office_web"]

GUARD_PASSWORD = "night shift passphrase 9"
PUSH_ENV = ("HOST", "PORT", "KEY", "SITE", "GATE", "DB")


@pytest.fixture
def no_push(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*PUSH_ENV, "WEB_GUARD_GATES"):
        monkeypatch.delenv(f"GATE_OFFICE_{name}", raising=False)


def _add(client: Any, guard_id: str, password: str = GUARD_PASSWORD) -> Any:
    form = {"guard_id": guard_id, "display_name": "李四", "password1": password,
            "password2": password}  # fmt: skip
    return client.post("/guards/", form)


def test_a_supervisor_adds_guards_hashed_as_the_gates_verify(db: None, no_push: None) -> None:
    from agent.office.web.audit.models import AuditEntry
    from agent.office.web.guards.models import GuardAccount

    supervisor = signed_in("guard supervisor")
    assert _add(supervisor, "li.si").status_code == 302
    guard = GuardAccount.objects.get(guard_id="li.si")
    assert guard.password_hash.startswith("scrypt$")
    assert verify_password(GUARD_PASSWORD, guard.password_hash)
    assert guard.entry().disabled is False
    assert AuditEntry.objects.filter(target="guard:li.si", reason="created").exists()
    for bad_id, password in (
        ("Li Si", GUARD_PASSWORD),
        ("wang", "short"),
        ("li.si", GUARD_PASSWORD),
    ):
        refused = _add(supervisor, bad_id, password)
        assert refused.status_code == 400 and 'class="errorlist' in refused.content.decode()
    assert GuardAccount.objects.count() == 1  # nothing half-saved
    page = supervisor.get("/guards/").content.decode()
    assert "li.si" in page and page.count('id="push-off"') == 1  # not configured: one line


def test_password_set_and_account_disabled(db: None, no_push: None) -> None:
    from agent.office.web.guards.models import GuardAccount

    manager = signed_in("manager")
    assert _add(manager, "zhao").status_code == 302
    guard = GuardAccount.objects.get(guard_id="zhao")
    new = {"password1": "another passphrase 77", "password2": "another passphrase 77"}
    assert manager.post(f"/guards/{guard.pk}/password/", new).status_code == 302
    short = {"password1": "short", "password2": "short"}
    assert manager.post(f"/guards/{guard.pk}/password/", short).status_code == 400
    guard.refresh_from_db()
    assert verify_password("another passphrase 77", guard.password_hash)
    assert manager.post(f"/guards/{guard.pk}/active/", {"active": "0"}).status_code == 302
    guard.refresh_from_db()
    assert guard.entry().disabled is True
    told = manager.post("/guards/push/", follow=True).content.decode()
    assert "not configured" in told


@pytest.fixture
def gate(make_app, make_config, broker, office_key):  # type: ignore[no-untyped-def]
    app = make_app(make_config(mqtt=mqtt_table(broker, office_key)), clock=SystemClock())
    link = attach(app)
    app.start(threaded=True)
    assert link.conn.wait_connected(10)
    return app


def test_push_reaches_a_real_gate_and_tells_each_gates_answer(  # type: ignore[no-untyped-def]
    db: None, gate, broker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent.office.web.guards.models import GuardAccount, GuardPush

    for name, value in (("HOST", broker.host), ("PORT", str(broker.port)),
                        ("KEY", str(tmp_path / "office.key"))):  # fmt: skip
        monkeypatch.setenv(f"GATE_OFFICE_{name}", value)
    monkeypatch.setenv("GATE_OFFICE_WEB_GUARD_GATES", "test-site/g1,test-site/g9")
    supervisor = signed_in("guard supervisor")
    assert _add(supervisor, "carol").status_code == 302
    assert _add(supervisor, "erin").status_code == 302
    erin = GuardAccount.objects.get(guard_id="erin")
    assert supervisor.post(f"/guards/{erin.pk}/active/", {"active": "0"}).status_code == 302
    assert "push-off" not in supervisor.get("/guards/").content.decode()
    page = supervisor.post("/guards/push/")
    assert page.status_code == 200
    body = page.content.decode()
    done = GuardPush.objects.get()
    rows = {f"{r['site']}/{r['gate']}": r for r in done.report}
    assert rows["test-site/g1"]["ok"] and rows["test-site/g1"]["count"] == 2
    assert not rows["test-site/g9"]["ok"] and "g9" in rows["test-site/g9"]["error"]
    assert "applied" in body and "not applied" in body and f"holds version {done.version}" in body
    store = GuardStore(gate.paths)
    carol, held_erin = store.account("carol"), store.account("erin")
    assert carol is not None and verify_password(GUARD_PASSWORD, carol.password_hash)
    assert held_erin is not None and held_erin.disabled
    assert GUARD_PASSWORD not in gate.paths.guards.read_text()
    # a guard supervisor pushes; an auditor or a clerk may not
    for role in ("auditor", "clerk"):
        assert signed_in(role).post("/guards/push/").status_code == 403


def test_an_unreachable_broker_is_told_per_gate_not_as_a_traceback(  # type: ignore[no-untyped-def]
    db: None, office_key, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent.office.web.guards import push

    monkeypatch.setenv("GATE_OFFICE_HOST", "127.0.0.1")
    monkeypatch.setenv("GATE_OFFICE_PORT", "1")  # nothing listens there
    monkeypatch.setenv("GATE_OFFICE_KEY", str(tmp_path / "office.key"))
    monkeypatch.setenv("GATE_OFFICE_WEB_GUARD_GATES", "all")
    monkeypatch.delenv("GATE_OFFICE_DB", raising=False)
    assert not push.configured()  # "all" needs the event store that knows the gates
    monkeypatch.setenv("GATE_OFFICE_WEB_GUARD_GATES", "north/g1")
    assert push.configured()
    manager = signed_in("manager")
    assert _add(manager, "sun").status_code == 302
    page = manager.post("/guards/push/")
    body = page.content.decode()
    assert page.status_code == 200 and "north/g1" in body and "not applied" in body


def test_push_guards_command_sends_the_accounts_kept_here(  # type: ignore[no-untyped-def]
    gate, broker, tmp_path: Path
) -> None:
    import sqlite3

    from agent.store.passwords import hash_password
    from tests.office_web_rig import gate_office

    state = tmp_path / "web"
    assert gate_office("web", "init", "--state", str(state)).returncode == 0
    with sqlite3.connect(state / "office-web.sqlite3") as office:
        office.execute(
            "INSERT INTO guards_guardaccount (guard_id, display_name, password_hash, active,"
            " changed) VALUES ('dana', 'Dana', ?, 1, '2026-12-07 00:00:00')",
            [hash_password(GUARD_PASSWORD)],
        )
    off = gate_office("web", "push-guards", "--state", str(state))
    assert off.returncode == 2 and len(off.stderr.strip().splitlines()) == 1
    connection = {"GATE_OFFICE_HOST": broker.host, "GATE_OFFICE_PORT": str(broker.port),
                  "GATE_OFFICE_KEY": str(tmp_path / "office.key"),
                  "GATE_OFFICE_WEB_GUARD_GATES": "test-site/g1"}  # fmt: skip
    sent = gate_office("web", "push-guards", "--state", str(state), env=connection)
    assert sent.returncode == 0, sent.stderr
    assert "test-site/g1: holds it (1)" in sent.stdout
    dana = GuardStore(gate.paths).account("dana")
    assert dana is not None and verify_password(GUARD_PASSWORD, dana.password_hash)
    verify = gate_office("audit", "verify", "--state", str(state))
    assert verify.returncode == 0 and "1 entries" in verify.stdout
