"""Console sessions and sign-in limits (issue 17, items 3, 4 and 5): sessions end when the
office removes, disables or re-passwords a guard, at a newer sign-in and when idle; a
burst of sign-ins checks no more passwords than the lockout allows; one guard's mistakes
lock nobody else out, and break-glass has its own throttle and an alarm.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from agent.console.auth import ADDRESS_FREE, BREAKGLASS_WAIT_S, FAILURES
from agent.console.server import ConsolePart
from agent.console.wiring import attach_console
from agent.core.clock import ManualClock
from agent.gate.app import App
from agent.models.config import GateConfig
from agent.models.guards import GuardEntry, GuardList
from agent.store.guards import GuardStore, set_breakglass
from agent.store.passwords import hash_password
from tests.console_helpers import PASSWORD, Client, add_guards

GLASS = "break glass password"
VISITOR = {"host_unit": "B-12", "purpose": "delivery", "party_size": "1", "id_seen": "yes"}


def served(make_app: Callable[..., App], config: GateConfig, *guards: str,
           ) -> tuple[App, ConsolePart]:  # fmt: skip
    app = make_app(config)
    set_breakglass(app.paths, GLASS)
    add_guards(app, *guards)
    part = attach_console(app)
    app.start()
    return app, part


@pytest.fixture
def console(make_app, make_config) -> tuple[App, ConsolePart]:  # type: ignore[no-untyped-def]
    return served(make_app, make_config(console={"enabled": True, "port": 0}),
                  "alice", "bob", "carol", "dave")  # fmt: skip


def events(app: App, kind: str) -> list[dict[str, Any]]:
    return [e.details for e in app.events.recent(500) if e.type.value == kind]


def signed_in(part: ConsolePart, guard: str, password: str = PASSWORD) -> Client:
    client = Client(part)
    assert client.sign_in(guard, password) == 303
    assert client.get("/")[0] == 200
    return client


# -- item 3: sessions that end -------------------------------------------------------
def test_a_guards_push_ends_removed_disabled_and_re_passworded_guards_sessions(console) -> None:  # type: ignore[no-untyped-def]
    app, part = console
    clients = {g: signed_in(part, g) for g in ("alice", "bob", "carol", "dave")}
    store = GuardStore(app.paths)
    kept = store.account("dave")
    assert kept is not None
    store.replace(GuardList(version=2, guards=[  # as the office's push leaves it
        GuardEntry(guard_id="bob", password_hash=kept.password_hash, disabled=True),
        GuardEntry(guard_id="carol", password_hash=hash_password("a new password")),
        GuardEntry(guard_id="dave", password_hash=kept.password_hash),
    ]))  # fmt: skip
    for gone in ("alice", "bob", "carol"):
        assert clients[gone].post("/visitor", open_door="main", **VISITOR)[0] == 403
        assert clients[gone].get("/visitor")[0] == 303  # to the sign-in page
    assert clients["dave"].get("/visitor")[0] == 200
    assert not [e for e in events(app, "remote_open")]
    ended = {e["guard"] for e in events(app, "guard_signed_out")
             if e.get("reason") == "account_changed"}  # fmt: skip
    assert ended == {"alice", "bob", "carol"}


def test_a_new_sign_in_ends_the_guards_older_session(console) -> None:  # type: ignore[no-untyped-def]
    app, part = console
    hut = signed_in(part, "alice")
    phone = signed_in(part, "alice")
    assert hut.get("/")[0] == 303
    assert phone.get("/")[0] == 200
    assert [e.get("reason") for e in events(app, "guard_signed_out")] == ["signed_in_again"]


def test_several_sessions_per_guard_when_configured(make_app, make_config) -> None:  # type: ignore[no-untyped-def]
    config = make_config(console={"enabled": True, "port": 0, "one_session_per_guard": False})
    _, part = served(make_app, config, "alice")
    hut = signed_in(part, "alice")
    phone = signed_in(part, "alice")
    assert hut.get("/")[0] == 200 and phone.get("/")[0] == 200


def test_an_idle_session_ends_after_15_minutes_by_default(console) -> None:  # type: ignore[no-untyped-def]
    app, part = console
    clock: ManualClock = app.clock  # type: ignore[assignment]
    guard = signed_in(part, "alice")
    for _ in range(3):  # in use: 42 minutes, a request every 14
        clock.advance(14 * 60)
        assert guard.get("/")[0] == 200
    clock.advance(14 * 60)
    assert guard.post("/alive")[0] == 204  # the live page, touched by the guard
    clock.advance(14 * 60)
    assert guard.get("/")[0] == 200
    clock.advance(15 * 60 + 1)
    assert guard.get("/")[0] == 303
    assert guard.post("/visitor", **VISITOR)[0] == 403


# -- item 4: the lockout holds under a burst ---------------------------------------------
def test_fifteen_sign_ins_at_once_check_at_most_five_passwords(console) -> None:  # type: ignore[no-untyped-def]
    app, part = console
    clients = [Client(part) for _ in range(15)]
    for client in clients:
        client.get("/login")
    start = threading.Barrier(len(clients))
    statuses: list[int] = []

    def attempt(client: Client) -> None:
        start.wait(10)
        statuses.append(client.post("/login", guard_id="alice", password="wrong guess")[0])

    threads = [threading.Thread(target=attempt, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(statuses) == 15 and set(statuses) <= {401, 429}
    assert len(events(app, "guard_login_failed")) <= FAILURES  # passwords checked
    assert Client(part).sign_in("alice") == 429  # the right one, after the lock


# -- item 5: one guard's mistakes, the address, break-glass ---------------------------
def test_one_guards_wrong_passwords_lock_only_that_guard(console) -> None:  # type: ignore[no-untyped-def]
    app, part = console
    tablet = Client(part)
    for _ in range(FAILURES):
        tablet.sign_in("alice", "wrong password")
    assert tablet.sign_in("alice") == 429
    assert tablet.sign_in("bob") == 303  # the same tablet, another guard
    assert Client(part).sign_in("breakglass", GLASS) == 303
    assert {(e["scope"], e["subject"]) for e in events(app, "guard_locked")} == {
        ("account", "alice")
    }


def test_an_address_is_slowed_down_with_growing_waits_never_locked(console) -> None:  # type: ignore[no-untyped-def]
    app, part = console
    clock: ManualClock = app.clock  # type: ignore[assignment]
    guesser = Client(part)
    for n in range(ADDRESS_FREE):
        assert guesser.sign_in(f"guess{n}", "wrong") == 401
    waits = []
    for n in range(4):
        assert guesser.sign_in(f"more{n}", "wrong") == 401
        waited = 0
        while guesser.sign_in("bob") == 429:
            clock.advance(0.5)
            waited += 1
            assert waited < 400
        waits.append(waited / 2)
        guesser.post("/logout")
    assert waits == [1.0, 2.0, 4.0, 8.0]
    assert not events(app, "guard_locked")


def test_break_glass_has_its_own_stricter_throttle_and_an_alarm(console) -> None:  # type: ignore[no-untyped-def]
    app, part = console
    clock: ManualClock = app.clock  # type: ignore[assignment]
    tablet = Client(part)
    for n in range(ADDRESS_FREE + 3):  # others' mistakes from the same tablet
        tablet.sign_in(f"guess{n}", "wrong")
    assert tablet.sign_in("bob") == 429  # the address is slowed down ...
    assert Client(part).sign_in("breakglass", "wrong") == 401  # ... break-glass is not
    (alert,) = [e for e in events(app, "security_alert") if e["reason"] == "breakglass_failed"]
    assert alert["address"] == "127.0.0.1"
    assert Client(part).sign_in("breakglass", GLASS) == 429  # its own wait
    clock.advance(BREAKGLASS_WAIT_S)
    assert Client(part).sign_in("breakglass", "wrong again") == 401
    clock.advance(BREAKGLASS_WAIT_S)
    assert Client(part).sign_in("breakglass", GLASS) == 429  # doubled
    clock.advance(BREAKGLASS_WAIT_S)
    assert Client(part).sign_in("breakglass", GLASS) == 303
    assert not events(app, "guard_locked")
