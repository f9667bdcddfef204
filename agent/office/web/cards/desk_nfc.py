"""A USB NFC desk reader on the office PC (nfcpy, as the gates' ``nfc`` driver uses it),
read once when the clerk presses "read": the first Type A card sensed within the wait.

The number stays in memory only: the view hands it to the form, which hashes it at once.
"""

from __future__ import annotations

import time

from agent.errors import CardFormatError
from drivers.cards import CardNumber

POLL_S = 0.05


class DeskReaderError(Exception):
    """The desk reader cannot be opened or failed while reading."""


def read_card(device: str, wait_s: float) -> CardNumber | None:
    """The card held on the reader at ``device`` (an nfcpy path: usb, tty:..., udp:...),
    or None when none came within ``wait_s`` seconds."""
    import nfc
    import nfc.clf

    from drivers.nfc import card_of

    try:
        frontend = nfc.ContactlessFrontend(device)
    except (OSError, ValueError) as exc:
        raise DeskReaderError(f"{device}: {exc}") from None
    try:
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            try:
                target = frontend.sense(nfc.clf.RemoteTarget("106A"), iterations=1)
            except OSError as exc:
                raise DeskReaderError(f"{device}: {exc}") from None
            if target is not None:
                try:
                    card = card_of(target)
                except CardFormatError:
                    card = None
                if card is not None:  # a random (phone) UID is no card: keep looking
                    return card
            time.sleep(POLL_S)
        return None
    finally:
        frontend.close()
