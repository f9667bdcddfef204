"""Managers' pages for staff accounts: list, create, role, disable, unlock, password, TOTP.

Every change writes an audit entry; no change may leave the office without an active manager.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from agent.office.web.staff import totp
from agent.office.web.staff.accounts import audit, leaves_no_manager, role_of, set_role
from agent.office.web.staff.manage_forms import NewStaffForm, ResetPasswordForm, RoleForm
from agent.office.web.staff.models import StaffProfile, TotpDevice

MANAGE = "staff.manage_staff"
NO_MANAGER_LEFT = gettext_lazy(
    "This would leave the office without an active manager; nothing was changed."
)


def _profile(user: User) -> StaffProfile:
    # an account made outside these pages may have no profile yet: show the defaults
    return StaffProfile.objects.filter(user=user).first() or StaffProfile(user=user)


@login_required
@permission_required(MANAGE, raise_exception=True)
def staff_list(request: HttpRequest) -> HttpResponse:
    """Every account: role, language, last sign-in, locked or not, disabled or not."""
    now = timezone.now()
    profiles = {p.user_id: p for p in StaffProfile.objects.all()}
    with_totp = set(TotpDevice.objects.filter(confirmed=True).values_list("user_id", flat=True))
    rows = []
    for user in User.objects.order_by("username").prefetch_related("groups"):
        profile = profiles.get(user.pk) or StaffProfile(user=user)
        locked = profile.locked_until is not None and profile.locked_until > now
        rows.append({"user": user, "role": role_of(user), "profile": profile, "locked": locked,
                     "totp": user.pk in with_totp})  # fmt: skip
    return render(request, "staff/list.html", {"rows": rows})


@login_required
@permission_required(MANAGE, raise_exception=True)
def staff_new(request: HttpRequest) -> HttpResponseBase:
    """A new account with Django's password validation, a role and a language."""
    form = NewStaffForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user = form.save()
            set_role(user, form.cleaned_data["role"])
            StaffProfile.objects.update_or_create(
                user=user,
                defaults={"language": form.cleaned_data["language"], "must_change_password": True},
            )
            audit(request, user, f"created, role {form.cleaned_data['role']}")
        messages.success(request, _("Staff account %(name)s created.") % {"name": user.username})
        return redirect("staff_account", user.pk)
    return render(request, "register/form.html", {"form": form, "title": _("New staff account")})


def _detail(request: HttpRequest, user: User, status: int = 200, **forms: Any) -> HttpResponse:
    profile, now = _profile(user), timezone.now()
    context = {
        "account": user,
        "role": role_of(user),
        "profile": profile,
        "locked": profile.locked_until is not None and profile.locked_until > now,
        "totp": totp.enrolled(user),
        "role_form": forms.get("role_form") or RoleForm(initial={"role": role_of(user)}),
        "password_form": forms.get("password_form") or ResetPasswordForm(user),
    }
    return render(request, "staff/detail.html", context, status=status)


@login_required
@permission_required(MANAGE, raise_exception=True)
def staff_account(request: HttpRequest, pk: int) -> HttpResponse:
    """One account and the actions on it."""
    return _detail(request, get_object_or_404(User, pk=pk))


@require_POST
@login_required
@permission_required(MANAGE, raise_exception=True)
def staff_role(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Give the account another role (never taking the last active manager's)."""
    user = get_object_or_404(User, pk=pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return _detail(request, user, 400, role_form=form)
    role = form.cleaned_data["role"]
    if leaves_no_manager(user, role, user.is_active):
        messages.error(request, NO_MANAGER_LEFT)
        return redirect("staff_account", user.pk)
    with transaction.atomic():
        before = role_of(user)
        set_role(user, role)
        audit(request, user, f"role {before or '-'} -> {role}")
    messages.success(request, _("Role changed."))
    return redirect("staff_account", user.pk)


@require_POST
@login_required
@permission_required(MANAGE, raise_exception=True)
def staff_active(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Disable an account (it can no longer sign in) or enable it again."""
    user = get_object_or_404(User, pk=pk)
    active = request.POST.get("active") == "1"
    if not active and leaves_no_manager(user, role_of(user), False):
        messages.error(request, NO_MANAGER_LEFT)
        return redirect("staff_account", user.pk)
    with transaction.atomic():
        user.is_active = active
        user.save(update_fields=["is_active"])
        audit(request, user, "enabled" if active else "disabled")
    messages.success(request, _("Account enabled.") if active else _("Account disabled."))
    return redirect("staff_account", user.pk)


@require_POST
@login_required
@permission_required(MANAGE, raise_exception=True)
def staff_unlock(request: HttpRequest, pk: int) -> HttpResponseBase:
    """End a lock from failed sign-ins now."""
    user = get_object_or_404(User, pk=pk)
    with transaction.atomic():
        StaffProfile.objects.update_or_create(
            user=user, defaults={"locked_until": None, "failed_sign_ins": 0}
        )
        audit(request, user, "unlocked")
    messages.success(request, _("Account unlocked."))
    return redirect("staff_account", user.pk)


@require_POST
@login_required
@permission_required(MANAGE, raise_exception=True)
def staff_password(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Set a new password; the person must change it at their next sign-in."""
    user = get_object_or_404(User, pk=pk)
    form = ResetPasswordForm(user, request.POST)
    if not form.is_valid():
        return _detail(request, user, 400, password_form=form)
    with transaction.atomic():
        form.save()
        StaffProfile.objects.update_or_create(user=user, defaults={"must_change_password": True})
        audit(request, user, "password reset")
    messages.success(request, _("Password reset; it must be changed at the next sign-in."))
    return redirect("staff_account", user.pk)


@require_POST
@login_required
@permission_required(MANAGE, raise_exception=True)
def staff_totp_reset(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Remove the account's second factor (a lost phone); the person may enrol again."""
    user = get_object_or_404(User, pk=pk)
    with transaction.atomic():
        if totp.remove(user):
            audit(request, user, "second factor reset")
    messages.success(request, _("Second factor reset."))
    return redirect("staff_account", user.pk)
