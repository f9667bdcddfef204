"""A card of a resident, each change to the cards, and its delivery to each gate.

A card is stored by its site-key hash (what gates store) and a masked form; the raw number
never reaches the database.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from agent.office.web.register.models import Resident


class Card(models.Model):
    """One access card issued to one resident."""

    class Status(models.TextChoices):
        ISSUED = "issued", _("issued")
        LOST = "lost", _("reported lost")
        RETURNED = "returned", _("returned")
        REVOKED = "revoked", _("revoked")
        ENDED = "ended", _("temporary card ended")

    class Kind(models.TextChoices):
        PLAIN = "plain", _("plain card (its number)")
        DESFIRE = "desfire", _("secure card: DESFire")
        NTAG424 = "ntag424", _("secure card: NTAG 424")

    resident = models.ForeignKey(
        Resident, on_delete=models.PROTECT, related_name="cards", verbose_name=_("resident")
    )
    credential = models.CharField(max_length=64)  # HMAC-SHA256 under the site key, hex
    masked = models.CharField(_("card"), max_length=32)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.ISSUED
    )
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.PLAIN)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    issued_at = models.DateTimeField(_("issued at"), auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    replaces = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replaced_by"
    )

    class Meta:
        constraints = [
            # one card number is on one resident's issued card at a time
            models.UniqueConstraint(
                fields=["credential"], condition=Q(status="issued"), name="card_issued_once"
            )
        ]
        permissions = [("issue_card", "Issue, re-issue and revoke access cards")]
        ordering = ["-issued_at", "-pk"]

    def __str__(self) -> str:
        return self.masked

    @property
    def temporary(self) -> bool:
        return self.valid_until is not None

    def live_on(self, day: date) -> bool:
        """Issued and not past its end date: on the gates' list that day."""
        return self.status == self.Status.ISSUED and (
            self.valid_until is None or self.valid_until >= day
        )


class CardPin(models.Model):
    """A resident's PIN for card plus PIN doors, as its salted hash (agent.store.pins):
    every card of the resident carries it to the gates. The PIN itself is never stored."""

    resident = models.OneToOneField(
        Resident, on_delete=models.PROTECT, related_name="card_pin", verbose_name=_("resident")
    )
    pin_hash = models.CharField(max_length=200)
    set_by = models.CharField(_("staff"), max_length=150)  # text: outlives the account
    set_at = models.DateTimeField(_("set at"), auto_now=True)

    def __str__(self) -> str:
        return f"PIN of resident {self.resident_id}"


class CardChange(models.Model):
    """One change to the cards; each gate that serves the holders gets a delivery row."""

    class Kind(models.TextChoices):
        ISSUE = "issue", _("card issued")
        REISSUE = "reissue", _("card re-issued")
        LOST = "lost", _("card reported lost")
        RETURN = "return", _("card returned")
        REVOKE = "revoke", _("card revoked")
        ENDED = "ended", _("temporary card ended")
        MOVE_OUT = "move_out", _("move-out: cards revoked")
        PIN = "pin", _("PIN set or removed")
        RESYNC = "resync", _("whole list sent again")

    kind = models.CharField(_("change"), max_length=8, choices=Kind.choices)
    cards = models.ManyToManyField(Card, related_name="changes", blank=True)
    made_by = models.CharField(_("staff"), max_length=150)  # text: outlives the account
    made_at = models.DateTimeField(_("time"), auto_now_add=True)
    planned = models.BooleanField(default=False)  # delivery rows made for the known gates

    class Meta:
        ordering = ["-made_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class Delivery(models.Model):
    """One change on its way to one gate: applied (acknowledged), pending or gate offline."""

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        OFFLINE = "offline", _("gate offline")
        APPLIED = "applied", pgettext_lazy("a change at a gate", "applied")

    change = models.ForeignKey(CardChange, on_delete=models.CASCADE, related_name="deliveries")
    site = models.CharField(_("site"), max_length=64)
    gate = models.CharField(_("gate"), max_length=64)
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.PENDING)
    version = models.PositiveBigIntegerField(_("allow-list version"), null=True, blank=True)
    offline_since = models.DateTimeField(null=True, blank=True)
    detail = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["change", "site", "gate"], name="delivery_once")
        ]
        ordering = ["site", "gate"]

    def __str__(self) -> str:
        return f"{self.change} to {self.site}/{self.gate}: {self.state}"
