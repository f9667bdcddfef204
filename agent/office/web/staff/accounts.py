"""Staff accounts as managers change them: roles, the last manager kept, audit entries."""

from __future__ import annotations

from django.contrib.auth.models import Group, User
from django.http import HttpRequest

from agent.office.web.audit import chain
from agent.office.web.audit.models import AuditEntry
from agent.office.web.staff.roles import MANAGER, ROLES


def signed_in_account(request: HttpRequest) -> User:
    """The staff account of a request that ``login_required`` let through."""
    assert isinstance(request.user, User)
    return request.user


def role_of(user: User) -> str:
    """The account's role ('' for none)."""
    names = [g.name for g in user.groups.all()]
    return next((r for r in ROLES if r in names), "")


def set_role(user: User, role: str) -> None:
    """Exactly one role's group (other groups the account has are left alone)."""
    others = user.groups.exclude(name__in=list(ROLES))
    user.groups.set([*others, Group.objects.get(name=role)])


def leaves_no_manager(user: User, role: str, active: bool) -> bool:
    """True when giving ``user`` this role and state would leave no active manager."""
    if role == MANAGER and active:
        return False
    others = User.objects.filter(groups__name=MANAGER, is_active=True).exclude(pk=user.pk)
    return not others.exists()


def audit(request: HttpRequest, user: User, what: str) -> None:
    """An audit entry: who changed which staff account, and how (never a password)."""
    chain.append(
        request.user.get_username(), AuditEntry.Action.CHANGE, f"staff:{user.username}", what
    )
