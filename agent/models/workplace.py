"""``[workplace]`` in ``office.toml``: what the office workplace (``gate-office web``) is
configured with beyond its command flags: cases, plans, alerts and the daily digest.

Each section is a model of its own module's making; this one only gathers them so that the
office config stays one strict document (an unknown key is refused, not ignored).
"""

from __future__ import annotations

from agent.models.base import Strict
from agent.models.behaviour_ladder import BehaviourConfig
from agent.models.case_settings import CaseSettings
from agent.models.digest import DigestSettings
from agent.models.workplace_incidents import IncidentsConfig


class WorkplaceConfig(Strict):
    """The whole ``[workplace]`` table; every section has defaults, so it may be left out."""

    behaviour: BehaviourConfig = BehaviourConfig()
    incidents: IncidentsConfig = IncidentsConfig()  # gate-office web watch
    cases: CaseSettings = CaseSettings()
    digest: DigestSettings = DigestSettings()
