"""The staff app."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def sync_roles(sender: AppConfig, **kwargs: Any) -> None:
    """Give each role's group exactly the permissions ``roles.ROLES`` lists, on every
    migrate: a new app's permissions reach the roles without a data migration of its own."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    from agent.office.web.staff.roles import ROLES

    using = kwargs.get("using", "default")
    for config in apps.get_app_configs():  # the permissions of apps not yet signalled
        create_permissions(config, verbosity=0, using=using)
    for role, codes in ROLES.items():
        group, _ = Group.objects.using(using).get_or_create(name=role)
        wanted = [
            Permission.objects.using(using).get(content_type__app_label=app, codename=code)
            for app, code in codes
        ]
        group.permissions.set(wanted)


class StaffConfig(AppConfig):
    """Connects the lockout counter to Django's sign-in signals and keeps the roles'
    permissions in step with ``roles.ROLES``."""

    name = "agent.office.web.staff"
    label = "staff"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from agent.office.web.staff import lockout

        lockout.connect()
        post_migrate.connect(sync_roles, sender=self, dispatch_uid="staff.sync_roles")
