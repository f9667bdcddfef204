"""Chinese and English: a complete zh-Hans catalogue, a language per person, zh-Hans by default."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

from tests.office_web_rig import (
    ROOT,
    a_resident,
    db,
    make_staff,
    office_web,
    own_environment,
    signed_in,
)

__all__ = ["db", "office_web"]

WEB = ROOT / "agent" / "office" / "web"
CATALOGUE = WEB / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def _ids(po: Path) -> dict[str, object]:
    with po.open("rb") as f:
        catalogue = read_po(f)
    return {str(m.id if isinstance(m.id, str) else m.id[0]): m for m in catalogue if m.id}


def test_every_string_in_the_catalogue_is_translated() -> None:
    untranslated = []
    for msgid, message in _ids(CATALOGUE).items():
        strings = message.string if isinstance(message.string, tuple) else (message.string,)  # type: ignore[attr-defined]
        if message.fuzzy or not all(strings):  # type: ignore[attr-defined]
            untranslated.append(msgid)
    assert untranslated == []


def test_the_catalogue_holds_every_string_of_the_code_and_templates(tmp_path: Path) -> None:
    """makemessages (GNU xgettext) over a copy of the sources: nothing new, nothing gone."""
    copy = tmp_path / "web"
    shutil.copytree(WEB, copy, ignore=shutil.ignore_patterns("locale", "__pycache__"))
    script = (
        "import sys; from pathlib import Path; from agent.office.web import boot; "
        f"state = Path({str(tmp_path / 'state')!r}); boot.make_keys(state); "
        f"boot.configure(str(state / 'db.sqlite3'), state); "
        "from django.core.management import call_command; "
        "call_command('makemessages', locale=['zh_Hans'], no_location=True, verbosity=0)"
    )
    (copy / "locale").mkdir()  # makemessages writes here, not into LOCALE_PATHS
    env = {**own_environment(), "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", script], cwd=copy, env=env, check=True, timeout=120)
    extracted = set(_ids(copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    held = set(_ids(CATALOGUE))
    assert sorted(extracted - held) == [], "strings missing from the zh-Hans catalogue"
    assert sorted(held - extracted) == [], "strings no longer in the code"


def test_pages_are_in_zh_hans_by_default_and_in_each_persons_language(db: None) -> None:
    from django.test import Client

    sign_in = Client().get("/signin/")
    assert "登录" in sign_in.content.decode() and sign_in.headers["Content-Language"] == "zh-hans"
    resident = a_resident()
    chinese = signed_in("clerk", language="zh-hans")
    page = chinese.get(f"/residents/{resident.pk}/").content.decode()
    assert "身份证件" in page and "查看完整信息" in page and "查看原因" in page
    refused = chinese.get("/audit/").content.decode()
    assert "无权访问" in refused
    make_staff("anna", "manager", language="en")
    english = Client()
    assert english.login(username="anna", password="correct horse battery 7")
    page = english.get(f"/residents/{resident.pk}/").content.decode()
    assert "ID document" in page and "Reveal full information" in page and "身份证件" not in page


def test_a_person_switches_language_and_it_stays_with_the_account(db: None) -> None:
    from django.test import Client

    from agent.office.web.staff.models import StaffProfile

    clerk = signed_in("clerk", language="zh-hans")
    clerk.post("/language/", {"language": "en", "next": "/"})
    assert StaffProfile.objects.get(user__username="clerk").language == "en"
    other_browser = Client()
    assert other_browser.login(username="clerk", password="correct horse battery 7")
    assert "Resident information management system" in other_browser.get("/").content.decode()
    # an outside address in "next" is not followed
    away = clerk.post("/language/", {"language": "zh-hans", "next": "https://evil.example/"})
    assert away.url == "/"
