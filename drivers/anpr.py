"""ANPR cameras as readers: a camera pushes plate reads; each becomes a ``CardRead``
whose card is a ``PlateNumber`` (hashed by the gate like a card number).

The camera's HTTP push arrives at the gate's plate receiver (``agent.console.anpr``),
which finds the camera by its path and source address and hands it here: this class
says whether the request is the camera's (``authenticate``), turns a parsed push into
a read (threshold, formats, the same plate twice within ``repeat_s``) and counts
everything it refuses. Nothing here blocks: the read goes to the reader's bounded lane.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import ClassVar, Literal, Protocol, runtime_checkable

from pydantic import Field

from agent.errors import CardFormatError, DriverError
from drivers.anpr_auth import DigestGuard, token_ok
from drivers.anpr_push import PlatePush, PushRefused, parse
from drivers.base import CardReader, DriverContext, DriverOptions
from drivers.cards import CardRead, Technology
from drivers.plates import DEFAULT_FORMATS, PlateFormats, PlateNumber, PlateSighting, compact

KeepPicture = Callable[[str, bytes], object]  # (picture id, JPEG): the gate's picture store
Later = list[Callable[[], None]]


class CameraOptions(DriverOptions):
    """A camera's ``[[doors.readers]]`` options besides ``driver`` and ``id``."""

    address: str = Field(min_length=1)  # the camera's LAN address: pushes from elsewhere refused
    auth: Literal["token", "digest"] = "token"
    user: str = "gate"  # digest user name set on the camera
    secret_file: Path | None = None  # the token or digest password, one line, mode 0600
    min_confidence: float = Field(0.8, ge=0, le=1)  # below: plate_unreadable, a guard decides
    repeat_s: float = Field(5.0, ge=0, le=300)  # the same plate again within this: one read
    tolerant: bool = False  # one OCR confusion (0/O/D, 1/I, 8/B, 2/Z) forgiven: docs/plates.md
    formats: list[str] = Field(default_factory=lambda: list(DEFAULT_FORMATS))
    patterns: list[str] = []  # extra plate shapes (regular expressions, normalised form)
    max_body: int = Field(2 * 1024 * 1024, ge=1024, le=16 * 1024 * 1024)
    rate: float = Field(10.0, gt=0, le=1000)  # pushes a second kept; the rest counted, dropped


class PlateCamera(CardReader):
    """One ANPR camera; ``vendor`` says which push format it speaks."""

    Options = CameraOptions
    vendor: ClassVar[str] = "webhook"

    def __init__(self, name: str, options: DriverOptions, context: DriverContext) -> None:
        super().__init__(name, options, context)
        assert isinstance(options, CameraOptions)
        self.opts = options
        try:
            self.formats = PlateFormats(options.formats, options.patterns)
        except CardFormatError as exc:
            raise DriverError(f"reader {name}: {exc}") from None
        self._secret = _read_secret(name, options.secret_file) if type(self).vendor != "sim" else ""
        self._digest = DigestGuard(options.user, self._secret) if options.auth == "digest" else None
        self.refused: Counter[str] = Counter()  # why pushes were refused, by reason
        self._lock = threading.Lock()  # the receiver's thread and the simulator both push
        self._last: dict[str, float] = {}  # plate -> when last delivered
        self._bucket, self._bucket_at = 2 * options.rate, 0.0
        # where pictures go: the gate puts its picture store here before readers start
        # (None: pictures are not kept)
        self.keep_picture: KeepPicture | None = None

    def _open(self) -> None:
        self._health(True, f"listening for {type(self).vendor} pushes from {self.opts.address}")

    # -- the receiver's calls ---------------------------------------------------------
    def authenticate(
        self, method: str, uri: str, query: str, authorization: str, x_token: str
    ) -> tuple[bool, str | None]:
        """(allowed, the WWW-Authenticate challenge to send when not)."""
        now = self.context.clock.monotonic()
        if self._digest is None:
            return token_ok(self._secret, authorization, x_token, query), None
        verdict = self._digest.check(authorization, method, uri, now)
        if verdict == "ok":
            return True, None
        return False, self._digest.challenge(now, stale=verdict == "stale")

    def admit(self) -> bool:
        """Whether one more push fits this camera's rate (a token bucket); counted if not."""
        with self._lock:
            now = self.context.clock.monotonic()
            burst = 2 * self.opts.rate
            self._bucket = min(burst, self._bucket + (now - self._bucket_at) * self.opts.rate)
            self._bucket_at = now
            if self._bucket < 1.0:
                self.refused["flood"] += 1
                return False
            self._bucket -= 1.0
            return True

    def push(self, content_type: str, body: bytes, later: Later | None = None) -> str:
        """Parse and deliver one push; the outcome (``read``, ``repeat``, ``unreadable``,
        ``ignored``) or PushRefused, counted. With ``later`` the delivery is added to it
        instead of done: the receiver answers the camera first (see ``agent.console.anpr``)."""
        try:
            return self.sighted(parse(type(self).vendor, content_type, body), later)
        except PushRefused as exc:
            self.refused[exc.reason] += 1
            raise

    def sighted(self, push: PlatePush, later: Later | None = None) -> str:
        """One parsed read: unreadable below the threshold, a plate read otherwise."""
        if push.heartbeat:
            return "ignored"
        if push.confidence < self.opts.min_confidence:
            # no decision: a guard looks at the picture; the guess is only ever shown masked
            guess = "".join(c for c in compact(push.plate) if c.isalnum())[:16]
            plate = PlateNumber(Technology.PLATE, 0, 0, guess)
            self._sighting(plate, push, later, unreadable=True)
            return "unreadable"
        try:
            plate = self.formats.parse(push.plate)
        except CardFormatError:
            raise PushRefused("bad_plate", "not a configured format") from None
        with self._lock:
            now = self.context.clock.monotonic()
            last = self._last.get(plate.text)
            if last is not None and now - last < self.opts.repeat_s:
                self.refused["repeat"] += 1
                return "repeat"
            self._last[plate.text] = now
            for text, at in list(self._last.items()):
                if now - at >= self.opts.repeat_s:
                    del self._last[text]
        self._sighting(plate, push, later)
        return "read"

    def _sighting(
        self, plate: PlateNumber, push: PlatePush, later: Later | None, unreadable: bool = False
    ) -> None:
        if later is not None:
            later.append(partial(self._sighting, plate, push, None, unreadable))
            return
        # the read names its picture and goes first; the file is written after: the
        # decision never waits for it (the event holds the id, the file follows)
        keep = self.keep_picture if push.picture else None
        picture_id = secrets.token_hex(16) if keep is not None else None
        self._deliver_plate(plate, PlateSighting(push.confidence, picture_id, unreadable))
        if keep is not None and picture_id is not None and push.picture is not None:
            keep(picture_id, push.picture)

    def _deliver_plate(self, plate: PlateNumber, sighting: PlateSighting) -> CardRead:
        at, read_id = self.context.clock.monotonic(), next(self._read_ids)
        read = CardRead(plate, self.name, at, read_id, None, sighting)
        if self._hooks is not None:
            self._hooks.read(read)
        return read


class HikvisionCamera(PlateCamera):
    """Hikvision ANPR cameras (ISAPI ``EventNotificationAlert``, XML or multipart)."""

    vendor = "hikvision"


class DahuaCamera(PlateCamera):
    """Dahua ITC cameras (ITSAPI JSON picture push)."""

    vendor = "dahua"


def _read_secret(name: str, path: Path | None) -> str:
    if path is None:
        raise DriverError(f"reader {name}: a camera needs secret_file (its token or password)")
    try:
        secret = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise DriverError(f"cannot read camera secret {path}: {exc}") from None
    if len(secret) < 12:
        raise DriverError(f"camera secret {path} is shorter than 12 characters")
    return secret


@runtime_checkable
class PlateStimulus(Protocol):
    """A camera that takes plates from software (the simulator)."""

    name: str

    def show(
        self, plate: str, confidence: float = 1.0, picture: bytes | None = None
    ) -> tuple[str, CardRead | None]: ...
