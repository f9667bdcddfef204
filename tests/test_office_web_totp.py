"""The optional TOTP second factor: enrolment by QR code, the code asked after the password,
wrong codes counted toward the account's lockout, no replay, a manager's reset."""

from __future__ import annotations

import time
from typing import Any

from django.test import override_settings

from tests.office_web_rig import PASSWORD, db, make_staff, office_web, signed_in

__all__ = ["db", "office_web"]


def _secret(username: str) -> bytes:
    from agent.office.web.staff import totp
    from agent.office.web.staff.models import TotpDevice

    return totp.secret_of(TotpDevice.objects.get(user__username=username))


def _code(username: str, offset_s: float = 0) -> str:
    from agent.office.web.staff import totp

    return totp.code_at(_secret(username), time.time() + offset_s)


def _enrol(client: Any, username: str) -> None:
    page = client.get("/account/totp/")
    body = page.content.decode()
    assert page.status_code == 200 and 'src="data:image/svg+xml' in body
    assert page.headers["Cache-Control"] == "no-store"
    assert client.post("/account/totp/", {"code": "000000"}).status_code == 200  # wrong
    assert client.post("/account/totp/", {"code": _code(username)}).status_code == 302
    assert "authenticator" in client.get("/account/").content.decode()


def _password_step(username: str) -> Any:
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the sign-in pages' language
    answer = client.post("/signin/", {"username": username, "password": PASSWORD})
    assert answer.status_code == 302 and answer.headers["Location"] == "/signin/code/"
    assert "_auth_user_id" not in client.session  # not signed in before the code
    assert client.get("/units/").status_code == 302
    return client


def test_an_enrolled_person_signs_in_with_the_code_once(db: None) -> None:
    from agent.office.web.staff.models import TotpDevice

    clerk = signed_in("clerk")
    _enrol(clerk, "clerk")
    device = TotpDevice.objects.get(user__username="clerk")
    assert device.confirmed and "BEGIN" not in device.sealed_secret
    assert _secret("clerk") not in device.sealed_secret.encode()  # sealed, not plain
    client = _password_step("clerk")
    code = _code("clerk", 30)  # the enrolment used this step's code: the next step's
    assert client.post("/signin/code/", {"code": code}).status_code == 302
    assert client.get("/units/").status_code == 200
    again = _password_step("clerk")
    answer = again.post("/signin/code/", {"code": code})  # the same code a second time
    assert answer.status_code == 200 and "Wrong code" in answer.content.decode()
    assert "_auth_user_id" not in again.session


def test_wrong_codes_lock_the_account_like_wrong_passwords(db: None) -> None:
    from agent.office.web.audit.models import AuditEntry
    from agent.office.web.staff.models import StaffProfile

    clerk = signed_in("clerk")
    _enrol(clerk, "clerk")
    client = _password_step("clerk")
    for _ in range(4):
        assert client.post("/signin/code/", {"code": "123456"}).status_code == 200
    locked = client.post("/signin/code/", {"code": "123456"}, follow=True)
    assert "locked" in locked.content.decode()
    assert StaffProfile.objects.get(user__username="clerk").locked_until is not None
    # the lock holds for the right password and code too
    from django.test import Client

    assert Client().post("/signin/", {"username": "clerk", "password": PASSWORD}).status_code == 200
    assert client.post("/signin/code/", {"code": _code("clerk", 30)}).url == "/signin/"
    assert AuditEntry.objects.filter(target="staff:clerk", reason="second factor enrolled").exists()


def test_a_manager_resets_a_lost_second_factor(db: None) -> None:
    from django.test import Client

    make_staff("ma", "auditor")
    person = Client()
    assert person.login(username="ma", password=PASSWORD)
    _enrol(person, "ma")
    manager = signed_in("manager")
    from django.contrib.auth.models import User

    ma = User.objects.get(username="ma")
    assert "Reset second factor" in manager.get(f"/staff/{ma.pk}/").content.decode()
    assert manager.post(f"/staff/{ma.pk}/totp/reset/").status_code == 302
    signed = Client().post("/signin/", {"username": "ma", "password": PASSWORD})
    assert signed.status_code == 302 and signed.headers["Location"] == "/"


@override_settings(GATE_OFFICE_MANAGER_TOTP=True)
def test_the_site_may_require_managers_to_enrol(db: None) -> None:
    manager = signed_in("manager")
    assert manager.get("/units/").url == "/account/totp/"
    clerk = signed_in("clerk")
    assert clerk.get("/units/").status_code == 200
    _enrol(manager, "manager")
    assert manager.get("/units/").status_code == 200
