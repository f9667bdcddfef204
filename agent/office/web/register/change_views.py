"""Pages that change a resident: an approved change request applied, a manager's correction.

There is no other way to edit a resident: changes come from a change request, and only a
typing mistake is corrected directly, by a manager, with a reason, in the audit log.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from agent.office.web.register import changes
from agent.office.web.register.forms import CorrectionForm, ResidentForm
from agent.office.web.register.models import ChangeRequest, Resident


def _staff(request: HttpRequest) -> AbstractBaseUser:
    user = request.user
    assert isinstance(user, AbstractBaseUser)  # login_required let only accounts in
    return user


@login_required
@permission_required("register.view_changerequest", raise_exception=True)
def change(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A change request; once approved, the form that applies it (clerks and managers)."""
    found = get_object_or_404(ChangeRequest.objects.select_related("household__unit"), pk=pk)
    form_class = changes.FORMS.get(found.kind)
    can_apply = found.status == ChangeRequest.Status.APPROVED and request.user.has_perm(
        "register.apply_changerequest"
    )
    form = form_class(found) if form_class and can_apply else None
    if request.method == "POST":
        if not can_apply or form_class is None:
            raise PermissionDenied
        form = form_class(found, request.POST)
        if form.is_valid():
            changes.apply(form, _staff(request))
            messages.success(request, _("The change is applied to the register."))
            return redirect("household", found.household_id)
    context = {"change": found, "form": form, "can_apply": can_apply}
    status = 400 if form is not None and form.errors else 200
    return render(request, "register/change.html", context, status=status)


@login_required
@permission_required("register.apply_changerequest", raise_exception=True)
@permission_required("register.add_resident", raise_exception=True)
def change_member(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The new-resident form bound to an approved "new household member" request."""
    found = get_object_or_404(
        ChangeRequest,
        pk=pk,
        kind=ChangeRequest.Kind.MEMBER,
        status=ChangeRequest.Status.APPROVED,
    )
    form = ResidentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        resident = form.save(commit=False)
        changes.add_member(found, resident, _staff(request))
        return redirect("resident", resident.pk)
    title = _("New household member (change request %(number)s)") % {"number": found.pk}
    return render(request, "register/form.html", {"form": form, "title": title})


@login_required
@permission_required("register.correct_resident", raise_exception=True)
def correct(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A manager corrects a typing mistake; the open fields before and after are logged."""
    found = get_object_or_404(Resident, pk=pk, purged_at__isnull=True)
    name, before = found.name, changes.snapshot(found)
    numbers = (found.id_number, found.phone)
    form = CorrectionForm(request.POST or None, instance=found)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            resident = form.save()
            content = {"correction": form.cleaned_data["reason"]}
            content.update(changes.difference(before, changes.snapshot(resident)))
            for name, old in zip(("id_number", "phone"), numbers, strict=True):
                if getattr(resident, name) != old:
                    content[name] = "changed"
            changes.audit_record(_staff(request).get_username(), f"resident:{pk}", content)
        messages.success(request, _("The correction is saved."))
        return redirect("resident", pk)
    title = _("Correct the record of %(name)s") % {"name": name}
    status = 400 if form.errors else 200
    return render(request, "register/form.html", {"form": form, "title": title}, status=status)
