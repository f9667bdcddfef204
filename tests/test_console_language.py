"""The console's languages: the zh-Hans catalogue covers every message the templates and
the console's code mark (with the same placeholders), every page answers in both
languages, ``[console] language`` sets the default and the switcher changes it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from agent.console.render import catalogue
from agent.console.wiring import attach_console
from agent.gate.app import App
from tests.console_helpers import Client, add_guards

CONSOLE = Path(__file__).resolve().parent.parent / "agent" / "console"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def marked_messages() -> set[str]:
    found = set()
    for method, folder in (("python", "."), ("jinja2", "templates")):
        pattern = "**.py" if method == "python" else "**.html"
        for _, _, message, _, _ in extract_from_dir(
            str(CONSOLE / folder) if folder != "." else str(CONSOLE),
            method_map=[(pattern, method)], keywords={"_": None, "N_": None, "gettext": None},
            options_map={pattern: {"extensions": "jinja2.ext.i18n"}},
        ):  # fmt: skip
            if isinstance(message, str) and message:
                found.add(message)
    return found


def test_the_chinese_catalogue_covers_every_marked_message() -> None:
    zh = catalogue("zh-Hans")
    messages = marked_messages()
    assert len(messages) > 150
    missing = sorted(m for m in messages if zh.gettext(m) == m)
    assert not missing
    for message in messages:
        assert set(PLACEHOLDER.findall(zh.gettext(message))) == set(PLACEHOLDER.findall(message))


@pytest.mark.parametrize(("lang", "words"), [
    ("zh-Hans", ["登录", "保安编号"]), ("en", ["Sign in", "Guard id"]),
])  # fmt: skip
def test_every_page_in_both_languages(make_app, make_config, lang: str,  # type: ignore[no-untyped-def]
                                      words: list[str]) -> None:  # fmt: skip
    app: App = make_app(make_config(console={"enabled": True, "port": 0, "language": lang}))
    add_guards(app, "alice")
    part = attach_console(app)
    app.start()
    guard = Client(part)
    status, page = guard.get("/login")
    assert status == 200 and f'lang="{lang}"' in page and all(w in page for w in words)
    assert guard.sign_in("alice") == 303
    for path in ("/", "/visitor", "/incidents", "/drill", "/muster"):
        status, page = guard.get(path)
        assert status == 200 and f'<html lang="{lang}">' in page, path
        if lang == "zh-Hans":
            assert "退出 alice" in page and "访客登记" in page, path
        else:
            assert "Sign out alice" in page, path


def test_the_switcher_changes_the_language_and_keeps_it(make_app, make_config) -> None:  # type: ignore[no-untyped-def]
    app: App = make_app(make_config(console={"enabled": True, "port": 0, "language": "zh-Hans"}))
    add_guards(app, "alice")
    part = attach_console(app)
    app.start()
    guard = Client(part)
    assert "登录" in guard.get("/login")[1]
    status, page = guard.get("/login?lang=en")
    assert status == 200 and "Sign in" in page and 'href="?lang=zh-Hans"' in page
    assert guard.cookies["gate_console_lang"] == "en"
    assert guard.sign_in("alice") == 303
    assert "Sign out alice" in guard.get("/")[1]  # kept by its cookie
    assert "退出 alice" in guard.get("/?lang=zh-Hans")[1]
    assert "<script" not in guard.get("/login?lang=<script>")[1].split("</head>")[1]
