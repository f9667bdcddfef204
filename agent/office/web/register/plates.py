"""Licence plates as staff type them: the one form lives in ``drivers.plates`` (the gate
reads plates too); the register imports it from here as before."""

from __future__ import annotations

from drivers.plates import mask_plate, normalise_plate

__all__ = ["mask_plate", "normalise_plate"]
