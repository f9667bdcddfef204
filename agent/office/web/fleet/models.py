"""No tables: the gates and their events live in the event store, not the office database.

``GatePages`` exists for its permissions only (``managed = False``: no table is made).
"""

from __future__ import annotations

from django.db import models


class GatePages(models.Model):
    """Holds the permissions of the fleet and event pages."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_fleet", "See every gate's state"),
            ("view_events", "See the gates' events"),
        ]
