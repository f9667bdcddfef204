"""The office workplace under test: Django set up once per process on a real SQLite file.

Each test runs inside a transaction rolled back at its end (as Django's TestCase does);
the sign-ins, forms and views under test are Django's own, unmocked.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery 7"
ROLES = ("manager", "clerk", "guard supervisor", "auditor")
GOOD_ID = "11010519491231002X"  # a valid mainland ID number (check character X)


def _configure(state: Path) -> Path:
    from django.conf import settings

    if settings.configured:  # a second test module: the process has its workplace already
        return Path(os.environ["GATE_OFFICE_WEB_STATE"])
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    from agent.office.web import boot

    boot.make_keys(state)
    boot.configure(str(state / "office.sqlite3"), state)
    setup_test_environment()
    call_command("migrate", verbosity=0, interactive=False)
    return state


@pytest.fixture(scope="session")
def office_web(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The state folder of the process's workplace (keys, database, catalogues)."""
    return _configure(tmp_path_factory.mktemp("office-web"))


@pytest.fixture
def db(office_web: Path) -> Iterator[None]:
    """One test's changes, rolled back after it."""
    from django.db import transaction

    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def make_staff(username: str, role: str | None, language: str = "en") -> Any:
    """An account in one role (None: no role at all), with ``PASSWORD``."""
    from django.contrib.auth.models import Group, User

    from agent.office.web.staff.models import StaffProfile

    user = User.objects.create_user(username, password=PASSWORD)
    if role:
        user.groups.add(Group.objects.get(name=role))
    StaffProfile.objects.create(user=user, language=language)
    return user


def signed_in(role: str | None, language: str = "en") -> Any:
    """A test client signed in as a new account in ``role``."""
    from django.test import Client

    name = (role or "norole").replace(" ", "-")
    make_staff(name, role, language)
    client = Client()
    assert client.login(username=name, password=PASSWORD)
    return client


def a_resident(name: str = "张三", id_number: str = GOOD_ID, phone: str = "13800138000") -> Any:
    """A unit, a household in it and one resident."""
    from agent.office.web.register.models import Household, Resident, Unit

    unit = Unit.objects.create(building="3", entrance="2", room="501")
    household = Household.objects.create(unit=unit)
    resident = Resident(
        household=household,
        name=name,
        id_type=Resident.IdType.MAINLAND_ID,
        move_in=date(2026, 1, 1),
        tenure=Resident.Tenure.OWNER,
        proof_seen=Resident.Proof.OWNERSHIP,
    )
    resident.id_number = id_number
    resident.phone = phone
    resident.save()
    return resident


def own_environment() -> dict[str, str]:
    # this process's workplace settings must not leak into the child's defaults
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("GATE_OFFICE_WEB_") and k != "DJANGO_SETTINGS_MODULE"
    }


def gate_office(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``gate-office ARGS`` in a process of its own (its own Django)."""
    return subprocess.run(
        [sys.executable, "-m", "agent.office.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**own_environment(), **(env or {})},
    )
