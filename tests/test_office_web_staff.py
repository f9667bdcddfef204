"""Managers' staff pages: accounts made, roles changed, disabled, unlocked, passwords reset,
never the last manager gone; every change in the audit log; CSRF enforced."""

from __future__ import annotations

from typing import Any

from tests.office_web_rig import PASSWORD, db, make_staff, office_web, signed_in

__all__ = ["db", "office_web"]

NEW_PASSWORD = "a fresh long passphrase 42"


def _audit_reasons(target: str) -> list[str]:
    from agent.office.web.audit.models import AuditEntry

    return list(AuditEntry.objects.filter(target=target).values_list("reason", flat=True))


def _client(username: str, password: str = PASSWORD) -> Any:
    from django.test import Client

    client = Client()
    assert client.post("/signin/", {"username": username, "password": password}).status_code == 302
    return client


def test_a_manager_creates_an_account_who_must_choose_a_password_first(db: None) -> None:
    from django.contrib.auth.models import User

    manager = signed_in("manager")
    weak = {"username": "qian", "password1": "123", "password2": "123", "role": "clerk",
            "language": "zh-hans"}  # fmt: skip
    refused = manager.post("/staff/new/", weak)
    assert refused.status_code == 200 and 'class="errorlist' in refused.content.decode()
    assert not User.objects.filter(username="qian").exists()  # nothing half-saved
    good = {**weak, "password1": PASSWORD, "password2": PASSWORD}
    made = manager.post("/staff/new/", good)
    assert made.status_code == 302
    qian = User.objects.get(username="qian")
    assert [g.name for g in qian.groups.all()] == ["clerk"]
    assert qian.password.startswith("argon2$") and qian.staff_profile.language == "zh-hans"
    assert _audit_reasons("staff:qian") == ["created, role clerk"]
    listing = manager.get("/staff/").content.decode()
    assert "qian" in listing and "clerk" in listing
    # the new person is sent to change the password before any page
    person = _client("qian")
    assert person.get("/units/").url == "/account/password/"
    change = {"old_password": PASSWORD, "new_password1": NEW_PASSWORD,
              "new_password2": NEW_PASSWORD}  # fmt: skip
    assert person.post("/account/password/", change).status_code == 302
    assert person.get("/units/").status_code == 200


def test_role_changes_and_disabling_never_leave_no_manager(db: None) -> None:
    from django.contrib.auth.models import User

    manager = signed_in("manager")
    me = User.objects.get(username="manager")
    for action, form in (("role", {"role": "clerk"}), ("active", {"active": "0"})):
        page = manager.post(f"/staff/{me.pk}/{action}/", form, follow=True)
        assert "without an active manager" in page.content.decode()
    me.refresh_from_db()
    assert me.is_active and me.groups.filter(name="manager").exists()
    other = make_staff("zhou", "manager")
    assert manager.post(f"/staff/{other.pk}/role/", {"role": "auditor"}).status_code == 302
    assert [g.name for g in other.groups.all()] == ["auditor"]
    assert manager.post(f"/staff/{other.pk}/role/", {"role": "boss"}).status_code == 400
    assert manager.post(f"/staff/{other.pk}/active/", {"active": "0"}).status_code == 302
    other.refresh_from_db()
    assert not other.is_active
    from django.test import Client

    assert Client().post("/signin/", {"username": "zhou", "password": PASSWORD}).status_code == 200
    assert manager.post(f"/staff/{other.pk}/active/", {"active": "1"}).status_code == 302
    assert _audit_reasons("staff:zhou") == ["role manager -> auditor", "disabled", "enabled"]
    _client("zhou")


def test_a_manager_unlocks_an_account_and_resets_its_password(db: None) -> None:
    from django.test import Client

    manager = signed_in("manager")
    wu = make_staff("wu", "clerk")
    stranger = Client()
    for _ in range(5):
        stranger.post("/signin/", {"username": "wu", "password": "wrong password"})
    assert "locked" in manager.get("/staff/").content.decode()
    assert manager.post(f"/staff/{wu.pk}/unlock/").status_code == 302
    _client("wu")
    mismatch = {"new_password1": NEW_PASSWORD, "new_password2": "something else"}
    assert manager.post(f"/staff/{wu.pk}/password/", mismatch).status_code == 400
    reset = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    assert manager.post(f"/staff/{wu.pk}/password/", reset).status_code == 302
    person = _client("wu", NEW_PASSWORD)
    assert person.get("/").url == "/account/password/"
    assert _audit_reasons("staff:wu") == ["unlocked", "password reset"]
    assert NEW_PASSWORD not in str(_audit_reasons("staff:wu"))


def test_staff_actions_need_the_csrf_token(db: None) -> None:
    from django.contrib.auth.models import User
    from django.test import Client

    make_staff("boss", "manager")
    target = make_staff("he", "clerk")
    client = Client(enforce_csrf_checks=True)
    assert client.login(username="boss", password=PASSWORD)
    assert client.post(f"/staff/{target.pk}/active/", {"active": "0"}).status_code == 403
    assert User.objects.get(pk=target.pk).is_active
    client.get(f"/staff/{target.pk}/")
    token = client.cookies["csrftoken"].value
    form = {"active": "0", "csrfmiddlewaretoken": token}
    assert client.post(f"/staff/{target.pk}/active/", form).status_code == 302
    assert not User.objects.get(pk=target.pk).is_active


def test_a_disabled_persons_open_session_ends_and_pages_read_in_chinese(db: None) -> None:
    from django.test import Client

    manager = signed_in("manager", language="zh-hans")
    target = make_staff("feng", "clerk")
    person = Client()
    assert person.login(username="feng", password=PASSWORD)
    assert person.get("/units/").status_code == 200
    assert manager.post(f"/staff/{target.pk}/active/", {"active": "0"}).status_code == 302
    assert person.get("/units/").status_code == 302  # signed out at once
    listing = manager.get("/staff/").content.decode()
    assert "物业管理人员账户" in listing and "登记员" in listing and "已停用" in listing
    page = manager.get(f"/staff/{target.pk}/").content.decode()
    assert "修改角色" in page and "重置密码" in page and "启用账户" in page
