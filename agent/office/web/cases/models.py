"""A case (complaint, behaviour, incident) and its timeline of steps, never edited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agent.office.web.cases import due, flow, kinds


class Case(models.Model):
    """One matter the office handles to the end, with its owner and due time."""

    class Kind(models.TextChoices):
        COMPLAINT = "complaint", _("complaint")
        BEHAVIOUR = "behaviour", _("abnormal behaviour")
        INCIDENT = "incident", _("incident")

    class State(models.TextChoices):
        RECEIVED = flow.RECEIVED, _("received")
        ACCEPTED = flow.ACCEPTED, _("accepted")
        INVESTIGATING = flow.INVESTIGATING, _("investigating")
        MEASURES_TAKEN = flow.MEASURES_TAKEN, _("measures taken")
        ANSWERED = flow.ANSWERED, _("answered")
        CLOSED = flow.CLOSED, _("closed")
        REOPENED = flow.REOPENED, _("reopened")

    # no choices: a site adds kinds in [workplace.cases] (cases/kinds.py), checked by the forms
    kind = models.CharField(_("kind"), max_length=20, default=Kind.COMPLAINT)
    state = models.CharField(
        _("state"), max_length=20, choices=State.choices, default=State.RECEIVED
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("what happened"))
    resident_name = models.CharField(_("resident's name as written"), max_length=100, blank=True)
    unit = models.ForeignKey(
        "register.Unit",
        on_delete=models.PROTECT,
        related_name="cases",
        verbose_name=_("unit"),
        null=True,  # a case the gates raised (an incident, an alarm) concerns no unit
    )
    residents = models.ManyToManyField("register.Resident", blank=True, related_name="cases")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="owned_cases",
        verbose_name=_("person in charge"),
    )
    received_at = models.DateTimeField(_("received at"))
    due_at = models.DateTimeField(_("due"))
    answer = models.TextField(_("what was done"), blank=True)
    told_at = models.DateTimeField(_("resident told at"), null=True, blank=True)
    told_how = models.CharField(_("how the resident was told"), max_length=100, blank=True)

    class Meta:
        ordering = ["due_at"]
        permissions = [
            ("handle_case", "Can accept, investigate, answer and close cases"),
            ("view_timeline", "Can read a case's timeline"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    def set_due(self, start: datetime | None = None) -> None:
        """The due time of this kind counted in working days from ``start`` (by default
        ``received_at``; a reopened case from its reopening)."""
        received = timezone.localtime(start or self.received_at)
        self.due_at = due.due_at(received, kinds.due_days(self.kind), kinds.holidays())

    def get_kind_display(self) -> str:
        """The kind in the reader's language, built in or added by the site's config."""
        return kinds.label(self.kind)

    def overdue(self, now: datetime | None = None) -> bool:
        """Still open (not answered) after its due time."""
        return self.state in flow.OPEN_STATES and self.due_at < (now or timezone.now())

    @classmethod
    def overdue_cases(cls) -> models.QuerySet[Case]:
        """The open cases past their due time."""
        return cls.objects.filter(state__in=flow.OPEN_STATES, due_at__lt=timezone.now())


STEP_LABELS = {
    "received": _("received"),
    "accept": _("Accept"),
    "investigate": _("Investigate"),
    "measures": _("Record measures taken"),
    "answer": _("Record the answer to the resident"),
    "close": _("Close"),
    "reopen": _("Reopen"),
    "attach": _("Attachment added"),
    "measure": _("Measure recorded"),
    "police": _("Reported to the police"),
    "reassign": _("Person in charge changed"),
    "due": _("Due time set"),
}


class CaseStep(models.Model):
    """One step on a case's timeline: who, when, what; written once, never changed."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="steps")
    at = models.DateTimeField(default=timezone.now)
    actor = models.CharField(max_length=150)
    action = models.CharField(max_length=20)
    state_before = models.CharField(max_length=20, blank=True)
    state_after = models.CharField(max_length=20)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def action_label(self) -> str:
        """The action in the reader's language."""
        return str(STEP_LABELS.get(self.action, self.action))

    def state_labels(self) -> tuple[str, str]:
        """The states before and after, in the reader's language."""
        before = Case.State(self.state_before).label if self.state_before else ""
        return str(before), str(Case.State(self.state_after).label)

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:  # the timeline is a record: a step once written stays
            raise ValueError("a case step is never edited")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("a case step is never deleted")


class CaseAttachment(models.Model):
    """A photo or scanned form kept with a case; its type read from its content."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=50)
    data = models.BinaryField()
    added_by = models.CharField(max_length=150)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["added_at", "pk"]

    def __str__(self) -> str:
        return self.name


# abnormal behaviour cases: their details, measures and police reports (a module of their own)
from agent.office.web.cases.behaviour_models import (  # noqa: E402
    BehaviourDetails,
    BehaviourMeasure,
    PoliceReport,
)
from agent.office.web.cases.gate_models import (  # noqa: E402
    GATE_STEP_LABELS,
    CaseSource,
    WatchCursor,
)

STEP_LABELS.update(GATE_STEP_LABELS)

__all__ = [
    "BehaviourDetails",
    "BehaviourMeasure",
    "Case",
    "CaseAttachment",
    "CaseSource",
    "CaseStep",
    "PoliceReport",
    "WatchCursor",
]
