"""The plan version form (roles, steps, doors and contacts as lines, each refused beside
its field with the line that is wrong), the drill's schedule and tick forms."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agent.errors import GateError
from agent.models.drills import MAX_MINUTES
from agent.office.web.plans.models import PlanVersion
from agent.office.web.visitors.issuing import known_doors

LIST_FIELDS = ("roles", "steps", "doors", "contacts")


def _lines(text: str) -> list[tuple[int, str]]:
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def _bad(n: int, why: Any) -> forms.ValidationError:
    return forms.ValidationError(_("line %(n)s: %(why)s") % {"n": n, "why": why})


def _parts(n: int, line: str, count: int) -> list[str]:
    parts = [p.strip() for p in line.split("|")]
    if len(parts) != count or not all(parts):
        raise _bad(n, _("write %(count)s parts separated by |") % {"count": count})
    return parts


def as_text(version: PlanVersion) -> dict[str, str]:
    """A version's lists as the form's lines (a new draft starts from them)."""
    return {
        "roles": "\n".join(f"{r['name']}: {', '.join(r['holders'])}" for r in version.roles),
        "steps": "\n".join(f"{s['minutes']:g} | {s['role']} | {s['text']}" for s in version.steps),
        "doors": "\n".join(
            f"{d['action']} {d['site']}/{d['gate']}/{d['door']}" for d in version.doors
        ),
        "contacts": "\n".join(
            f"{c['name']} | {c['role']} | {c['phone']}" for c in version.contacts
        ),
    }


class PlanVersionForm(forms.ModelForm[PlanVersion]):
    """A draft version: the lists as lines, checked line by line."""

    roles = forms.CharField(
        label=_("roles"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("one role a line: role: staff account, staff account"),
    )
    steps = forms.CharField(
        label=_("steps in order"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("one step a line: target minutes | role | what is done"),
    )
    doors = forms.CharField(
        label=_("doors"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("one door a line: release site/gate/door or lock site/gate/door"),
    )
    contacts = forms.CharField(
        label=_("contacts"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("one contact a line: name | role | phone"),
    )

    class Meta:
        model = PlanVersion
        fields = ["title", "release_within_s", "drill_kind", "drill_minutes", "drills_per_year"]

    def clean_roles(self) -> list[dict[str, Any]]:
        roles: list[dict[str, Any]] = []
        for n, line in _lines(self.cleaned_data["roles"]):
            name, colon, holders_text = line.partition(":")
            holders = [h.strip() for h in holders_text.split(",") if h.strip()]
            if not colon or not name.strip() or not holders:
                raise _bad(n, _("write the role, a colon, then its holders' staff accounts"))
            active = set(
                User.objects.filter(username__in=holders, is_active=True).values_list(
                    "username", flat=True
                )
            )
            unknown = [h for h in holders if h not in active]
            if unknown:
                raise _bad(n, _("no active staff account %(name)s") % {"name": unknown[0]})
            roles.append({"name": name.strip(), "holders": holders})
        return roles

    def clean_steps(self) -> list[dict[str, Any]]:
        steps: list[dict[str, Any]] = []
        for n, line in _lines(self.cleaned_data["steps"]):
            minutes_text, role, text = _parts(n, line, 3)
            try:
                minutes = float(minutes_text)
            except ValueError:
                raise _bad(n, _("the target minutes must be a number")) from None
            if not 0 <= minutes <= MAX_MINUTES:
                raise _bad(n, _("the target must be 0 to %(max)s minutes") % {"max": MAX_MINUTES})
            steps.append({"minutes": minutes, "role": role, "text": text})
        return steps

    def clean_doors(self) -> list[dict[str, str]]:
        try:
            known = known_doors()
        except GateError as exc:
            raise forms.ValidationError(str(exc)) from None
        doors: list[dict[str, str]] = []
        for n, line in _lines(self.cleaned_data["doors"]):
            action, _space, where = line.partition(" ")
            parts = where.strip().split("/")
            if action not in ("release", "lock") or len(parts) != 3 or not all(parts):
                raise _bad(n, _("write release or lock, then site/gate/door"))
            site, gate, door = parts
            if door not in known.get((site, gate), set()):
                raise _bad(n, _("the office knows no door %(door)s") % {"door": where.strip()})
            doors.append({"action": action, "site": site, "gate": gate, "door": door})
        return doors

    def clean_contacts(self) -> list[dict[str, str]]:
        out = []
        for n, line in _lines(self.cleaned_data["contacts"]):
            name, role, phone = _parts(n, line, 3)
            out.append({"name": name, "role": role, "phone": phone})
        return out

    def clean(self) -> dict[str, Any] | None:
        data = super().clean() or {}
        names = {r["name"] for r in data.get("roles") or []}
        for n, step in enumerate(data.get("steps") or [], 1):
            if "roles" in data and step["role"] not in names:
                self.add_error(
                    "steps",
                    _bad(n, _("no role %(role)s in the roles above") % {"role": step["role"]}),
                )
                break
        minutes = data.get("drill_minutes")
        if minutes is not None and not 1 <= minutes <= MAX_MINUTES:
            self.add_error("drill_minutes", _("1 to %(max)s minutes") % {"max": MAX_MINUTES})
        return data

    def save(self, commit: bool = True) -> PlanVersion:
        version = super().save(commit=False)
        for name in LIST_FIELDS:
            setattr(version, name, self.cleaned_data[name])
        if commit:
            version.save()
        return version


class ScheduleForm(forms.Form):
    """When a drill of the approved version is to run."""

    scheduled_at = forms.DateTimeField(
        label=_("scheduled for"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def clean_scheduled_at(self) -> datetime:
        when: datetime = self.cleaned_data["scheduled_at"]
        if when < timezone.now():
            raise forms.ValidationError(_("A drill cannot be scheduled in the past."))
        return when


class TickForm(forms.Form):
    """A step of the plan done: which, at what time, with a short note."""

    step = forms.TypedChoiceField(label=_("step"), coerce=int)
    at = forms.DateTimeField(
        label=_("done at"),
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local", "step": "1"}, format="%Y-%m-%dT%H:%M:%S"
        ),
    )
    note = forms.CharField(label=_("note"), max_length=200, required=False)

    def __init__(self, *args: Any, steps: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(n, f"{n + 1}. {s['text']}") for n, s in enumerate(steps)]
        self.fields["step"].choices = choices  # type: ignore[attr-defined]

    def clean_at(self) -> datetime:
        at: datetime = self.cleaned_data["at"]
        if at > timezone.now():
            raise forms.ValidationError(_("A step cannot be done in the future."))
        return at


class WentWrongForm(forms.Form):
    """What went wrong in the drill, in the staff's words."""

    went_wrong = forms.CharField(
        label=_("what went wrong"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=4000,
    )
