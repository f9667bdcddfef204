"""A case's person in charge changed and its due time set by hand: each a timeline step (the
state unchanged) and an audit entry; a disabled account or a past time refused beside the
field."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from agent.office.web.audit import chain
from agent.office.web.cases import flow
from agent.office.web.cases.models import Case, CaseStep
from agent.office.web.staff.accounts import signed_in_account


def active_owner(owner: User) -> User:
    """``owner``, or the message beside the field when the account is disabled."""
    if not owner.is_active:
        raise forms.ValidationError(_("This account is disabled; choose another owner."))
    return owner


class _OpenCaseForm(forms.Form):
    """A change to an open case, with a note for the timeline."""

    note = forms.CharField(label=_("note"), widget=forms.Textarea, required=False)

    def __init__(self, *args: Any, case: Case, now: datetime | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.case = case
        self.now = now or timezone.now()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.case.state not in flow.OPEN_STATES:
            raise forms.ValidationError(_("Only an open case can be changed."))
        return data


class OwnerForm(_OpenCaseForm):
    """Hand the case to another person in charge."""

    owner = forms.ModelChoiceField(
        queryset=User.objects.order_by("username"), label=_("new person in charge")
    )
    field_order = ["owner", "note"]
    prefix = "owner"  # beside the step form on the case page: ids of its own

    def clean_owner(self) -> User:
        owner = active_owner(self.cleaned_data["owner"])
        if owner.pk == self.case.owner_id:
            raise forms.ValidationError(_("This person is in charge already."))
        return owner


class DueForm(_OpenCaseForm):
    """A due time set by hand (a resident agreed to wait, a part on order)."""

    due_at = forms.DateTimeField(
        label=_("new due time"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    field_order = ["due_at", "note"]
    prefix = "due"

    def clean_due_at(self) -> datetime:
        due_at: datetime = self.cleaned_data["due_at"]
        if due_at <= self.now:
            raise forms.ValidationError(_("The due time must be in the future."))
        return due_at


def _note(before: str, after: str, form: forms.Form) -> str:
    """The timeline's note: what changed, then the note written with it."""
    return "\n".join(filter(None, [f"{before} → {after}", form.cleaned_data["note"]]))


def _record(case: Case, actor: str, action: str, note: str, audit: str) -> None:
    case.save()
    CaseStep.objects.create(
        case=case,
        actor=actor,
        action=action,
        state_before=case.state,
        state_after=case.state,
        note=note,
    )
    chain.append(actor, f"case.{action}", f"case {case.pk}", audit)


@login_required
@permission_required("cases.handle_case", raise_exception=True)
@require_POST
def reassign(request: HttpRequest, pk: int) -> HttpResponseBase:
    from agent.office.web.cases.views import case_page

    actor = signed_in_account(request).get_username()
    with transaction.atomic():
        case = get_object_or_404(Case.objects.select_for_update(), pk=pk)
        form = OwnerForm(request.POST, case=case)
        if not form.is_valid():
            return case_page(request, case, owner_form=form)
        before = case.owner.get_username()
        case.owner = form.cleaned_data["owner"]
        after = case.owner.get_username()
        _record(case, actor, "reassign", _note(before, after, form), f"{before} -> {after}")
    return redirect("cases:case", pk=case.pk)


@login_required
@permission_required("cases.handle_case", raise_exception=True)
@require_POST
def set_due(request: HttpRequest, pk: int) -> HttpResponseBase:
    from agent.office.web.cases.views import case_page

    actor = signed_in_account(request).get_username()
    with transaction.atomic():
        case = get_object_or_404(Case.objects.select_for_update(), pk=pk)
        form = DueForm(request.POST, case=case)
        if not form.is_valid():
            return case_page(request, case, due_form=form)
        before = timezone.localtime(case.due_at).strftime("%Y-%m-%d %H:%M")
        case.due_at = form.cleaned_data["due_at"]
        after = timezone.localtime(case.due_at).strftime("%Y-%m-%d %H:%M")
        _record(case, actor, "due", _note(before, after, form), f"{before} -> {after}")
    return redirect("cases:case", pk=case.pk)
