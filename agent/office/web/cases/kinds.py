"""The kinds of case this site knows: the three built in and those ``[workplace.cases]``
adds, with their labels, working days to the due time, and the site's holidays.

The environment's settings (``GATE_OFFICE_WEB_COMPLAINT_DAYS``, ``GATE_OFFICE_WEB_HOLIDAYS``)
are the defaults; ``[workplace.cases]`` overrides the days it names and adds its holidays.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from agent.models.case_settings import CaseSettings
from agent.office.web.cases import due
from agent.office.web.workplace import workplace_config

BUILT_IN = {
    "complaint": _("complaint"),
    "behaviour": _("abnormal behaviour"),
    "incident": _("incident"),
}
EXTRA_DAYS = 3  # an added kind's working days when due_days does not name it

_READ: dict[tuple[str, int], CaseSettings] = {}  # the last read, by file and its mtime


def case_settings() -> CaseSettings:
    """``[workplace.cases]`` of the office config (defaults without one); read again only
    when the file changed (a list of cases names each case's kind)."""
    where = str(settings.GATE_OFFICE_CONFIG)
    if not where:
        return CaseSettings()
    try:
        key = (where, Path(where).stat().st_mtime_ns)
    except OSError:
        return workplace_config().cases  # tells the missing file (ConfigError)
    if key not in _READ:
        _READ.clear()
        _READ[key] = workplace_config().cases
    return _READ[key]


def extra_kinds() -> list[tuple[str, str]]:
    """(key, label in the current language) of the kinds the site adds."""
    chinese = (get_language() or settings.LANGUAGE_CODE).startswith("zh")
    return [(k.key, k.zh if chinese else k.en) for k in case_settings().kinds]


def label(kind: str) -> str:
    """A kind's name in the current language (the key itself for a kind no longer configured)."""
    if kind in BUILT_IN:
        return str(BUILT_IN[kind])
    return dict(extra_kinds()).get(kind, kind)


def due_days(kind: str) -> int:
    """Working days from receipt to the due time of a case of ``kind``."""
    configured = case_settings().due_days
    defaults: dict[str, int] = settings.GATE_OFFICE_CASE_DUE_DAYS
    return configured.get(kind) or defaults.get(kind) or EXTRA_DAYS


def holidays() -> frozenset[date]:
    """The site's holidays: the environment's and the config's."""
    env = due.parse_holidays(settings.GATE_OFFICE_HOLIDAYS)
    return env | frozenset(case_settings().holidays)
