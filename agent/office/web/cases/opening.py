"""Opening a case entered on a form: saved with its due time, the first step on its timeline
and the audit entry, as every entry point (complaints, the site's kinds, behaviour) does."""

from __future__ import annotations

from typing import Any

from django import forms

from agent.office.web.audit import chain
from agent.office.web.cases.models import Case, CaseStep


def open_case(form: forms.ModelForm[Case], actor: str, **fields: Any) -> Case:
    """The form's case, with ``fields`` set, saved and received by ``actor``; call it inside
    the caller's transaction."""
    case = form.save(commit=False)
    for name, value in fields.items():
        setattr(case, name, value)
    case.set_due()
    case.save()
    form.save_m2m()
    CaseStep.objects.create(case=case, actor=actor, action="received", state_after=case.state)
    chain.append(actor, "case.received", f"case {case.pk}", case.kind)
    return case
