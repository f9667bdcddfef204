"""What ANPR cameras push over HTTP, parsed into one shape: plate text, confidence, picture.

* Hikvision ISAPI: an ``EventNotificationAlert`` (namespace
  ``http://www.hikvision.com/ver20/XMLSchema``) with ``eventType`` ANPR and an ``ANPR``
  element (``licensePlate``, ``confidenceLevel`` 0-100), posted as XML alone or as
  ``multipart/form-data`` whose ``anpr.xml`` part is the alert and whose JPEG parts are
  the pictures (``licensePlatePicture.jpg``, ``detectionPicture.jpg``).
* Dahua ITC (ITSAPI picture push, ``/NotificationInfo/TollgateInfo``): JSON
  ``{"Picture": {"Plate": {"PlateNumber", "Confidence"}, "CutoutPic": {"Content": base64},
  "NormalPic": {...}, "SnapInfo": {...}}}``.
* a plain webhook for anything else: ``{"plate": ..., "confidence": 0..1, "picture":
  base64}``.

Everything here is outside input: XML goes through defusedxml (no entity expansion, no
external entities, no DTD), bodies and pictures have size limits checked before
anything is decoded, and every fault is a ``PushRefused`` with a short reason, never
another exception.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from agent.errors import GateError

MAX_PICTURE = 1024 * 1024  # bytes of one JPEG; a plate crop is tens of kB
MAX_PLATE_TEXT = 16
HIK_NS = "{http://www.hikvision.com/ver20/XMLSchema}"
VENDORS = ("hikvision", "dahua", "webhook")


class PushRefused(GateError):
    """A camera's push that is not a usable plate read; ``reason`` is counted per camera."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class PlatePush:
    """One plate read as a camera pushed it (the text still raw: the driver normalises)."""

    plate: str = field(repr=False)
    confidence: float  # 0..1
    picture: bytes | None = field(default=None, repr=False)
    heartbeat: bool = False  # a keep-alive or another event type: answered, not a read


def parse(vendor: str, content_type: str, body: bytes) -> PlatePush:
    """The read in ``body`` as ``vendor`` sends it; PushRefused if there is none."""
    try:
        if vendor == "hikvision":
            return _hikvision(content_type, body)
        if vendor == "dahua":
            return _dahua(_json(body))
        if vendor == "webhook":
            return _webhook(_json(body))
    except PushRefused:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, LookupError) as exc:
        raise PushRefused("malformed", type(exc).__name__) from None
    raise PushRefused("unknown_vendor", vendor)


# -- Hikvision ---------------------------------------------------------------------------


def _hikvision(content_type: str, body: bytes) -> PlatePush:
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "multipart/form-data":
        xml, pictures = _multipart(content_type, body)
        if xml is None:
            raise PushRefused("malformed", "no XML part")
        alert = _hik_alert(xml)
        picture = pictures.get("licensePlatePicture.jpg") or next(iter(pictures.values()), None)
        return _hik_read(alert, picture)
    if media in ("application/xml", "text/xml", ""):
        return _hik_read(_hik_alert(body), None)
    raise PushRefused("malformed", "unexpected content type")


def _hik_alert(xml: bytes) -> Element:
    try:
        root: Element = fromstring(xml, forbid_dtd=True)
    except DefusedXmlException:
        raise PushRefused("xml_refused", "DTD or entities") from None
    except SyntaxError:  # ParseError
        raise PushRefused("malformed", "not XML") from None
    if _local(root.tag) != "EventNotificationAlert":
        raise PushRefused("malformed", "not an EventNotificationAlert")
    return root


def _hik_read(alert: Element, picture: bytes | None) -> PlatePush:
    event = (_child_text(alert, "eventType") or "").strip()
    anpr = _child(alert, "ANPR")
    if event.upper() != "ANPR" or anpr is None:
        return PlatePush("", 0.0, None, heartbeat=True)  # videoloss, heartbeat, other events
    plate = _child_text(anpr, "licensePlate") or _child_text(anpr, "originalLicensePlate")
    level = _child_text(anpr, "confidenceLevel")
    confidence = _number(level, 100.0) if level is not None else 0.0
    return PlatePush(_plate_text(plate), confidence, picture)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _child(node: Element, name: str) -> Element | None:
    for child in node:
        if _local(child.tag) == name:
            return child
    return None


def _child_text(node: Element, name: str) -> str | None:
    child = _child(node, name)
    return child.text if child is not None else None


def _multipart(content_type: str, body: bytes) -> tuple[bytes | None, dict[str, bytes]]:
    """(the XML part, pictures by file name) of a multipart body, by the standard
    library's MIME parser (the body's size was limited before it got here). Its
    ``compat32`` policy: the same parts, a tenth of the time of the ``HTTP`` policy's
    header objects (0.1 ms against 0.9 ms for an alert with its picture, measured here)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=compat32).parsebytes(head + body)
    if not message.is_multipart():
        raise PushRefused("malformed", "not multipart")
    xml: bytes | None = None
    pictures: dict[str, bytes] = {}
    parts = message.get_payload()
    for part in parts if isinstance(parts, list) else []:
        if not isinstance(part, Message) or part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        kind = part.get_content_type()
        name = str(
            part.get_filename() or part.get_param("name", header="content-disposition") or ""
        )
        if kind in ("application/xml", "text/xml") or name.endswith(".xml"):
            xml = xml if xml is not None else payload
        elif kind.startswith("image/"):
            _picture_size(len(payload))
            pictures[name] = payload
    return xml, pictures


# -- Dahua and the webhook ---------------------------------------------------------------


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise PushRefused("malformed", "not JSON") from None


def _no_constant(name: str) -> None:
    raise PushRefused("malformed", f"{name} is not a number")


def _dahua(doc: Any) -> PlatePush:
    picture_doc = doc.get("Picture") if isinstance(doc, dict) else None
    if not isinstance(picture_doc, dict):
        raise PushRefused("malformed", "no Picture object")
    plate_doc = picture_doc.get("Plate")
    if not isinstance(plate_doc, dict):
        return PlatePush("", 0.0, None, heartbeat=True)  # a snapshot without a plate
    confidence = plate_doc.get("Confidence")
    picture = None
    for key in ("CutoutPic", "NormalPic"):
        pic = picture_doc.get(key)
        if isinstance(pic, dict) and isinstance(pic.get("Content"), str):
            picture = _base64_picture(pic["Content"])
            break
    level = _number(confidence, 100.0) if confidence is not None else 0.0
    return PlatePush(_plate_text(plate_doc.get("PlateNumber")), level, picture)


def _webhook(doc: Any) -> PlatePush:
    if not isinstance(doc, dict):
        raise PushRefused("malformed", "not an object")
    picture = doc.get("picture")
    if picture is not None and not isinstance(picture, str):
        raise PushRefused("malformed", "picture is base64 text")
    return PlatePush(
        _plate_text(doc.get("plate")),
        _number(doc.get("confidence"), 1.0),
        _base64_picture(picture) if picture else None,
    )


# -- shared -----------------------------------------------------------------------------


def _plate_text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PushRefused("malformed", "no plate")
    if len(value) > 4 * MAX_PLATE_TEXT:
        raise PushRefused("bad_plate", "too long")
    return value


def _number(value: object, scale: float) -> float:
    """A confidence on the camera's scale (0-100 or 0-1) as 0..1."""
    if isinstance(value, bool):
        raise PushRefused("malformed", "confidence")
    if isinstance(value, str):
        value = float(value.strip())
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise PushRefused("malformed", "confidence")
    level = float(value) / scale
    if not 0.0 <= level <= 1.0:
        raise PushRefused("malformed", "confidence out of range")
    return level


def _picture_size(size: int) -> None:
    if size > MAX_PICTURE:
        raise PushRefused("picture_too_large", f"{size} bytes")


def _base64_picture(text: str) -> bytes:
    _picture_size(len(text) * 3 // 4)  # before decoding
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise PushRefused("malformed", "picture is not base64") from None
