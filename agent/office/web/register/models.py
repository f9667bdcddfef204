"""The register's records (seed steps 1a, 1b and 2)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from agent.office.web.register.phones import normalise_phone
from agent.office.web.register.sealing import blind_index, mask, seal, unseal

ERASED_NAME = "[erased]"  # what a purged resident's name becomes (register/retention.py)


def new_holder_id() -> str:
    """The id gates know a holder by (never a name)."""
    return "h-" + uuid.uuid4().hex[:12]


class Unit(models.Model):
    """A room in a building: where a household lives."""

    building = models.CharField(_("building"), max_length=32)
    entrance = models.CharField(_("entrance"), max_length=32, blank=True)
    room = models.CharField(_("room"), max_length=32)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["building", "entrance", "room"], name="unit_unique")
        ]
        ordering = ["building", "entrance", "room"]

    def __str__(self) -> str:
        return "-".join(p for p in (self.building, self.entrance, self.room) if p)


class Household(models.Model):
    """The people living in one unit together."""

    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="households", verbose_name=_("unit")
    )
    registered_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.unit} #{self.pk}"


class Resident(models.Model):
    """A person of a household; ID and phone numbers only sealed."""

    class IdType(models.TextChoices):
        MAINLAND_ID = "mainland_id", _("resident identity card")
        PASSPORT = "passport", _("passport")
        HK_MACAO = "hk_macao", _("Mainland travel permit for Hong Kong and Macao residents")
        TAIWAN = "taiwan", _("Mainland travel permit for Taiwan residents")
        OTHER = "other", _("other document")

    class Tenure(models.TextChoices):
        OWNER = "owner", _("owner")
        TENANT = "tenant", _("tenant")
        FAMILY = "family", _("family member")

    class Proof(models.TextChoices):
        OWNERSHIP = "ownership", _("proof of property ownership")
        LEASE = "lease", _("lease")
        NONE = "none", _("none (family member of a registered resident)")

    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="residents", verbose_name=_("household")
    )
    holder_id = models.CharField(max_length=32, unique=True, default=new_holder_id)
    name = models.CharField(_("name"), max_length=100)
    phone_sealed = models.TextField(blank=True)
    # HMAC of the normalised phone number (key derived from the field key): exact search
    phone_index = models.CharField(max_length=64, blank=True, db_index=True)
    id_type = models.CharField(_("ID document"), max_length=16, choices=IdType.choices)
    id_number_sealed = models.TextField()
    move_in = models.DateField(_("move-in date"))
    move_out = models.DateField(_("move-out date"), null=True, blank=True)
    tenure = models.CharField(_("owner or tenant"), max_length=8, choices=Tenure.choices)
    proof_seen = models.CharField(_("proof seen"), max_length=12, choices=Proof.choices)
    # set when the retention job erased the personal data (name, numbers, notes)
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        permissions = [
            ("reveal_personal", "Reveal a resident's full ID and phone numbers"),
            ("correct_resident", "Correct a typing mistake in a resident's record"),
            ("export_resident", "Export what the register holds about a resident"),
        ]
        ordering = ["household", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        """The name, or a note that the retention job erased it."""
        return str(_("(personal data deleted)")) if self.purged_at else self.name

    @property
    def id_number(self) -> str:
        return unseal(self.id_number_sealed)

    @id_number.setter
    def id_number(self, plain: str) -> None:
        self.id_number_sealed = seal(plain)

    @property
    def phone(self) -> str:
        return unseal(self.phone_sealed)

    @phone.setter
    def phone(self, plain: str) -> None:
        self.phone_sealed = seal(plain)
        self.phone_index = index_of_phone(plain)

    @property
    def id_number_masked(self) -> str:
        return mask(self.id_number)

    @property
    def phone_masked(self) -> str:
        return mask(self.phone)


def index_of_phone(plain: str) -> str:
    """The keyed index of a phone number as stored ("" for none): search compares these."""
    if not plain:
        return ""
    return blind_index("phone", normalise_phone(plain) or "".join(plain.split()))


class DocumentCheck(models.Model):
    """A verification of its own: which documents were seen, by whom, when."""

    class Document(models.TextChoices):
        ID_CARD = "id_card", _("resident identity card")
        PASSPORT = "passport", _("passport")
        PERMIT = "permit", _("travel permit")
        OWNERSHIP = "ownership", _("proof of property ownership")
        LEASE = "lease", _("lease")
        OTHER = "other", _("other document")

    resident = models.ForeignKey(
        Resident, on_delete=models.PROTECT, related_name="checks", verbose_name=_("resident")
    )
    documents = models.JSONField(_("documents checked"))
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    checked_at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["-checked_at"]

    def __str__(self) -> str:
        return f"check of {self.resident_id} at {self.checked_at:%Y-%m-%d}"

    @property
    def document_labels(self) -> list[str]:
        labels = dict(self.Document.choices)
        return [str(labels.get(code, code)) for code in self.documents]


class ChangeRequest(models.Model):
    """A change to the register (seed 1b): what changes, who asked, who approved."""

    class Kind(models.TextChoices):
        NAME = "name", _("name change")
        MARITAL = "marital", _("marital status change")
        MEMBER = "member", _("new household member")
        PHONE = "phone", _("phone number change")
        LOST_CARD = "lost_card", _("lost card")
        MOVE_OUT = "move_out", _("move-out")
        OTHER = "other", _("other change")

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")
        APPLIED = "applied", _("applied")

    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="changes", verbose_name=_("household")
    )
    kind = models.CharField(_("change"), max_length=12, choices=Kind.choices)
    description = models.TextField(_("what changes"))
    asked_by = models.CharField(_("asked by"), max_length=100)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    # once applied (register/changes.py): the resident it touched (none: the whole
    # household), who applied it, when, and the non-secret fields before and after
    resident = models.ForeignKey(
        Resident, on_delete=models.PROTECT, null=True, blank=True, related_name="changes"
    )
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    applied_at = models.DateTimeField(null=True, blank=True)
    applied = models.JSONField(default=dict, blank=True)

    class Meta:
        permissions = [
            ("approve_changerequest", "Approve or reject a change request"),
            ("apply_changerequest", "Apply an approved change request to the register"),
        ]
        ordering = ["-recorded_at"]

    def __str__(self) -> str:
        return f"{self.kind} for household {self.household_id}"


from agent.office.web.register.vehicles import Vehicle  # noqa: E402  (Django finds it here)

__all__ = ["ChangeRequest", "DocumentCheck", "Household", "Resident", "Unit", "Vehicle"]
