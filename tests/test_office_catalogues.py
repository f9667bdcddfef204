"""The workplace's compiled catalogues while several office processes start at once.

``./dev sim`` starts ``gate-office web serve``, ``deliver`` and ``watch`` together, and each
compiles the catalogues into the same state folder as it boots. A process that read a
``.mo`` file another one had just truncated stopped with ``unpack requires a buffer of 4
bytes`` (CI, stop 25). A reader must always find a whole catalogue, old or new.
"""

from __future__ import annotations

import gettext
import threading
from pathlib import Path

from agent.office.web.catalogues import compile_catalogues


def test_a_catalogue_being_compiled_again_is_never_read_half_written(tmp_path: Path) -> None:
    into = tmp_path / "locale"
    mo = compile_catalogues(into)[0]
    done = threading.Event()

    def compile_again() -> None:
        while not done.is_set():
            compile_catalogues(into)

    writer = threading.Thread(target=compile_again)
    writer.start()
    errors: list[str] = []
    try:
        for _ in range(400):
            with mo.open("rb") as f:
                try:
                    catalogue = gettext.GNUTranslations(f)
                except Exception as exc:  # what Django's translation loading would raise
                    errors.append(f"{type(exc).__name__}: {exc}")
                    continue
            assert catalogue.gettext("Residents") != ""
    finally:
        done.set()
        writer.join()
    assert errors == []


def test_compiling_leaves_no_temporary_files_behind(tmp_path: Path) -> None:
    into = tmp_path / "locale"
    written = compile_catalogues(into)
    compile_catalogues(into)
    assert sorted(p for p in into.rglob("*") if p.is_file()) == sorted(written)
