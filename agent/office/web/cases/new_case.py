"""A case of a kind the site adds in ``[workplace.cases]`` (or a complaint), entered like a
complaint with its kind chosen; behaviour cases and incidents have entry points of their own."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.db import transaction
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agent.office.web.cases import kinds
from agent.office.web.cases.forms import ComplaintForm
from agent.office.web.cases.opening import open_case
from agent.office.web.staff.accounts import signed_in_account


class CaseForm(ComplaintForm):
    """The complaint form with the case's kind: a complaint or one the site added."""

    kind = forms.ChoiceField(label=_("kind"))

    class Meta(ComplaintForm.Meta):
        fields = ["kind", *ComplaintForm.Meta.fields]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("complaint", kinds.label("complaint")), *kinds.extra_kinds()]
        self.fields["kind"].choices = choices  # type: ignore[attr-defined]


@login_required
@permission_required("cases.add_case", raise_exception=True)
def case_new(request: HttpRequest) -> HttpResponseBase:
    staff = signed_in_account(request)
    now = timezone.localtime().replace(second=0, microsecond=0)
    form = CaseForm(request.POST or None, initial={"received_at": now}, user=staff)
    if request.method == "POST" and form.is_valid():
        actor = staff.get_username()
        with transaction.atomic():
            case = open_case(form, actor)
        return redirect("cases:case", pk=case.pk)
    return render(request, "cases/new_case.html", {"form": form})
