"""A visitor pass as the office keeps it: the signed pass plus what only the office knows."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agent.office.web.register.models import Unit


class VisitorPass(models.Model):
    """One issued pass. The visitor's name never leaves the office (the pass names none);
    ``code`` is the signed text in the QR code, a bearer credential shown only to staff."""

    pass_id = models.CharField(max_length=16, unique=True)
    visitor_name = models.CharField(_("visitor's name"), max_length=100)
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="visitor_passes", verbose_name=_("host unit")
    )
    site = models.CharField(max_length=64)
    gate = models.CharField(max_length=64, blank=True)  # empty: every gate of the site
    doors = models.JSONField(default=list)  # empty: every door
    valid_from = models.DateTimeField(_("valid from"))
    valid_until = models.DateTimeField(_("valid until"))
    uses = models.PositiveIntegerField(_("uses"))
    code = models.TextField()
    # the car's plate as the gates see it in events (京A****45); the plate is not kept
    plate_masked = models.CharField(_("car plate"), max_length=32, blank=True)
    # the plate's HMAC with the site key (what a gate computes from a camera's read), kept
    # so that the pass can be sent again with its car
    plate_credential = models.CharField(max_length=64, blank=True)
    # set by the retention purge (``gate-office web purge``): name, plate and code erased
    purged_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    issued_at = models.DateTimeField()
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        permissions = [("revoke_visitorpass", "Revoke a visitor pass")]
        indexes = [models.Index(fields=["purged_at", "valid_until"])]
        ordering = ["-issued_at"]

    def __str__(self) -> str:
        return f"visitor pass {self.pass_id}"

    @property
    def ended_at(self) -> datetime:
        """When the pass stops (or stopped) opening doors: its end, or its revocation."""
        return min(t for t in (self.valid_until, self.revoked_at) if t is not None)

    @property
    def in_force(self) -> bool:
        """Neither expired nor revoked: what may still be sent to its gates."""
        return self.ended_at > timezone.now()

    @property
    def where(self) -> str:
        """``site/gate``, or ``site/*`` for every gate of the site."""
        return f"{self.site}/{self.gate or '*'}"
