"""The keyed phone index for residents registered before it existed."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def index_phones(apps: Any, schema_editor: Any) -> None:
    # the sealing helpers, not the historical model: the index needs the field key
    from agent.office.web.register.models import index_of_phone
    from agent.office.web.register.sealing import unseal

    Resident = apps.get_model("register", "Resident")
    for resident in Resident.objects.exclude(phone_sealed="").filter(phone_index=""):
        resident.phone_index = index_of_phone(unseal(resident.phone_sealed))
        resident.save(update_fields=["phone_index"])


class Migration(migrations.Migration):
    dependencies = [("register", "0002_applied_changes_phone_index_purge")]
    operations = [migrations.RunPython(index_phones, migrations.RunPython.noop)]
