"""The four roles as groups with their permissions (agent.office.web.staff.roles)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.management import create_permissions
from django.db import migrations


def make_roles(apps: Any, schema_editor: Any) -> None:
    from agent.office.web.staff.roles import ROLES

    # permissions are made after migrations; these roles need them now
    for config in apps.get_app_configs():
        config.models_module = True
        create_permissions(config, verbosity=0, apps=apps)
        config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codes in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        # an app migrated after this one (guards) gets its permissions from apps.sync_roles
        wanted = [
            p
            for app, code in codes
            for p in Permission.objects.filter(content_type__app_label=app, codename=code)
        ]
        group.permissions.set(wanted)


class Migration(migrations.Migration):
    dependencies = [
        ("staff", "0001_initial"),
        ("register", "0001_initial"),
        ("audit", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(make_roles, migrations.RunPython.noop)]
