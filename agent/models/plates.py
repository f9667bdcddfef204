"""``[plates]``: the vehicle gate's plate receiver (ANPR cameras push to it) and pictures."""

from __future__ import annotations

import ipaddress

from pydantic import Field, StrictBool, field_validator

from agent.models.base import Strict


class PlatesConfig(Strict):
    """Where cameras push their plate reads, and how long plate pictures stay on the gate.

    The receiver binds one address of the gate's LAN (never every interface: a camera
    network is not the internet); each camera is a reader (``driver = "anpr-..."``) with
    its own address pinned and its own secret. Pictures are kept ``picture_days`` (0:
    none kept) and leave the gate only when the office asks for one tied to an incident.
    """

    enabled: StrictBool = False
    address: str = "127.0.0.1"  # the gate's address on the camera LAN
    port: int = Field(8088, ge=0, le=65535)  # 0: any free port (tests)
    picture_days: float = Field(7.0, ge=0, le=90)
    # a visitor's car a guard registered with its plate: let in by the camera this long
    visitor_hours: float = Field(4.0, ge=0, le=72)

    @field_validator("address")
    @classmethod
    def _one_address(cls, value: str) -> str:
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            raise ValueError(f"address {value!r} is not an IP address") from None
        if address.is_unspecified:
            raise ValueError("the plate receiver binds one LAN address, not every interface")
        return value
