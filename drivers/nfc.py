"""13.56 MHz readers through nfcpy: PN532 on a UART, ACR122U and PN533 on USB.

The reader is polled with ``sense`` (one anticollision round, RF off in between), never
``connect``: sensing is all a UID reader needs, it is what an ACR122U's firmware allows,
and it returns the UID bytes exactly as the card sent them.

nfcpy sets its own ``nfc`` logger to INFO when imported; its DEBUG lines carry raw UIDs,
so that logger must not be lowered on a gate that keeps its logs.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import nfc
import nfc.clf
from pydantic import Field, StrictBool

from agent.errors import CardFormatError
from drivers.base import DriverContext, DriverOptions
from drivers.cards import CardNumber, SecureProof
from drivers.nfc_secure import Activator, activate_iso_dep, site_keys, speaks_iso_dep
from drivers.secure.base import SecureFailure
from drivers.secure.session import read_secure
from drivers.streaming import ReaderOptions, RepeatFilter, StreamingReader

log = logging.getLogger(__name__)

# nfcpy paths: usb[:vid[:pid]] or usb[:bus[:dev]], tty:PORT[:driver], com:PORT[:driver],
# udp[:host][:port] (nfcpy's emulator link, used by the tests).
_DEVICE_PATH = r"^(usb(:[0-9A-Fa-f]{1,4}){0,2}|(tty|com):[\w.-]+(:\w+)?|udp(:[\w.-]*)?(:\d{1,5})?)$"
_RANDOM_UID_FIRST_BYTE = 0x08  # ISO 14443-3: a 4-byte NUID starting 08h is random per activation
_RANDOM_SECURE = "random secure card"  # a random-UID card whose session ran this presentation


class NfcOptions(ReaderOptions):
    """Where the reader is (an nfcpy path), how often to poll it, and whether to look for FeliCa."""

    device: str = Field("tty:serial0:pn532", pattern=_DEVICE_PATH)
    poll_s: float = Field(0.1, ge=0.01, le=5)  # pause between two polls
    felica: StrictBool = False  # also poll 212F (FeliCa) on readers that can


class NfcReader(StreamingReader):
    """Polls an nfcpy frontend for Type A UIDs (and FeliCa IDms) and delivers each presentation.

    A card left on the reader is one read however long it stays: a card seen on two
    consecutive polls is still held, and ``hold_s`` (at least three polls) covers a card
    that drops out of the field for a moment.
    """

    Options = NfcOptions

    def __init__(self, name: str, options: DriverOptions, context: DriverContext) -> None:
        assert isinstance(options, NfcOptions)
        super().__init__(name, options, context)
        self.nfc_options = options
        # A held card is seen once per poll; a hold shorter than a few polls would repeat it.
        self.repeats = RepeatFilter(max(options.hold_s, 3 * options.poll_s), self.context.clock)
        self.polls = 0  # sense rounds made, for status and tests
        self.empty_polls = 0  # rounds that found nothing
        self.random_uids = 0  # presentations of a random (per-activation) UID, not delivered
        self._clf: Any = None  # nfc.ContactlessFrontend while connected
        self._clf_lock = threading.Lock()
        # with [secure] keys, ISO-DEP cards prove the site's key (docs/credentials.md)
        self.site_keys = site_keys(context.secure) if context.secure else None
        self.activate: Activator = activate_iso_dep  # the seam tests put a software card at
        self.secure_reads = 0  # card sessions run

    # -- StreamingReader ---------------------------------------------------------------
    def _connect(self) -> None:
        # Raises OSError (ENODEV, EACCES, no libusb) when the reader cannot be opened.
        frontend = nfc.ContactlessFrontend(self.nfc_options.device)
        with self._clf_lock:
            self._clf = frontend
        log.info("reader %s: using %s", self.name, frontend)

    def _serve(self, stopping: threading.Event) -> None:
        frontend = self._clf
        if frontend is None:  # closed under us: let the base report it and reconnect
            raise OSError("reader closed")
        targets = [nfc.clf.RemoteTarget("106A")]
        if self.nfc_options.felica:
            targets.append(nfc.clf.RemoteTarget("212F"))
        # What the last poll saw: a card, why it could not be used, or nothing.
        previous: CardNumber | str | None = None
        while not stopping.is_set():
            # sense() swallows RF errors (no card, collision) and returns None; a failing
            # device (USB unplugged, UART gone, socket error) raises and ends this loop.
            target = frontend.sense(*targets, iterations=1)
            self.polls += 1
            previous = self._handle(target, previous)
            stopping.wait(self.nfc_options.poll_s)

    def _disconnect(self) -> None:
        with self._clf_lock:
            frontend, self._clf = self._clf, None
        if frontend is not None:
            frontend.close()

    def close(self) -> None:
        super().close()
        self._disconnect()

    # -- decoding ----------------------------------------------------------------------
    def _handle(self, target: Any, previous: CardNumber | str | None) -> CardNumber | str | None:
        """Deliver what one poll found; returns what it saw for the next poll to compare."""
        if target is None:
            self.empty_polls += 1
            return None
        try:
            card = card_of(target)
        except CardFormatError as exc:
            if previous != str(exc):  # once per presentation, not once per poll
                self._frame_error(str(exc))
            return str(exc)
        if self.site_keys is not None and speaks_iso_dep(target):
            return self._handle_secure(target, card, previous)
        if card is None:
            if previous != "random":
                self.random_uids += 1
                log.info("reader %s: ignored a random UID (phone or privacy card)", self.name)
            return "random"
        if card == previous:
            self.repeats.new(card)  # still on the reader since the last poll: keep it held
        else:
            self._seen(card)
        return card

    def _handle_secure(
        self, target: Any, card: CardNumber | None, previous: CardNumber | str | None
    ) -> CardNumber | str:
        """An ISO-DEP card: its session runs once per presentation (an NTAG 424 counts
        every read), a random-UID card's real UID coming from inside the session."""
        if card is not None and not (self.repeats.new(card) and card != previous):
            return card  # still on the reader: no new session
        if card is None and previous == _RANDOM_SECURE:
            return _RANDOM_SECURE
        self._secure_read(target, card)
        return card if card is not None else _RANDOM_SECURE

    def _secure_read(self, target: Any, sensed: CardNumber | None) -> None:
        assert self.site_keys is not None
        transport = self.activate(self._clf, target)
        if transport is None:  # not ISO-DEP after all: a number, as any other card
            if sensed is not None:
                self._deliver(sensed)
            return
        self.secure_reads += 1
        proof: SecureProof
        try:
            uid, proof = read_secure(transport, self.site_keys, self.context.clock.monotonic)
            number = CardNumber.from_uid(uid)
        except SecureFailure as failure:
            proof = failure.proof()
            # the sensed UID (random per activation for some cards): the gate denies it
            number = sensed or CardNumber.from_uid(bytes(target.sdd_res))
        self._deliver(number, proof)


def card_of(target: Any) -> CardNumber | None:
    """The card number in a sensed nfcpy target; None for a UID that is random per activation.

    Raises CardFormatError for a target that carries no usable identifier.
    """
    if target.sdd_res is not None:  # Type A: the UID, cascade tags already removed by nfcpy
        uid = bytes(target.sdd_res)
        if len(uid) == 4 and uid[0] == _RANDOM_UID_FIRST_BYTE:
            return None
        return CardNumber.from_uid(uid)
    if target.sensf_res is not None:  # FeliCa: response code, then the 8-byte IDm
        idm = bytes(target.sensf_res)[1:9]
        if len(idm) != 8:
            raise CardFormatError("short FeliCa response")
        return CardNumber.from_uid(idm)
    raise CardFormatError(f"no UID in a {target.brty} target (Type 1 tag?)")
