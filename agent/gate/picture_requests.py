"""The office's request for one plate picture, tied to an incident (issue 22 item 7).

The picture goes back in the command's answer (base64, at most ``MAX_PICTURE`` bytes
before encoding), and the gate records ``picture_sent`` with the picture's id and the
incident: the one way a picture leaves the gate. A picture past its retention, never
kept, or on a gate with no camera is a refusal that says so.
"""

from __future__ import annotations

import base64
from functools import partial
from typing import Any

from agent.core.kinds import EventType
from agent.core.loop import CoreLoop
from agent.errors import Rejected
from agent.gate.journal import Journal
from agent.store.pictures import PictureStore


class PictureMethods:
    """``GatePort.send_picture`` for the App; ``pictures`` is set when the gate has a
    camera (``agent.console.anpr.attach_plates``)."""

    loop: CoreLoop
    journal: Journal
    pictures: PictureStore | None = None

    def send_picture(self, picture_id: str, incident: str, request_id: str) -> dict[str, Any]:
        """The picture and its event; Rejected if this gate does not hold it (any more)."""
        store = self.pictures
        data = store.get(picture_id) if store is not None else None  # off the core loop
        if data is None:
            raise Rejected(f"picture {picture_id} is not kept on this gate "
                           "(past picture_days, never kept, or no camera)")  # fmt: skip
        self.loop.run_sync(partial(self.journal.emit, EventType.PICTURE_SENT, None,
                                   picture=picture_id, incident=incident, bytes=len(data),
                                   request_id=request_id))  # fmt: skip
        return {"picture": picture_id, "incident": incident, "content_type": "image/jpeg",
                "data": base64.b64encode(data).decode()}  # fmt: skip
