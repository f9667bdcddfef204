"""Emergency plans in versions (drafted, approved, then never changed), drills run against
an approved version, and the steps the staff on duty ticked off during a drill."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class EmergencyPlan(models.Model):
    """The plan for one scenario; its content lives in its versions."""

    class Scenario(models.TextChoices):
        FIRE = "fire", _("fire")
        FLOOD = "flood", _("flood")
        EARTHQUAKE = "earthquake", _("earthquake")
        TYPHOON = "typhoon", _("typhoon")
        POWER_LOSS = "power_loss", _("power loss")
        INTRUSION = "intrusion", _("intrusion")

    scenario = models.CharField(_("scenario"), max_length=20, choices=Scenario.choices, unique=True)

    class Meta:
        ordering = ["scenario"]
        permissions = [
            ("write_plan", "Can draft emergency plan versions"),
            ("approve_plan", "Can approve emergency plan versions"),
            ("run_drill", "Can schedule, start and stop drills"),
            ("tick_drill", "Can tick off a drill's steps and note what went wrong"),
        ]

    def __str__(self) -> str:
        return str(self.get_scenario_display())

    def approved(self) -> PlanVersion | None:
        """The version in force: the newest approved one."""
        return self.versions.filter(approved_at__isnull=False).order_by("-number").first()

    def draft(self) -> PlanVersion | None:
        """The version being drafted, if any."""
        return self.versions.filter(approved_at__isnull=True).order_by("-number").first()


class PlanVersion(models.Model):
    """One version of a plan. Roles, steps, doors and contacts are kept as parsed lists
    (forms.py reads and writes them as lines)."""

    class Kind(models.TextChoices):
        FIRE = "fire", _("fire drill")
        EVACUATION = "evacuation", _("evacuation drill")

    plan = models.ForeignKey(EmergencyPlan, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    title = models.CharField(_("title"), max_length=200)
    roles = models.JSONField(default=list)  # [{name, holders: [username]}]
    steps = models.JSONField(default=list)  # [{minutes, role, text}] in order
    doors = models.JSONField(default=list)  # [{action: release|lock, site, gate, door}]
    contacts = models.JSONField(default=list)  # [{name, role, phone}]
    release_within_s = models.PositiveIntegerField(_("doors released within (seconds)"), default=5)
    drill_kind = models.CharField(
        _("drill kind at the gates"), max_length=20, choices=Kind.choices, default=Kind.EVACUATION
    )
    drill_minutes = models.PositiveIntegerField(_("drill length (minutes)"), default=15)
    drills_per_year = models.PositiveIntegerField(_("drills a year"), default=2)
    drafted_by = models.CharField(max_length=150)
    drafted_at = models.DateTimeField(default=timezone.now)
    approved_by = models.CharField(max_length=150, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["plan", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="plans_version_number")
        ]

    def __str__(self) -> str:
        return f"{self.plan} v{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:  # an approved version is a record: a new version replaces it
            stored = PlanVersion.objects.filter(pk=self.pk, approved_at__isnull=False).exists()
            if stored:
                raise ValueError("an approved plan version is never changed")
        super().save(*args, **kwargs)

    def releases(self) -> bool:
        """The plan releases a door: its drill runs at the gates (else only its steps)."""
        return any(d["action"] == "release" for d in self.doors)

    def gates(self) -> list[tuple[str, str]]:
        """The gates the plan's doors are at, in the plan's order."""
        seen: dict[tuple[str, str], None] = {}
        for d in self.doors:
            seen[(d["site"], d["gate"])] = None
        return list(seen)


class Drill(models.Model):
    """A drill scheduled for an approved plan version; ``request_id`` is the one the gates
    were sent and put in their ``drill_ended`` reports, which ``reports`` keeps once
    matched ("site/gate": details)."""

    version = models.ForeignKey(PlanVersion, on_delete=models.PROTECT, related_name="drills")
    scheduled_at = models.DateTimeField(_("scheduled for"))
    scheduled_by = models.CharField(max_length=150)
    request_id = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    started_by = models.CharField(max_length=150, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    start_answers = models.JSONField(default=list)  # [{site, gate, ok, error}]
    reports = models.JSONField(default=dict)
    went_wrong = models.TextField(_("what went wrong"), blank=True)

    class Meta:
        ordering = ["-scheduled_at"]

    def __str__(self) -> str:
        return f"{self.version} @ {self.scheduled_at:%Y-%m-%d %H:%M}"

    def awaiting(self, now: datetime) -> bool:
        """Started, neither stopped here nor past its length, and not every report in: a
        door without a report yet is waited for, not missing."""
        if not self.request_id or self.started_at is None or self.stopped_at is not None:
            return False
        if self.complete():
            return False
        return now < self.started_at + timedelta(minutes=self.version.drill_minutes)

    def complete(self) -> bool:
        """Every gate of the plan has sent its report."""
        gates = self.version.gates()
        return bool(gates) and all(f"{s}/{g}" in self.reports for s, g in gates)


class DrillTick(models.Model):
    """A step of the plan ticked off during (or after) a drill: which, when, by whom."""

    drill = models.ForeignKey(Drill, on_delete=models.CASCADE, related_name="ticks")
    step = models.PositiveIntegerField()
    at = models.DateTimeField()
    by = models.CharField(max_length=150)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["at", "pk"]
