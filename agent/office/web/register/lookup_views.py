"""The search page and the data-subject export."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from agent.office.web.audit import chain
from agent.office.web.audit.models import AuditEntry
from agent.office.web.register.export import export
from agent.office.web.register.forms import ExportForm, SearchForm
from agent.office.web.register.models import Resident
from agent.office.web.register.search import search as run_search


@login_required
@permission_required("register.view_household", raise_exception=True)
def search(request: HttpRequest) -> HttpResponse:
    """Households and residents by unit, name, phone (exact) and plugged-in keys; masked."""
    form = SearchForm(request.GET or None)
    hits = run_search(form.cleaned_data["q"]) if form.is_valid() else []
    context = {"form": form, "hits": hits, "searched": form.is_bound}
    return render(request, "register/search.html", context)


@login_required
@permission_required("register.export_resident", raise_exception=True)
def resident_export(request: HttpRequest, pk: int) -> HttpResponse:
    """Everything held about a resident, numbers opened, for a stated reason; audited."""
    found = get_object_or_404(Resident.objects.select_related("household__unit"), pk=pk)
    form = ExportForm(request.POST or None)
    if request.method != "POST" or not form.is_valid():
        status = 400 if form.is_bound else 200
        context = {"form": form, "title": _("Export for a data-subject request")}
        return render(request, "register/form.html", context, status=status)
    data = export(found)
    reason = form.cleaned_data["reason"]
    chain.append(request.user.get_username(), AuditEntry.Action.EXPORT, f"resident:{pk}", reason)
    if form.cleaned_data["output"] == "json":
        body = json.dumps(data, ensure_ascii=False, indent=2)
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
        name = f"resident-{found.holder_id}.json"
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    else:
        response = render(request, "register/export.html", {"data": data, "resident": found})
    response.headers["Cache-Control"] = "no-store"
    return response
