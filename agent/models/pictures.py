"""``<root>/cmd/picture``: the office asks a gate for one kept plate picture, for an
incident (issue 22 item 7). A gate never sends a picture by itself."""

from __future__ import annotations

from pydantic import Field

from agent.models.base import Strict

PICTURE_ID = r"^[0-9a-f]{32}$"


class PictureRequest(Strict):
    """Send the picture ``picture`` (the id a plate event names) for incident ``incident``;
    without an incident the request is refused."""

    request_id: str = Field(min_length=1, max_length=64)
    picture: str = Field(pattern=PICTURE_ID, description="the id a plate event carries")
    incident: str = Field(
        min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$",
        description="the office's incident (case) the picture is for",
    )  # fmt: skip
