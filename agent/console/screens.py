"""The console's form pages: register a visitor, incidents, a pass code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from agent.console.pages import e, errors, field, hidden, select
from agent.models.incidents import KINDS, Incident

YES_NO = (("no", "no"), ("yes", "yes"))


def visitor(doors: Sequence[str], csrf: str, allow_names: bool, values: Mapping[str, str],
            problems: Sequence[tuple[str, str]] = (), message: str = "") -> str:  # fmt: skip
    v = dict(values)
    choices = [("", "do not open a door"), *((d, f"open {d}") for d in doors)]
    name = (
        field("Visitor's name", "name", v.get("name", ""), extra='maxlength="80"')
        if allow_names else ""
    )  # fmt: skip
    pending = hidden("pending", v["pending"]) if v.get("pending", "").isdigit() else ""
    note = (
        f'<p class="pending">Completing the visitor-button press at <b>{e(v.get("door", ""))}'
        "</b>.</p>" if pending else ""
    )  # fmt: skip
    return errors(problems, message) + note + (
        f'<form method="post" action="/visitor" class="card">{hidden("csrf", csrf)}{pending}'
        + field("Host unit", "host_unit", v.get("host_unit", ""), extra='required maxlength="32"')
        + field("Purpose", "purpose", v.get("purpose", ""), extra='required maxlength="200"')
        + field("Party size", "party_size", v.get("party_size", "1"), kind="number",
                extra='min="1" max="50" required')
        + field("Vehicle plate", "plate", v.get("plate", ""), extra='maxlength="16"')
        + select("ID seen", "id_seen", (("yes", "yes"), ("no", "no")), v.get("id_seen", "yes"))
        + name
        + select("Then", "open_door", choices, v.get("open_door", v.get("door", "")))
        + "<button>Register</button></form>"
    )  # fmt: skip


def incidents(items: Sequence[Incident], doors: Sequence[str], csrf: str,
              values: Mapping[str, str] = {}, problems: Sequence[tuple[str, str]] = (),
              message: str = "") -> str:  # fmt: skip
    rows = "".join(
        f'<tr class="{e(i.status)}"><td><a href="/incidents/{e(i.id)}">{e(i.id)}</a></td>'
        f"<td>{e(i.kind)}</td><td>{e(i.status)}</td><td>{e(i.opened_by)}</td>"
        f'<td>{"yes " + e(i.police_called_at or "") if i.police_called else "no"}</td></tr>'
        for i in items
    )
    table = (
        '<table class="list"><thead><tr><th>id</th><th>kind</th><th>status</th><th>by</th>'
        f"<th>police</th></tr></thead><tbody>{rows}</tbody></table>"
        if items else '<p class="none">No incidents.</p>'
    )  # fmt: skip
    v = dict(values)
    form = (
        f'<h2>Open an incident</h2>{errors(problems, message)}'
        f'<form method="post" action="/incidents" class="card">{hidden("csrf", csrf)}'
        + select("Kind", "kind", ((k, k) for k in KINDS), v.get("kind", "intrusion"))
        + select("Door", "door", [("", "-"), *((d, d) for d in doors)], v.get("door", ""))
        + police_fields(v)
        + notes_field(v)
        + "<button>Open incident</button></form>"
    )  # fmt: skip
    return table + form


def police_fields(v: Mapping[str, str]) -> str:
    return select("Police called", "police_called", YES_NO, v.get("police_called", "no")) + field(
        "Police called at (HH:MM)", "police_called_at", v.get("police_called_at", ""),
        extra='pattern="[0-2][0-9]:[0-5][0-9]" placeholder="14:05"',
    )  # fmt: skip


def notes_field(v: Mapping[str, str]) -> str:
    return (
        f'<label>Notes<textarea name="notes" maxlength="2000" rows="4">{e(v.get("notes", ""))}'
        "</textarea></label>"
    )


def incident(i: Incident, csrf: str, zone_time: Mapping[int, str],
             problems: Sequence[tuple[str, str]] = (), message: str = "") -> str:  # fmt: skip
    story = "".join(
        f"<li><time>{e(zone_time.get(n, ''))}</time> <b>{e(note.what)}</b> by {e(note.guard)}"
        f"{': ' + e(note.text) if note.text else ''}</li>"
        for n, note in enumerate(i.notes)
    )
    police = f"yes, at {e(i.police_called_at or '?')}" if i.police_called else "no"
    head = (
        f'<p>Kind <b>{e(i.kind)}</b>, status <b class="{e(i.status)}">{e(i.status)}</b>, '
        f"door {e(i.door or '-')}, police called: {police}</p><ul class=\"story\">{story}</ul>"
    )
    if i.status == "closed":
        return head
    return head + errors(problems, message) + (
        f'<h2>Update</h2><form method="post" action="/incidents/{e(i.id)}/update" class="card">'
        + hidden("csrf", csrf)
        + select("Status", "status", (("open", "open"), ("acknowledged", "acknowledged")),
                 i.status)
        + police_fields({"police_called": "yes" if i.police_called else "no",
                         "police_called_at": i.police_called_at or ""})
        + notes_field({}) + "<button>Add update</button></form>"
        + f'<h2>Close</h2><form method="post" action="/incidents/{e(i.id)}/close" class="card">'
        + hidden("csrf", csrf) + notes_field({}) + '<button class="warn">Close incident</button>'
        + "</form>"
    )  # fmt: skip


def pass_code(doors: Sequence[str], csrf: str, problems: Sequence[tuple[str, str]] = (),
              message: str = "") -> str:  # fmt: skip
    return errors(problems, message) + (
        f'<form method="post" action="/pass" class="card">{hidden("csrf", csrf)}'
        + select("Door", "door", ((d, d) for d in doors))
        + field("Pass code", "code", extra='required maxlength="1024" autocomplete="off"')
        + "<button>Check and admit</button></form>"
    )  # fmt: skip
