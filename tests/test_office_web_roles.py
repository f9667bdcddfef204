"""Staff roles: every page refused to the roles that lack it; Argon2 hashes; per-account lockout."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.office_web_rig import PASSWORD, ROLES, a_resident, db, make_staff, office_web, signed_in

__all__ = ["db", "office_web"]

M, C, G, A = ROLES  # manager, clerk, guard supervisor, auditor


def _pages(resident: Any) -> list[tuple[str, str, dict[str, str], set[str]]]:
    """(method, path, form, roles that may) for every page and action of the workplace."""
    h = resident.household_id
    r = resident.pk
    return [
        ("get", "/units/", {}, {M, C, G}),
        ("post", "/units/", {"building": "9", "room": "101"}, {M, C}),
        ("get", "/households/new/", {}, {M, C}),
        ("get", f"/households/{h}/", {}, {M, C, G}),
        ("get", f"/households/{h}/residents/new/", {}, {M, C}),
        ("get", f"/households/{h}/changes/new/", {}, {M, C}),
        ("get", f"/residents/{r}/", {}, {M, C}),
        ("post", f"/residents/{r}/reveal/", {"reason": "resident asked at desk"}, {M, C}),
        ("post", f"/residents/{r}/checks/", {"documents": "id_card"}, {M, C}),
        ("get", "/audit/", {}, {M, A}),
    ]


@pytest.mark.parametrize("role", ROLES)
def test_every_page_is_refused_to_the_roles_that_lack_it(db: None, role: str) -> None:
    client = signed_in(role)
    resident = a_resident()
    for method, path, form, allowed in _pages(resident):
        response = getattr(client, method)(path, form)
        if role in allowed:
            assert response.status_code in (200, 302), (role, method, path)
        else:
            assert response.status_code == 403, (role, method, path)


def test_only_a_manager_decides_a_change_request(db: None) -> None:
    from agent.office.web.register.models import ChangeRequest

    resident = a_resident()
    clerk = signed_in(C)
    form = {"kind": "name", "description": "张三 → 张叁", "asked_by": "张三"}
    assert clerk.post(f"/households/{resident.household_id}/changes/new/", form).status_code == 302
    change = ChangeRequest.objects.get()
    for role in (C, G, A):
        other = signed_in(role) if role != C else clerk
        refused = other.post(f"/changes/{change.pk}/decide/", {"decision": "approve"})
        assert refused.status_code == 403
    manager = signed_in(M)
    assert manager.post(f"/changes/{change.pk}/decide/", {"decision": "approve"}).status_code == 302
    change.refresh_from_db()
    assert change.status == "approved" and change.decided_by is not None


def test_an_account_without_a_role_sees_nothing_and_strangers_are_sent_to_sign_in(db: None) -> None:
    from django.test import Client

    resident = a_resident()
    nobody = signed_in(None)
    stranger = Client()
    for method, path, form, _allowed in _pages(resident):
        assert getattr(nobody, method)(path, form).status_code == 403, path
        answer = getattr(stranger, method)(path, form)
        assert answer.status_code == 302 and answer.url.startswith("/signin/"), path


def test_passwords_are_stored_as_argon2_hashes(db: None) -> None:
    user = make_staff("li", M)
    assert user.password.startswith("argon2$argon2id$")
    assert PASSWORD not in user.password


def _sign_in(client: Any, username: str, password: str) -> Any:
    return client.post("/signin/", {"username": username, "password": password})


def test_wrong_passwords_lock_that_account_only_and_the_lock_ends(db: None) -> None:
    from django.test import Client
    from django.utils import timezone

    from agent.office.web.staff.models import StaffProfile

    make_staff("wang", C)
    make_staff("zhao", C)
    client = Client()  # one browser, one address for every attempt
    for _ in range(5):
        assert _sign_in(client, "wang", "wrong password").status_code == 200
    locked = _sign_in(client, "wang", PASSWORD)
    assert locked.status_code == 200 and "_auth_user_id" not in client.session
    assert "此账户已被锁定" in locked.content.decode()  # the sign-in page is in the site default
    # the same address signs another account in: no lock is shared between accounts
    assert _sign_in(client, "zhao", PASSWORD).status_code == 302
    client.logout()
    # a wrong username locks nobody
    for _ in range(10):
        _sign_in(client, "nobody-here", "x")
    assert (
        not StaffProfile.objects.filter(locked_until__isnull=False)
        .exclude(user__username="wang")
        .exists()
    )
    StaffProfile.objects.filter(user__username="wang").update(
        locked_until=timezone.now() - timedelta(seconds=1)
    )
    assert _sign_in(client, "wang", PASSWORD).status_code == 302


def test_signing_in_resets_the_count_of_failures(db: None) -> None:
    from django.test import Client

    make_staff("sun", C)
    client = Client()
    for _ in range(4):
        _sign_in(client, "sun", "wrong password")
    assert _sign_in(client, "sun", PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        _sign_in(client, "sun", "wrong password")
    assert _sign_in(client, "sun", PASSWORD).status_code == 302


def _account_pages() -> list[tuple[str, str, dict[str, str], set[str | None]]]:
    """(method, path, form, roles that may) for the staff and guard account pages; a person's
    own account page is open to every account, even one without a role (None)."""
    from agent.office.web.guards.models import GuardAccount
    from agent.store.passwords import hash_password

    target = make_staff("target", C)
    guard = GuardAccount.objects.create(
        guard_id="g.one", display_name="Guard", password_hash=hash_password("x" * 12, 14)
    )
    s, g = target.pk, guard.pk
    new_password = {"new_password1": "a fresh long passphrase 42",
                    "new_password2": "a fresh long passphrase 42"}  # fmt: skip
    guard_password = {"password1": "a guard passphrase 42", "password2": "a guard passphrase 42"}
    return [
        ("get", "/staff/", {}, {M}),
        ("get", "/staff/new/", {}, {M}),
        ("get", f"/staff/{s}/", {}, {M}),
        ("post", f"/staff/{s}/role/", {"role": C}, {M}),
        ("post", f"/staff/{s}/active/", {"active": "1"}, {M}),
        ("post", f"/staff/{s}/unlock/", {}, {M}),
        ("post", f"/staff/{s}/password/", new_password, {M}),
        ("post", f"/staff/{s}/totp/reset/", {}, {M}),
        ("get", "/guards/", {}, {M, G}),
        ("get", f"/guards/{g}/", {}, {M, G}),
        ("post", f"/guards/{g}/password/", guard_password, {M, G}),
        ("post", f"/guards/{g}/active/", {"active": "1"}, {M, G}),
        ("post", "/guards/push/", {}, {M, G}),  # not configured here: back to the list
        ("get", "/account/", {}, {M, C, G, A, None}),
        ("get", "/account/totp/", {}, {M, C, G, A, None}),
        ("get", "/account/password/", {}, {M, C, G, A, None}),
    ]


@pytest.mark.parametrize("role", [*ROLES, None])
def test_staff_and_guard_pages_are_refused_to_the_roles_that_lack_them(
    db: None, role: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.test import Client

    monkeypatch.delenv("GATE_OFFICE_HOST", raising=False)
    client = signed_in(role)
    stranger = Client()
    for method, path, form, allowed in _account_pages():
        response = getattr(client, method)(path, form)
        if role in allowed:
            assert response.status_code in (200, 302), (role, method, path)
        else:
            assert response.status_code == 403, (role, method, path)
            assert "Your role does not allow this page" in response.content.decode()
        answer = getattr(stranger, method)(path, form)
        assert answer.status_code == 302 and answer.url.startswith("/signin/"), path


def test_every_staff_and_guard_action_needs_the_csrf_token(db: None) -> None:
    from django.test import Client

    from agent.office.web.audit.models import AuditEntry

    make_staff("csrf-boss", M)
    client = Client(enforce_csrf_checks=True)
    assert client.login(username="csrf-boss", password=PASSWORD)
    posts = [(path, form) for method, path, form, _ in _account_pages() if method == "post"]
    for path, form in [*posts, ("/staff/new/", {}), ("/guards/", {}), ("/account/totp/", {})]:
        assert client.post(path, form).status_code == 403, path
    assert not AuditEntry.objects.exists()  # nothing was done
