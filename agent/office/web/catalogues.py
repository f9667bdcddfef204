"""The gettext catalogues, compiled with babel (no GNU gettext needed where the office runs).

The ``.po`` files live beside the code; their ``.mo`` files are compiled into the state
folder when the application starts, so a read-only install still gets them.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

SOURCE = Path(__file__).resolve().parent / "locale"


def compile_catalogues(into: Path, source: Path = SOURCE) -> list[Path]:
    """Every ``LANG/LC_MESSAGES/django.po`` under ``source`` as a ``.mo`` under ``into``."""
    written = []
    for po in sorted(source.glob("*/LC_MESSAGES/*.po")):
        mo = into / po.relative_to(source).with_suffix(".mo")
        mo.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as f:
            catalogue = read_po(f)
        with mo.open("wb") as f:
            write_mo(f, catalogue)
        written.append(mo)
    return written
