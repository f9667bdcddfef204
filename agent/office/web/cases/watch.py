"""``gate-office web watch``: follows the event store and keeps the gates' cases.

Each pass reads the events stored after the cursor (the store's ``serial``, in commit
order) and folds them into cases in one transaction with the cursor's new position, so a
restart neither loses an event nor makes a case twice. Then it alerts the office, once,
of each incident alarm no guard acknowledged within ``unacknowledged_alarm_minutes``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, close_old_connections, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from agent.errors import GateError
from agent.models.workplace_incidents import IncidentsConfig
from agent.office.alerts import Alerts
from agent.office.db import OfficeDb
from agent.office.web.cases import gate_cases
from agent.office.web.cases.gate_models import CaseSource, WatchCursor
from agent.office.web.cases.models import CaseStep

log = logging.getLogger(__name__)
BATCH = 500
CURSOR = "cases"
ALERT = "unacknowledged_alarm"


class Watch:
    """One follower of one store; ``clock`` gives the aware time now (tests inject one)."""

    def __init__(
        self,
        db: OfficeDb,
        alerts: Alerts,
        config: Callable[[], IncidentsConfig],
        clock: Callable[[], datetime] = timezone.now,
        where: str = "",
    ) -> None:
        self.db = db
        self.alerts = alerts
        self.config = config  # read on each pass: an edited office.toml takes effect
        self.clock = clock
        self.where = where

    def cursor(self) -> int:
        """The serial of the last event folded in (0: none yet)."""
        found = WatchCursor.objects.filter(name=CURSOR).first()
        return found.serial if found is not None else 0

    def catch_up(self) -> int:
        """Fold every event stored after the cursor; how many events were read."""
        config, read = self.config(), 0
        while True:
            with transaction.atomic():
                cursor, _ = WatchCursor.objects.select_for_update().get_or_create(name=CURSOR)
                # read before the query (serials are handed out in commit order): every
                # event up to it is in this answer unless the answer is a full batch
                top = self.db.last_serial()
                events = self.db.query_events(types=gate_cases.WATCHED, after=cursor.serial,
                                              limit=BATCH)  # fmt: skip
                if len(events) == BATCH:
                    top = 0
                for event in events:
                    gate_cases.apply(event, config, self.db)
                newest = max([e["serial"] for e in events] + [top, cursor.serial])
                if newest != cursor.serial:
                    cursor.serial, cursor.store, cursor.updated_at = (
                        newest,
                        self.where,
                        self.clock(),
                    )
                    cursor.save()
            read += len(events)
            if len(events) < BATCH:
                return read

    def check_unacknowledged(self) -> list[CaseSource]:
        """Alert once of each alarm no guard acknowledged in time; the ones alerted now."""
        config, now = self.config(), self.clock()
        limit = now - timedelta(minutes=config.unacknowledged_alarm_minutes)
        with transaction.atomic():
            late = list(
                CaseSource.objects.select_for_update()
                .filter(
                    kind=CaseSource.Kind.ALARM,
                    acknowledged_at__isnull=True,
                    alerted_at__isnull=True,
                    at__lte=limit,
                )
                .select_related("case")
            )
            for source in late:
                source.alerted_at = now
                source.save(update_fields=["alerted_at"])
                with translation.override(settings.LANGUAGE_CODE):
                    note = _("No guard acknowledged the alarm within %(minutes)s minutes: "
                             "the office was alerted.") % {
                        "minutes": f"{config.unacknowledged_alarm_minutes:g}"}  # fmt: skip
                CaseStep.objects.create(
                    case=source.case, at=now, actor=gate_cases.WORKER, action="gate_alert",
                    state_before=source.case.state, state_after=source.case.state, note=note,
                )  # fmt: skip
        for source in late:  # after the commit: an alert is raised at most once
            self.alerts.raise_(
                ALERT, source.site, source.gate, door=source.door, seq=source.seq,
                type=source.event_type, time=source.at.isoformat(), case=source.case_id,
                minutes=config.unacknowledged_alarm_minutes,
            )  # fmt: skip
        return late

    def step(self) -> int:
        """One pass: catch up, then the alarms' deadlines."""
        read = self.catch_up()
        self.check_unacknowledged()
        return read

    def run(self, poll: float, stop: threading.Event) -> None:
        """Pass after pass until ``stop``; a failing pass is logged in one line and retried."""
        while not stop.is_set():
            close_old_connections()
            try:
                self.step()
            except (GateError, DatabaseError) as exc:
                log.error("watch: %s", str(exc).splitlines()[0] if str(exc) else exc)
            stop.wait(poll)
