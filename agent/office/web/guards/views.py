"""The guard supervisor's and manager's pages: guard console accounts and pushing them.

Passwords are hashed here (scrypt, the gates' format) and never stored or sent otherwise;
every change and push writes an audit entry.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from agent.office.web.audit import chain
from agent.office.web.audit.models import AuditEntry
from agent.office.web.guards import push
from agent.office.web.guards.forms import GuardPasswordForm, NewGuardForm
from agent.office.web.guards.models import GuardAccount, GuardPush
from agent.store.passwords import hash_password

MANAGE = "guards.manage_guards"


def _audit(request: HttpRequest, target: str, what: str) -> None:
    chain.append(request.user.get_username(), AuditEntry.Action.CHANGE, target, what)


@login_required
@permission_required(MANAGE, raise_exception=True)
def guard_list(request: HttpRequest) -> HttpResponse:
    """Every guard account, a form for a new one, and the last push."""
    form = NewGuardForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            guard = form.save(commit=False)
            guard.password_hash = hash_password(form.cleaned_data["password2"])
            guard.save()
            _audit(request, f"guard:{guard.guard_id}", "created")
        messages.success(request, _("Guard account %(id)s added; push it to the gates.")
                         % {"id": guard.guard_id})  # fmt: skip
        return redirect("guard_list")
    context = {
        "guards": GuardAccount.objects.all(),
        "form": form,
        "last_push": GuardPush.objects.first(),
        "configured": push.configured(),
    }
    return render(request, "guards/list.html", context, status=400 if form.errors else 200)


def _detail(request: HttpRequest, guard: GuardAccount, form: GuardPasswordForm | None = None,
            status: int = 200) -> HttpResponse:  # fmt: skip
    context = {"guard": guard, "form": form or GuardPasswordForm()}
    return render(request, "guards/detail.html", context, status=status)


@login_required
@permission_required(MANAGE, raise_exception=True)
def guard_account(request: HttpRequest, pk: int) -> HttpResponse:
    """One guard account and its actions."""
    return _detail(request, get_object_or_404(GuardAccount, pk=pk))


@require_POST
@login_required
@permission_required(MANAGE, raise_exception=True)
def guard_password(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A new password for the guard (the old one works at the gates until the next push)."""
    guard = get_object_or_404(GuardAccount, pk=pk)
    form = GuardPasswordForm(request.POST)
    if not form.is_valid():
        return _detail(request, guard, form, 400)
    with transaction.atomic():
        guard.password_hash = hash_password(form.cleaned_data["password2"])
        guard.save(update_fields=["password_hash", "changed"])
        _audit(request, f"guard:{guard.guard_id}", "password set")
    messages.success(request, _("Password set; push to the gates to apply it."))
    return redirect("guard_account", guard.pk)


@require_POST
@login_required
@permission_required(MANAGE, raise_exception=True)
def guard_active(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Disable a guard account (refused at the gates after the next push) or enable it."""
    guard = get_object_or_404(GuardAccount, pk=pk)
    with transaction.atomic():
        guard.active = request.POST.get("active") == "1"
        guard.save(update_fields=["active", "changed"])
        _audit(request, f"guard:{guard.guard_id}", "enabled" if guard.active else "disabled")
    messages.success(request, _("Saved; push to the gates to apply it."))
    return redirect("guard_account", guard.pk)


@require_POST
@login_required
@permission_required("guards.push_guards", raise_exception=True)
def guard_push(request: HttpRequest) -> HttpResponseBase:
    """The whole list to every configured gate; each gate's answer on the page."""
    if not push.configured():
        messages.error(request, _("Pushing to gates is not configured (see docs/office.md)."))
        return redirect("guard_list")
    done = push.push_recorded(request.user.get_username())
    return render(request, "guards/push.html", {"push": done})
