"""The register's signals, for apps that act on its changes (docs/office.md).

``resident_moved_out`` is sent once per resident whose move-out date an applied change
request sets (one resident, or each resident of a household), with ``sender=Resident``,
``resident`` (saved, its ``move_out`` set), ``when`` (the move-out date) and ``actor``
(the username applying it). Receivers run
inside the transaction that applies the change: an exception in one undoes the whole
move-out, so nothing is half-applied; work outside the database (a push to the gates)
belongs in ``transaction.on_commit``. The cards app connects its revocation here.
"""

from __future__ import annotations

from django.dispatch import Signal

resident_moved_out = Signal()
