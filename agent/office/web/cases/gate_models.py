"""What ties a case to the gates: the incident or alarm it came from, and where the watch
worker (``gate-office web watch``) is in the event store."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# the steps the gates and the watch worker add to a case's timeline
GATE_STEP_LABELS = {
    "gate_note": _("Note from the gate"),
    "police": _("Police called"),
    "gate_closed": _("Closed at the gate"),
    "gate_alarm": _("Another alarm"),
    "gate_ack": _("Alarm acknowledged"),
    "gate_alert": _("Alarm not acknowledged: office alerted"),
    "acknowledge": _("Acknowledged by the office"),
}


class CaseSource(models.Model):
    """One gate event a case was made from or folded in (an incident, an alarm, a complaint
    taken at the gate); unique by (kind, key), so a case is never made twice of one thing."""

    class Kind(models.TextChoices):
        INCIDENT = "incident"  # key: the console's incident id
        ALARM = "alarm"  # key: the event id
        COMPLAINT = "complaint"  # key: the event id
        STEP = "step"  # key: the event id of a guard's later note or close of an incident

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="sources")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    key = models.CharField(max_length=100)
    event_id = models.CharField(max_length=100)
    site = models.CharField(max_length=64)
    gate = models.CharField(max_length=64)
    door = models.CharField(max_length=64, blank=True)
    event_type = models.CharField(max_length=40)
    seq = models.BigIntegerField()
    at = models.DateTimeField()  # the event's own time
    acknowledged_at = models.DateTimeField(null=True, blank=True)  # by a guard (alarms)
    acknowledged_by = models.CharField(max_length=150, blank=True)
    alerted_at = models.DateTimeField(null=True, blank=True)  # unacknowledged: told the office

    class Meta:
        ordering = ["at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], name="case_source_once"),
        ]
        indexes = [models.Index(fields=["site", "gate", "seq"], name="case_source_gate_seq")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} ({self.site}/{self.gate})"

    def unacknowledged_alert(self) -> bool:
        """An alarm the office was alerted of because no guard acknowledged it in time."""
        return self.alerted_at is not None and self.acknowledged_at is None


class WatchCursor(models.Model):
    """How far the watch worker has read the event store (its ``serial``), saved in the
    same transaction as the cases it made, so a restart neither loses nor repeats."""

    name = models.CharField(max_length=50, unique=True)
    serial = models.BigIntegerField(default=0)
    store = models.CharField(max_length=500, blank=True)  # which store the serial counts in
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name} at {self.serial}"
