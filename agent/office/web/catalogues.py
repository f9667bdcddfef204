"""The gettext catalogues, compiled with babel (no GNU gettext needed where the office runs).

The ``.po`` files live beside the code; their ``.mo`` files are compiled into the state
folder when the application starts, so a read-only install still gets them.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

SOURCE = Path(__file__).resolve().parent / "locale"


def compile_catalogues(into: Path, source: Path = SOURCE) -> list[Path]:
    """Every ``LANG/LC_MESSAGES/django.po`` under ``source`` as a ``.mo`` under ``into``.

    Each ``.mo`` is written beside its place and renamed into it: the office's processes
    start together and compile into the same folder, and one reading a catalogue another
    had just truncated stopped with ``unpack requires a buffer of 4 bytes``.
    """
    written = []
    for po in sorted(source.glob("*/LC_MESSAGES/*.po")):
        mo = into / po.relative_to(source).with_suffix(".mo")
        mo.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as f:
            catalogue = read_po(f)
        fd, temporary = tempfile.mkstemp(prefix=".", suffix=".mo", dir=mo.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                write_mo(f, catalogue)
            os.chmod(temporary, 0o644)  # as open() would have made it, not mkstemp's 0600
            os.replace(temporary, mo)
        except BaseException:
            os.unlink(temporary)
            raise
        written.append(mo)
    return written
