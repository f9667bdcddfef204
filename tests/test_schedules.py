from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from agent.core.schedules import Schedule
from agent.models.config import ScheduleConfig

CAIRO = ZoneInfo("Africa/Cairo")


def compile_(
    windows: list[dict[str, object]],
    holidays: tuple[date, ...] = (),
    holiday_windows: list[dict[str, object]] | None = None,
) -> Schedule:
    cfg = ScheduleConfig.model_validate(
        {"windows": windows, "holiday_windows": holiday_windows or []}
    )
    return Schedule.compile(cfg, holidays)


NIGHT = compile_([{"days": ["fri"], "start": "22:00", "end": "06:00"}])


@pytest.mark.parametrize(
    ("when", "allowed"),
    [
        (datetime(2026, 6, 12, 21, 59), False),  # Fri before start
        (datetime(2026, 6, 12, 22, 0), True),  # Fri at start
        (datetime(2026, 6, 12, 23, 59), True),
        (datetime(2026, 6, 13, 0, 0), True),  # Sat midnight: Friday's window goes on
        (datetime(2026, 6, 13, 5, 59), True),
        (datetime(2026, 6, 13, 6, 0), False),  # end is exclusive
        (datetime(2026, 6, 13, 22, 30), False),  # Saturday night has no window
        (datetime(2026, 6, 12, 3, 0), False),  # Fri early morning belongs to Thursday
    ],
)
def test_window_crossing_midnight(when: datetime, allowed: bool) -> None:
    assert NIGHT.allows(when.replace(tzinfo=CAIRO)) is allowed


def test_end_at_midnight_means_end_of_day() -> None:
    late = compile_([{"days": ["mon"], "start": "20:00", "end": "00:00"}])
    assert late.allows(datetime(2026, 6, 8, 23, 59, tzinfo=CAIRO))
    assert not late.allows(datetime(2026, 6, 9, 0, 0, tzinfo=CAIRO))


def test_all_day() -> None:
    always = compile_([{"days": ["sun"], "start": "00:00", "end": "00:00"}])
    assert always.allows(datetime(2026, 6, 7, 0, 0, tzinfo=CAIRO))
    assert always.allows(datetime(2026, 6, 7, 23, 59, tzinfo=CAIRO))
    assert not always.allows(datetime(2026, 6, 8, 0, 0, tzinfo=CAIRO))


def test_holiday_replaces_the_regular_windows() -> None:
    day = compile_(
        [{"days": ["wed"], "start": "08:00", "end": "18:00"}],
        holidays=(date(2026, 6, 10),),
        holiday_windows=[{"days": ["wed"], "start": "10:00", "end": "12:00"}],
    )
    assert not day.allows(datetime(2026, 6, 10, 9, 0, tzinfo=CAIRO))  # holiday
    assert day.allows(datetime(2026, 6, 10, 11, 0, tzinfo=CAIRO))
    assert day.allows(datetime(2026, 6, 17, 9, 0, tzinfo=CAIRO))  # ordinary Wednesday


def test_holiday_on_the_start_day_governs_a_midnight_window() -> None:
    night = compile_(
        [{"days": ["fri"], "start": "22:00", "end": "06:00"}], holidays=(date(2026, 6, 12),)
    )
    assert not night.allows(datetime(2026, 6, 13, 1, 0, tzinfo=CAIRO))


def test_schedule_is_read_in_the_gate_zone(make_config, clock) -> None:  # type: ignore[no-untyped-def]
    from agent.gate.assemble import build_app
    from tests.conftest import enroll, tap

    # 07:30 UTC is 10:30 in Cairo (inside 08-18) but 07:30 in UTC (outside)
    clock.advance(30 * 60)
    for zone, granted in (("Africa/Cairo", True), ("UTC", False)):
        config = make_config(gate={"timezone": zone}, storage={"dir": f"state-{zone[:3]}"})
        app = build_app(config, clock=clock)
        app.start(threaded=False)
        enroll(app, "uid:04A1B2C3", schedule="day")
        assert tap(app, "uid:04A1B2C3")["granted"] is granted
        app.stop()


def test_equal_start_and_end_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        ScheduleConfig.model_validate(
            {"windows": [{"days": ["mon"], "start": "08:00", "end": "08:00"}]}
        )
