"""Licence plates as staff type them, brought to one form so the keyed index finds them.

``京A·12345``, ``京a 12345`` and ``京A-12345`` are one plate and normalise to ``京A12345``;
new-energy plates have six characters after the letter (``粤B D12345``). A plate is
personal data: the register keeps it sealed, masked and indexed like a phone number.
The normal form lives in ``drivers.plates``: a gate normalises a camera's read the same
way, so the HMAC of a resident's plate the office sends is the one the gate computes.
"""

from __future__ import annotations

from drivers.plates import mask_plate, normalise_plate

__all__ = ["mask_plate", "normalise_plate"]
