"""Applying an approved change request to the register (seed 1b).

A name change, a phone change or a move-out is applied from the request's page; a new
household member is registered through the new-resident form bound to the request. Each
apply runs in one transaction: the register's rows, the request (marked applied, with the
resident it touched and the non-secret fields before and after) and one audit entry. The
ID and phone numbers never reach the request or the log: only that they changed.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django import forms
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agent.office.web.audit import chain
from agent.office.web.audit.models import AuditEntry
from agent.office.web.register.forms import clean_phone_field
from agent.office.web.register.models import ChangeRequest, Resident
from agent.office.web.register.signals import resident_moved_out

# the fields whose values may be written to the log and the request; numbers never are
OPEN_FIELDS = ("name", "id_type", "move_in", "move_out", "tenure", "proof_seen")
APPLICABLE = (
    ChangeRequest.Kind.NAME,
    ChangeRequest.Kind.PHONE,
    ChangeRequest.Kind.MEMBER,
    ChangeRequest.Kind.MOVE_OUT,
)


def snapshot(resident: Resident) -> dict[str, str | None]:
    """The open fields as text (dates ISO, absent None)."""
    values: dict[str, str | None] = {}
    for field in OPEN_FIELDS:
        value = getattr(resident, field)
        values[field] = value.isoformat() if isinstance(value, date) else value
    return values


def difference(
    before: dict[str, str | None], after: dict[str, str | None]
) -> dict[str, list[str | None]]:
    """``{field: [before, after]}`` for each open field that differs."""
    return {k: [before[k], after[k]] for k in before if before[k] != after[k]}


def audit_record(actor: str, target: str, content: dict[str, Any]) -> None:
    """One CHANGE entry whose reason is ``content`` as sorted JSON (no numbers in it)."""
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    chain.append(actor, AuditEntry.Action.CHANGE, target, text)


def _living(change: ChangeRequest) -> QuerySet[Resident]:
    return Resident.objects.filter(household=change.household_id, purged_at__isnull=True)


class _ChangeForm(forms.Form):
    """A change to one resident of the request's household."""

    resident = forms.ModelChoiceField(label=_("resident"), queryset=Resident.objects.none())

    def __init__(self, change: ChangeRequest, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.change = change
        self.fields["resident"].queryset = _living(change)  # type: ignore[attr-defined]


class NameChangeForm(_ChangeForm):
    """The resident's new name."""

    name = forms.CharField(label=_("new name"), max_length=100)


class PhoneChangeForm(_ChangeForm):
    """The resident's new phone number (empty: none)."""

    phone = forms.CharField(label=_("new phone"), max_length=20, required=False)

    def clean_phone(self) -> str:
        return clean_phone_field(str(self.cleaned_data["phone"]))


class MoveOutForm(_ChangeForm):
    """A move-out date for one resident or, left empty, every resident still living there."""

    move_out = forms.DateField(label=_("move-out date"), widget=forms.DateInput({"type": "date"}))

    def __init__(self, change: ChangeRequest, *args: Any, **kwargs: Any) -> None:
        super().__init__(change, *args, **kwargs)
        field = self.fields["resident"]
        field.queryset = _living(change).filter(move_out__isnull=True)  # type: ignore[attr-defined]
        field.required = False
        field.empty_label = _("the whole household")  # type: ignore[attr-defined]

    def moving(self) -> list[Resident]:
        """The residents this move-out sets the date of (after ``is_valid``)."""
        one = self.cleaned_data.get("resident")
        return [one] if one else list(_living(self.change).filter(move_out__isnull=True))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        when = data.get("move_out")
        if when is None or self.errors:
            return data
        moving = self.moving()
        if not moving:
            self.add_error("resident", _("Nobody in this household is still living there."))
        elif any(when < r.move_in for r in moving):
            self.add_error("move_out", _("The move-out date is before the move-in date."))
        return data


FORMS: dict[str, type[_ChangeForm]] = {
    ChangeRequest.Kind.NAME: NameChangeForm,
    ChangeRequest.Kind.PHONE: PhoneChangeForm,
    ChangeRequest.Kind.MOVE_OUT: MoveOutForm,
}


def _mark_applied(
    change: ChangeRequest,
    user: AbstractBaseUser,
    resident: Resident | None,
    applied: dict[str, Any],
) -> None:
    change.status = ChangeRequest.Status.APPLIED
    change.applied_by = user  # type: ignore[assignment]
    change.applied_at = timezone.now()
    change.resident = resident
    change.applied = applied
    change.save()


def apply(form: _ChangeForm, user: AbstractBaseUser) -> None:
    """The change of a valid form written to the register, the request and the log."""
    change, actor = form.change, user.get_username()
    with transaction.atomic():
        if isinstance(form, MoveOutForm):
            _apply_move_out(form, user)
            return
        resident: Resident = form.cleaned_data["resident"]
        before = snapshot(resident)
        hidden: dict[str, str] = {}
        if isinstance(form, NameChangeForm):
            resident.name = form.cleaned_data["name"]
        else:
            resident.phone = form.cleaned_data["phone"]
            hidden["phone"] = "changed"
        resident.save()
        applied = {**difference(before, snapshot(resident)), **hidden}
        _mark_applied(change, user, resident, applied)
        audit_record(actor, f"resident:{resident.pk}", {"change": change.pk, **applied})


def _apply_move_out(form: MoveOutForm, user: AbstractBaseUser) -> None:
    change, when = form.change, form.cleaned_data["move_out"]
    one = form.cleaned_data.get("resident")
    moved: dict[str, Any] = {}
    for resident in form.moving():
        before = snapshot(resident)
        resident.move_out = when
        resident.save()
        moved[str(resident.pk)] = difference(before, snapshot(resident))
        resident_moved_out.send(
            sender=Resident, resident=resident, when=when, actor=user.get_username()
        )
    _mark_applied(change, user, one, {"move_out": moved})
    target = f"resident:{one.pk}" if one else f"household:{change.household_id}"
    audit_record(user.get_username(), target, {"change": change.pk, "move_out": moved})


def add_member(change: ChangeRequest, resident: Resident, user: AbstractBaseUser) -> None:
    """A new household member from a valid new-resident form bound to ``change``."""
    with transaction.atomic():
        resident.household_id = change.household_id
        resident.save()
        added = difference(dict.fromkeys(OPEN_FIELDS), snapshot(resident))
        _mark_applied(change, user, resident, added)
        content = {"change": change.pk, **added, "id_number": "set"}
        if resident.phone_sealed:
            content["phone"] = "set"
        audit_record(user.get_username(), f"resident:{resident.pk}", content)
