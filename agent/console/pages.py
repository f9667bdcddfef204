"""The console's pages: plain HTML, escaped everywhere, one small script for live updates.

Every value that came from outside (events, forms, accounts) passes through ``e``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape

from agent.console.desk import OpenAlarm, Pending
from agent.console.words import door_words, link_words
from agent.models.messages import GateStatus

OK_MESSAGES: Mapping[str, str] = {
    "visitor": "Visitor registered.",
    "visitor-open": "Visitor registered and the door opened.",
    "ack": "Alarm acknowledged.",
    "incident": "Incident opened.",
    "updated": "Incident updated.",
    "closed": "Incident closed.",
    "pass": "Pass accepted: the door opened.",
    "drill": "Drill started: the doors it covers are released.",
    "drill-stopped": "Drill stopped: its report is recorded.",
    "signed-out": "Signed out.",
}


def e(value: object) -> str:
    return escape(str(value), quote=True)


def page(title: str, body: str, *, guard: str | None = None, csrf: str = "",
         more: Sequence[tuple[str, str]] = (), ok: str | None = None,
         live: bool = False) -> str:  # fmt: skip
    """A whole page; ``guard`` signed in adds the menu (with the ``more`` links of the
    pages a gate adds: passes, drills) and the sign-out button."""
    menu = ""
    if guard is not None:
        links = [("/", "Live"), ("/visitor", "Visitor"), ("/incidents", "Incidents"), *more]
        menu = (
            "<nav>" + "".join(f'<a href="{href}">{text}</a>' for href, text in links)
            + f'<form method="post" action="/logout" class="inline">{hidden("csrf", csrf)}'
            + f'<button class="quiet">Sign out {e(guard)}</button></form></nav>'
        )  # fmt: skip
    told = OK_MESSAGES.get(ok or "")  # only known messages: a link cannot put words here
    note = f'<p class="ok" role="status">{e(told)}</p>' if told else ""
    script = '<script src="/static/console.js" defer></script>' if live else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        + (f'<meta name="csrf" content="{e(csrf)}">' if csrf else "")
        + f"<title>{e(title)} - gate console</title>"
        + f'<link rel="stylesheet" href="/static/console.css">{script}</head>'
        + f"<body>{menu}<main><h1>{e(title)}</h1>{note}{body}</main></body></html>"
    )


def hidden(name: str, value: object) -> str:
    return f'<input type="hidden" name="{e(name)}" value="{e(value)}">'


def errors(problems: Sequence[tuple[str, str]], message: str = "") -> str:
    if not problems and not message:
        return ""
    items = "".join(f"<li><b>{e(f)}</b>: {e(m)}</li>" for f, m in problems)
    return f'<div class="error" role="alert"><p>{e(message)}</p><ul>{items}</ul></div>'


def field(label: str, name: str, value: object = "", *, kind: str = "text",
          extra: str = "") -> str:  # fmt: skip
    return (
        f'<label>{e(label)}<input type="{kind}" name="{e(name)}" value="{e(value)}" '
        f"{extra}></label>"
    )


def select(label: str, name: str, options: Iterable[tuple[str, str]], chosen: str = "") -> str:
    opts = "".join(
        f'<option value="{e(v)}"{" selected" if v == chosen else ""}>{e(t)}</option>'
        for v, t in options
    )
    return f'<label>{e(label)}<select name="{e(name)}">{opts}</select></label>'


def sign_in(pre: str, problem: str = "", guard_id: str = "") -> str:
    form = (
        f'<form method="post" action="/login" class="card">{hidden("csrf", pre)}'
        + field("Guard id", "guard_id", guard_id,
                extra='autocomplete="username" autocapitalize="none" required maxlength="32"')
        + field("Password", "password", kind="password",
                extra='autocomplete="current-password" required maxlength="256"')
        + "<button>Sign in</button></form>"
    )  # fmt: skip
    return page("Sign in", errors([], problem) + form)


def live(status: GateStatus, alarms: Sequence[OpenAlarm], pending: Sequence[Pending],
         feed: Sequence[Mapping[str, object]], csrf: str) -> str:  # fmt: skip
    doors = "".join(
        f'<tr><th>{e(door)}</th><td data-door="{e(door)}">{e(door_words(d))}</td></tr>'
        for door, d in status.doors.items()
    )
    head = (
        f'<p class="bar"><span id="mode" class="mode-{e(status.mode)}">mode {e(status.mode)}'
        f'</span> <span id="link">{e(link_words(status.office_link))}</span> '
        '<span id="live-state">connecting...</span></p>'
        f'<table class="doors"><tbody id="doors">{doors}</tbody></table>'
    )
    if status.drill:  # a release that is a drill must not read as an emergency
        head += (
            f'<p class="pending drill">{e(status.drill.get("kind", "")).upper()} DRILL '
            f'running (by {e(status.drill.get("by", ""))}): <a href="/drill">details, stop</a></p>'
        )
    return (
        head
        + f'<section><h2>Alarms</h2><div id="alarms">{alarm_list(alarms, csrf)}</div></section>'
        + f'<section><h2>Visitors waiting</h2><div id="pending">{pending_list(pending)}</div>'
        + '</section><section><h2>Latest</h2><ul id="feed" class="feed">'
        + "".join(feed_li(item) for item in feed) + "</ul></section>"
    )  # fmt: skip


def alarm_list(alarms: Sequence[OpenAlarm], csrf: str) -> str:
    if not alarms:
        return '<p class="none">No open alarms.</p>'
    return "".join(
        f'<form method="post" action="/alarms/ack" class="alarm {e(a.kind)}" data-seq="{a.seq}">'
        f'<p><b>{e(a.kind.upper())}</b> {e(a.time)} {e(a.text)}</p>{hidden("csrf", csrf)}'
        f'{hidden("alarm_seq", a.seq)}<input name="note" required maxlength="500" '
        'placeholder="what you found / did"><button>Acknowledge</button></form>'
        for a in alarms
    )


def pending_list(pending: Sequence[Pending]) -> str:
    if not pending:
        return '<p class="none">Nobody waiting.</p>'
    return "".join(
        f'<p class="pending">Visitor button at <b>{e(p.door)}</b> {e(p.time)} '
        f'({"door opened" if p.opened else "door shut"}) '
        f'<a class="button" href="/visitor?pending={p.seq}&amp;door={e(p.door)}">Register</a></p>'
        for p in pending
    )


def feed_li(item: Mapping[str, object]) -> str:
    return f'<li class="{e(item["kind"])}"><time>{e(item["time"])}</time> {e(item["text"])}</li>'
