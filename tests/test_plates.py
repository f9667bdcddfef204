"""Plates as credentials (issue 22): normal form, formats, masking, OCR confusions, and
the vendors' push payloads (built from their published field names) through the parsers."""

from __future__ import annotations

import base64
import contextlib
import json

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from agent.store.credentials import CredentialHasher
from agent.store.plates import plate_credential
from drivers.anpr_push import MAX_PICTURE, PushRefused, parse
from drivers.cards import Technology, parse_card
from drivers.plates import PlateFormats, PlateNumber, compact, mask_plate

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9"
HIK_NS = "http://www.hikvision.com/ver20/XMLSchema"


def hik_alert(plate: str = "京A12345", level: str = "93", event: str = "ANPR") -> bytes:
    """An ISAPI EventNotificationAlert as a Hikvision ANPR camera posts it."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<EventNotificationAlert version="2.0" xmlns="{HIK_NS}">
<ipAddress>192.168.1.64</ipAddress><portNo>80</portNo><protocol>HTTP</protocol>
<macAddress>44:19:b6:00:00:01</macAddress><channelID>1</channelID>
<dateTime>2026-12-07T10:00:00+08:00</dateTime><activePostCount>1</activePostCount>
<eventType>{event}</eventType><eventState>active</eventState>
<eventDescription>ANPR</eventDescription>
<ANPR><country>3</country><licensePlate>{plate}</licensePlate><line>1</line>
<direction>forward</direction><confidenceLevel>{level}</confidenceLevel>
<plateType>unknown</plateType><plateColor>blue</plateColor><vehicleType>vehicle</vehicleType>
<pictureInfoList><pictureInfo><fileName>licensePlatePicture.jpg</fileName>
<type>licensePlatePicture</type><dataType>0</dataType></pictureInfo></pictureInfoList>
<originalLicensePlate>{plate}</originalLicensePlate></ANPR>
<UUID>bd4a3c5e-0000-0000-0000-000000000001</UUID>
</EventNotificationAlert>""".encode()


def multipart(xml: bytes, picture: bytes | None = JPEG) -> tuple[str, bytes]:
    """Hikvision's multipart form: the alert as ``anpr.xml``, then the plate picture."""
    boundary = "MIME_boundary_2a1f"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="anpr.xml"; '
        f'filename="anpr.xml"\r\nContent-Type: application/xml\r\n'
        f"Content-Length: {len(xml)}\r\n\r\n".encode()
        + xml
        + b"\r\n"
    ]
    if picture is not None:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="licensePlatePicture.jpg"; '
            f'filename="licensePlatePicture.jpg"\r\nContent-Type: image/jpeg\r\n'
            f"Content-Length: {len(picture)}\r\n\r\n".encode()
            + picture
            + b"\r\n"
        )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", body


def dahua(plate: str = "京A12345", confidence: int = 93, picture: bytes = JPEG) -> bytes:
    """Dahua ITC's ITSAPI picture push (``/NotificationInfo/TollgateInfo``)."""
    return json.dumps({"Picture": {
        "SnapInfo": {"DeviceID": "ITC-01", "SnapTime": "2026-12-07 10:00:00"},
        "Plate": {"PlateNumber": plate, "PlateColor": "Blue", "Confidence": confidence},
        "Vehicle": {"VehicleColor": "White"},
        "CutoutPic": {"PicName": "plate.jpg", "Content": base64.b64encode(picture).decode()},
        "NormalPic": {"PicName": "scene.jpg", "Content": base64.b64encode(picture).decode()},
    }}, ensure_ascii=False).encode()  # fmt: skip


def test_plates_in_any_spelling_are_one_plate_and_of_a_format() -> None:
    formats = PlateFormats()
    for typed in ("京A·12345", "京a 12345", "京A-12345", "京Ａ１２３４５"):
        assert formats.parse(typed).text == "京A12345"
    assert formats.parse("粤B D12345").text == "粤BD12345"  # new energy, small
    assert formats.parse("粤B12345D").text == "粤B12345D"  # new energy, large
    assert formats.parse("京A1234学").text == "京A1234学"
    for bad in ("", "A12345", "京I12345", "京A1234", "京A123456789", "XX<script>", "京A12345'"):
        with pytest.raises(ValueError):
            formats.parse(bad)
    hong_kong = PlateFormats(["mainland"], [r"[A-Z]{2}[0-9]{1,4}"])
    assert hong_kong.parse("ab 123").text == "AB123"
    with pytest.raises(ValueError):
        hong_kong.parse("粤BD12345")  # new energy not configured


def test_a_plate_is_masked_and_hashed_apart_from_any_card() -> None:
    hasher = CredentialHasher(b"k" * 32)
    plate = PlateFormats().parse("京A12345")
    credential, masked = hasher.identify(plate)
    assert masked == mask_plate("京A12345") == "京A****45"
    assert "12345" not in repr(plate) and repr(plate) == "PlateNumber(京A****45)"
    # the same text as a card number hashes elsewhere: the namespaces never meet
    card = parse_card("uid:12345678")
    assert credential != hasher.identify(card)[0]
    assert plate_credential("京a-12345", hasher) == (credential, masked)
    assert plate_credential("no plate", hasher) == "plate: not a licence plate"


def test_ocr_confusions_one_swap_within_the_formats() -> None:
    formats = PlateFormats()
    variants = {v.text for v in formats.variants(formats.parse("京A80123"))}
    # 8->B, 0->D (O is never on a mainland plate), 1->I is no plate, 2->Z
    assert variants == {"京AB0123", "京A8D123", "京A801Z3"}
    assert all(
        v.technology is Technology.PLATE for v in formats.variants(formats.parse("京A12345"))
    )


# full-width letters and digits too, as some cameras and keyboards send them
plate_chars = st.sampled_from([*"京粤沪ABDFZ0128OI学 -·", "\uff41", "\uff11"])


@given(st.text(plate_chars, max_size=14) | st.text(max_size=20))
def test_parsing_a_plate_never_raises_anything_but_a_format_error(text: str) -> None:
    formats = PlateFormats()
    try:
        plate = formats.parse(text)
    except ValueError:
        return
    assert formats.parse(plate.text) == plate and compact(plate.text) == plate.text
    for variant in formats.variants(plate):
        assert formats.accepts(variant.text)
        assert sum(a != b for a, b in zip(variant.text, plate.text, strict=True)) == 1


def test_hikvision_xml_and_multipart_give_plate_confidence_and_picture() -> None:
    push = parse("hikvision", "application/xml; charset=UTF-8", hik_alert())
    assert (push.plate, push.confidence, push.picture) == ("京A12345", 0.93, None)
    content_type, body = multipart(hik_alert(level="71"))
    push = parse("hikvision", content_type, body)
    assert (push.plate, push.confidence, push.picture) == ("京A12345", 0.71, JPEG)
    assert parse("hikvision", "application/xml", hik_alert(event="videoloss")).heartbeat


def test_dahua_and_the_webhook() -> None:
    push = parse("dahua", "application/json", dahua())
    assert (push.plate, push.confidence, push.picture) == ("京A12345", 0.93, JPEG)
    hook = json.dumps({"plate": "粤BD12345", "confidence": 0.5}).encode()
    assert parse("webhook", "application/json", hook).confidence == 0.5


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">]>
<EventNotificationAlert><eventType>ANPR</eventType><ANPR><licensePlate>&lol2;</licensePlate>
</ANPR></EventNotificationAlert>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<EventNotificationAlert><eventType>ANPR</eventType><ANPR><licensePlate>&xxe;</licensePlate>
</ANPR></EventNotificationAlert>"""


def test_hostile_and_broken_pushes_are_refused_with_a_reason() -> None:
    cases = [
        ("hikvision", "application/xml", BOMB, "xml_refused"),
        ("hikvision", "application/xml", EXTERNAL, "xml_refused"),
        ("hikvision", "application/xml", b"<EventNotificationAlert>", "malformed"),
        ("hikvision", "application/xml", hik_alert(level="250"), "malformed"),
        ("hikvision", "application/xml", hik_alert(plate=""), "malformed"),
        ("hikvision", "image/png", b"x", "malformed"),
        ("hikvision", "multipart/form-data; boundary=x", b"--x--", "malformed"),
        ("dahua", "application/json", b"[1, 2", "malformed"),
        ("dahua", "application/json", b'{"Picture": 3}', "malformed"),
        ("webhook", "application/json", b'{"plate": "x", "confidence": NaN}', "malformed"),
        ("webhook", "application/json", b'{"plate": 7}', "malformed"),
        ("webhook", "application/json", b'{"plate": "x", "picture": "@@"}', "malformed"),
    ]
    for vendor, content_type, body, reason in cases:
        with pytest.raises(PushRefused) as caught:
            parse(vendor, content_type, body)
        assert caught.value.reason == reason, body[:60]
    huge = JPEG + b"\x00" * MAX_PICTURE
    with pytest.raises(PushRefused, match="picture_too_large"):
        parse("dahua", "application/json", dahua(picture=huge))
    with pytest.raises(PushRefused, match="picture_too_large"):
        parse("hikvision", *multipart(hik_alert(), huge))


@given(
    st.binary(max_size=400), st.sampled_from(["application/xml", "multipart/form-data; boundary=b"])
)
def test_the_hikvision_parser_never_raises_on_any_bytes(body: bytes, content_type: str) -> None:
    with contextlib.suppress(PushRefused):
        parse("hikvision", content_type, body)


@given(st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["Picture", "Plate", "PlateNumber", "Confidence", "CutoutPic",
                         "Content", "plate", "confidence", "picture"]), inner, max_size=5),
    max_leaves=12,
))  # fmt: skip
def test_the_json_parsers_never_raise_on_any_document(doc: object) -> None:
    body = json.dumps(doc).encode()
    for vendor in ("dahua", "webhook"):
        try:
            push = parse(vendor, "application/json", body)
        except PushRefused:
            continue
        assert push.heartbeat or (isinstance(push.plate, str) and 0 <= push.confidence <= 1)


@given(st.binary(max_size=300))
def test_multipart_bodies_of_any_bytes_are_refused_or_parsed(tail: bytes) -> None:
    content_type, body = multipart(hik_alert())
    with contextlib.suppress(PushRefused):
        parse("hikvision", content_type, body[: len(body) // 2] + tail)


def test_plate_number_is_a_card_number_for_the_read_path() -> None:
    plate = PlateNumber(Technology.PLATE, 0, 0, "京A12345")
    assert plate.canonical() == "plate:京A12345" and plate.masked() == "京A****45"


@given(st.text(max_size=300), st.text(max_size=120), st.text(max_size=40))
@example("=", "", "")  # a key with an empty value: urllib's parser indexed past its end
def test_credentials_of_any_shape_are_refused_never_raise(
    authorization: str, query: str, x_token: str
) -> None:
    from drivers.anpr_auth import DigestGuard, token_ok

    secret = "camera-token-0123456789"
    assume(secret not in authorization + query + x_token)
    assert token_ok(secret, authorization, x_token, query) is False
    assert token_ok(secret, authorization, x_token, f"{query}&token={secret}") in (True, False)
    assert token_ok(secret, f"Bearer {secret}", x_token, query) is True
    guard = DigestGuard("gate", "digest-pass-0123")
    assert guard.check(authorization, "POST", "/anpr/cam", 1000.0) in ("bad", "stale")
    assert guard.check("Digest " + authorization, "POST", "/anpr/cam", 1000.0) == "bad"


def test_a_digest_answer_is_accepted_once_and_a_replay_is_not() -> None:
    import hashlib

    from drivers.anpr_auth import DigestGuard

    guard = DigestGuard("gate", "digest-pass-0123")
    challenge = guard.challenge(1000.0)
    nonce = challenge.split('nonce="')[1].split('"')[0]

    def h(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    ha1, ha2 = h("gate:gate-agent:digest-pass-0123"), h("POST:/anpr/cam")
    response = h(f"{ha1}:{nonce}:00000001:c1:auth:{ha2}")
    answer = (
        f'Digest username="gate", realm="gate-agent", nonce="{nonce}", uri="/anpr/cam", '
        f'qop=auth, nc=00000001, cnonce="c1", response="{response}", algorithm=MD5'
    )
    assert guard.check(answer, "POST", "/anpr/cam", 1001.0) == "ok"
    assert guard.check(answer, "POST", "/anpr/cam", 1002.0) == "bad"  # replayed
    assert guard.check(answer, "POST", "/anpr/other", 1002.0) == "bad"  # another request
    assert guard.check(answer.replace("nc=00000001", "nc=00000002"), "POST", "/anpr/cam",
                       1002.0) == "bad"  # the response covers the count  # fmt: skip
