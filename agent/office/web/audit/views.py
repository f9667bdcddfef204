"""The audit log's pages (auditors and managers)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from agent.office.web.audit import chain
from agent.office.web.audit.models import AuditEntry


@login_required
@permission_required("audit.view_auditentry", raise_exception=True)
def audit_log(request: HttpRequest) -> HttpResponse:
    """The newest entries first, and whether the chain holds."""
    pages = Paginator(AuditEntry.objects.order_by("-position"), 50)
    page = pages.get_page(request.GET.get("page"))
    return render(request, "audit/log.html", {"page": page, "verdict": chain.verify()})
