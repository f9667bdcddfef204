"""Abnormal behaviour cases: what kind of behaviour and when, the measures taken against
each resident (the escalation ladder's rungs) and the report to the police."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agent.office.web.cases.models import Case


class BehaviourKind(models.TextChoices):
    """The kinds of abnormal behaviour (the config names the serious ones)."""

    NOISE = "noise", _("noise")
    NUISANCE = "nuisance", _("nuisance to neighbours")
    HARASSMENT = "harassment", _("harassment")
    VIOLENCE = "violence", _("violence")
    DAMAGE = "damage", _("deliberate damage")
    OTHER = "other", _("other")


class Rung(models.TextChoices):
    """The measures of the escalation ladder."""

    DISSUASION = "dissuasion", _("dissuasion")
    VERBAL_WARNING = "verbal_warning", _("verbal warning")
    WRITTEN_WARNING = "written_warning", _("written warning")
    POLICE = "police", _("reported to the police")


class BehaviourDetails(models.Model):
    """What a behaviour case adds to the case: the kind of behaviour and when it happened."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="behaviour")
    kind = models.CharField(_("kind of behaviour"), max_length=20, choices=BehaviourKind.choices)
    occurred_at = models.DateTimeField(_("when it happened"))

    class Meta:
        permissions = [("view_behaviour", "Can read and handle abnormal behaviour cases")]


class BehaviourMeasure(models.Model):
    """One measure taken against one resident in a case: a rung of the ladder, never edited."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="measures")
    resident = models.ForeignKey(
        "register.Resident",
        on_delete=models.PROTECT,
        related_name="behaviour_measures",
        verbose_name=_("resident"),
    )
    rung = models.CharField(_("measure"), max_length=20, choices=Rung.choices)
    at = models.DateTimeField(_("when"))
    by = models.CharField(max_length=150)  # text, like the audit log: outlives the account
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["at", "pk"]


class PoliceReport(models.Model):
    """The case reported to the police: when, to which station, which officer, the number."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="police_reports")
    reported_at = models.DateTimeField(_("reported at"))
    station = models.CharField(_("police station"), max_length=100)
    officer = models.CharField(_("police officer"), max_length=100)
    number = models.CharField(_("police report number"), max_length=50)
    recorded_by = models.CharField(max_length=150)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["reported_at", "pk"]
