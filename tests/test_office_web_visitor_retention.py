"""Deletion on time for visitor passes: the visitor's name, the car's plate and the code
erased a set number of days after the pass ended (expired or revoked), once, audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.office_web_rig import db, gate_office, make_staff, office_web, signed_in

__all__ = ["db", "office_web"]

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
PLATE_HMAC = "ab" * 32


def _pass(name: str, ended_days_ago: float, revoked_days_ago: float | None = None) -> Any:
    from agent.office.web.register.models import Unit
    from agent.office.web.visitors.models import VisitorPass

    unit, _ = Unit.objects.get_or_create(building="3", entrance="2", room="501")
    until = NOW - timedelta(days=ended_days_ago)
    revoked = None if revoked_days_ago is None else NOW - timedelta(days=revoked_days_ago)
    return VisitorPass.objects.create(
        pass_id=f"P{abs(hash(name)) % 10**10:010d}", visitor_name=name, unit=unit,
        site="test-site", gate="g1", valid_from=until - timedelta(hours=4), valid_until=until,
        uses=1, code="GP1.signed-code", plate_masked="京A****45", plate_credential=PLATE_HMAC,
        issued_by=make_staff(f"desk-{name}", "clerk"), issued_at=until - timedelta(hours=4),
        revoked_at=revoked,
    )  # fmt: skip


def test_passes_ended_long_ago_lose_the_visitors_data_once(db: None) -> None:
    from agent.office.web.audit.models import AuditEntry
    from agent.office.web.register.models import ERASED_NAME
    from agent.office.web.visitors.models import VisitorPass
    from agent.office.web.visitors.retention import purge_passes

    old = _pass("王五", 91)
    recent = _pass("赵六", 89)
    revoked_long_ago = _pass("钱七", -300, revoked_days_ago=120)  # valid on paper, revoked
    valid = _pass("孙八", -1)
    dry = purge_passes(NOW, 90, dry_run=True)
    assert sorted(dry.purged) == sorted([old.pk, revoked_long_ago.pk])
    assert (
        dry.summary()
        == "would purge 2 visitor pass(es) that ended on or before 2026-09-08 02:00 UTC"
    )
    assert VisitorPass.objects.get(pk=old.pk).visitor_name == "王五"

    done = purge_passes(NOW, 90)
    assert done.summary().startswith("purged 2 visitor pass(es)")
    for erased in (old, revoked_long_ago):
        erased.refresh_from_db()
        assert erased.visitor_name == ERASED_NAME and erased.purged_at == NOW
        assert (erased.plate_masked, erased.plate_credential, erased.code) == ("", "", "")
        assert erased.pass_id and erased.unit_id and erased.valid_until  # what events name
    for kept, name in ((recent, "赵六"), (valid, "孙八")):
        kept.refresh_from_db()
        assert kept.visitor_name == name and kept.code and kept.purged_at is None
    entries = AuditEntry.objects.filter(actor="retention job").order_by("position")
    assert [e.target for e in entries] == [f"visitor_pass:{old.pass_id}",
                                           f"visitor_pass:{revoked_long_ago.pass_id}"]  # fmt: skip
    assert all("王五" not in e.reason and "钱七" not in e.reason for e in entries)
    assert entries[0].reason == "personal data deleted: ended 2026-09-07, retention 90 days"
    assert purge_passes(NOW, 90).purged == []  # a second run finds nothing


def test_an_erased_pass_shows_what_is_left_and_no_code(db: None) -> None:
    from agent.office.web.visitors.retention import purge_passes

    old = _pass("王五", 91)
    purge_passes(NOW, 90)
    words = (("en", "clerk", "were deleted on 2026-12-07", "(personal data deleted on time)"),
             ("zh-hans", "manager", "已于 2026-12-07 删除", "个人信息已按期删除"))  # fmt: skip
    for language, role, says, name in words:
        clerk = signed_in(role, language=language)
        page = clerk.get(f"/visitors/{old.pk}/").content.decode()
        assert says in page and "王五" not in page and 'class="qr"' not in page
        assert "/send/" not in page and "/revoke/" not in page and "京A****45" not in page
        assert clerk.get(f"/visitors/{old.pk}/qr.png").status_code == 404
        assert clerk.get(f"/visitors/{old.pk}/print/").status_code == 404
        listed = clerk.get("/visitors/").content.decode()
        assert "王五" not in listed and name in listed and name in page


def test_the_command_purges_visitors_too(tmp_path: Any) -> None:
    state = tmp_path / "web"
    assert gate_office("web", "init", "--state", str(state)).returncode == 0
    dry = gate_office("web", "purge", "--state", str(state), "--dry-run",
                      "--visitor-retention-days", "30")  # fmt: skip
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith("would purge 0 resident(s)")
    assert lines[1].startswith("would purge 0 visitor pass(es) that ended on or before ")
    bad = gate_office("web", "purge", "--state", str(state), "--visitor-retention-days", "0")
    assert bad.returncode == 2
    assert bad.stderr.strip() == "error: --visitor-retention-days must be 1 or more"
    # a setting from the environment that is not a number: one line naming it, no traceback
    env = {"GATE_OFFICE_WEB_VISITOR_RETENTION_DAYS": "ninety"}
    worded = gate_office("web", "purge", "--state", str(state), env=env)
    assert worded.returncode == 2 and "Traceback" not in worded.stderr
    assert worded.stderr.strip() == (
        "error: GATE_OFFICE_WEB_VISITOR_RETENTION_DAYS='ninety' is not a whole number"
    )
