"""The console's pages: Jinja2 templates (autoescaped) in the guard's language.

Languages are gettext catalogues, ``locale/<lang>/LC_MESSAGES/console.po``, compiled
with babel when the console starts (no compiled file to go stale in the tree). English
is the source language. One Jinja2 environment per language, so a page never shows
another request's language.
"""

from __future__ import annotations

import gettext
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from jinja2 import Environment, FileSystemLoader, select_autoescape

HERE = Path(__file__).parent
LANGUAGES = {"zh-Hans": "中文", "en": "English"}
DEFAULT_LANGUAGE = "zh-Hans"
LANG_COOKIE = "gate_console_lang"
Gettext = Callable[[str], str]


def catalogue(lang: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``lang`` (English: the source strings)."""
    po = HERE / "locale" / lang.replace("-", "_") / "LC_MESSAGES" / "console.po"
    if lang == "en" or not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as source:
        messages = read_po(source, locale=lang.replace("-", "_"))
    compiled = io.BytesIO()
    write_mo(compiled, messages)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


# what the live page's script says, in the page's language (read from a meta tag)
SCRIPT_TEXTS = ("live", "reconnecting...", "No open alarms.", "Nobody waiting.", "Register",
                "Sound on", "Sound off", "ALARM", "Acknowledge the newest", "Acknowledge all",
                "what you found / did", "Note", "Open the muster list",
                "plate picture")  # fmt: skip


class Pages:
    """Renders the console's templates in each language."""

    def __init__(self, site: str, gate: str) -> None:
        self.site = site
        self.gate = gate
        self._envs: dict[str, Environment] = {}
        self._texts: dict[str, str] = {}
        self._translations: dict[str, gettext.NullTranslations] = {}
        for lang in LANGUAGES:
            env = Environment(loader=FileSystemLoader(HERE / "templates"),
                              autoescape=select_autoescape(default=True),
                              extensions=["jinja2.ext.i18n"])  # fmt: skip
            translations = catalogue(lang)
            env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
            self._envs[lang] = env
            self._translations[lang] = translations
            self._texts[lang] = json.dumps({t: translations.gettext(t) for t in SCRIPT_TEXTS},
                                           ensure_ascii=False)  # fmt: skip

    def gettext(self, lang: str) -> Gettext:
        """For the words made in Python (events, door states): ``_("...") % {...}``."""
        return self._translations[lang].gettext

    def render(self, name: str, lang: str, **context: Any) -> str:
        other = "en" if lang != "en" else "zh-Hans"
        base = {"lang": lang, "site": self.site, "gate": self.gate, "other_lang": other,
                "other_lang_name": LANGUAGES[other], "texts": self._texts[lang], "csrf": "",
                "guard": None, "live": False, "ok": None}  # fmt: skip
        return self._envs[lang].get_template(name).render(base | context)
