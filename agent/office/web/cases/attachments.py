"""Attachments of a case: photos and scanned forms, size-limited, their type read from the
first bytes of the content (a name or a browser's claim proves nothing)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from agent.office.web.audit import chain
from agent.office.web.cases import access
from agent.office.web.cases.models import Case, CaseAttachment, CaseStep
from agent.office.web.staff.accounts import signed_in_account

# the signatures of the types a case may hold
SIGNATURES = [
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
]


def sniff(head: bytes) -> str | None:
    """The content type the bytes begin with, or None when it is not one a case holds."""
    return next((kind for magic, kind in SIGNATURES if head.startswith(magic)), None)


class AttachmentForm(forms.Form):
    """One file for a case."""

    file = forms.FileField(label=_("photo or scanned form (JPEG, PNG or PDF)"))

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        limit = int(settings.GATE_OFFICE_CASE_ATTACHMENT_BYTES)
        if (upload.size or 0) > limit:
            raise forms.ValidationError(
                _("The file is larger than %(limit)s.") % {"limit": filesizeformat(limit)}
            )
        upload.seek(0)
        kind = sniff(upload.read(8))
        if kind is None:
            raise forms.ValidationError(_("Only JPEG, PNG or PDF files can be attached."))
        upload.content_type = kind
        return upload


@login_required
@permission_required("cases.handle_case", raise_exception=True)
@require_POST
def attach(request: HttpRequest, pk: int) -> HttpResponseBase:
    from agent.office.web.cases.views import case_page

    staff = signed_in_account(request)
    case = access.check(request.user, get_object_or_404(Case, pk=pk))
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        return case_page(request, case, attachment_form=form)
    upload = form.cleaned_data["file"]
    upload.seek(0)
    actor = staff.get_username()
    with transaction.atomic():
        CaseAttachment.objects.create(
            case=case,
            name=(upload.name or "file")[:200],
            content_type=upload.content_type,
            data=upload.read(),
            added_by=actor,
        )
        CaseStep.objects.create(
            case=case,
            actor=actor,
            action="attach",
            state_before=case.state,
            state_after=case.state,
            note=upload.name or "",
        )
        chain.append(actor, "case.attach", f"case {case.pk}", upload.name or "")
    return redirect("cases:case", pk=case.pk)


@login_required
@permission_required("cases.view_case", raise_exception=True)
def attachment(request: HttpRequest, pk: int, file_pk: int) -> HttpResponse:
    found = get_object_or_404(CaseAttachment, pk=file_pk, case_id=pk)
    access.check(request.user, found.case)
    response = HttpResponse(bytes(found.data), content_type=found.content_type)
    response["Content-Disposition"] = "attachment"
    return response
