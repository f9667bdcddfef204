"""A case's attachments: kept when the content is JPEG, PNG or PDF and small enough, refused
beside the field otherwise whatever the name says, served only to who may read the case."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from tests.office_web_rig import ROLES, a_resident, db, make_staff, office_web, signed_in

__all__ = ["db", "office_web"]

M, C, G, A = ROLES
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _case(client: Any) -> int:
    from agent.office.web.cases.models import Case

    form = {
        "title": "Broken lamp",
        "unit": str(a_resident().household.unit.pk),
        "description": "The lamp by the gate is out.",
        "received_at": "2026-12-04T16:30",
        "owner": str(make_staff("owner", M).pk),
    }
    assert client.post("/cases/complaints/new/", form).status_code == 302
    return Case.objects.get().pk


def test_a_scanned_form_is_kept_and_served_back(db: None) -> None:
    from agent.office.web.audit.models import AuditEntry

    clerk = signed_in(C)
    pk = _case(clerk)
    upload = SimpleUploadedFile("form.txt", PNG, content_type="text/plain")
    assert clerk.post(f"/cases/{pk}/attachments/", {"file": upload}).status_code == 302
    page = clerk.get(f"/cases/{pk}/").content.decode()
    assert "form.txt" in page and "Attachment added" in page
    from agent.office.web.cases.models import CaseAttachment

    kept = CaseAttachment.objects.get()
    served = clerk.get(f"/cases/{pk}/attachments/{kept.pk}/")
    assert served["Content-Type"] == "image/png" and served.content == PNG
    assert AuditEntry.objects.filter(action="case.attach").count() == 1
    assert signed_in(A).get(f"/cases/{pk}/attachments/{kept.pk}/").status_code == 403
    guard = SimpleUploadedFile("x.png", PNG, content_type="image/png")
    assert signed_in(G).post(f"/cases/{pk}/attachments/", {"file": guard}).status_code == 403


@override_settings(GATE_OFFICE_CASE_ATTACHMENT_BYTES=50)
def test_wrong_types_and_oversized_files_are_refused_beside_the_field(db: None) -> None:
    from agent.office.web.cases.models import CaseAttachment

    clerk = signed_in(C)
    pk = _case(clerk)
    script = SimpleUploadedFile(
        "photo.jpg", b"<script>alert(1)</script>", content_type="image/jpeg"
    )
    refused = clerk.post(f"/cases/{pk}/attachments/", {"file": script})
    assert refused.status_code == 200
    assert "Only JPEG, PNG or PDF files can be attached." in refused.content.decode()
    big = SimpleUploadedFile("big.png", PNG, content_type="image/png")
    too_big = clerk.post(f"/cases/{pk}/attachments/", {"file": big})
    assert too_big.status_code == 200 and "The file is larger than" in too_big.content.decode()
    assert not CaseAttachment.objects.exists()
