"""The calendar as plain rules, and ``sessions_on``: the one answer to "which sessions run on day D"."""

from datetime import date, time
from decimal import Decimal

from catalogue import calendar_rules, services
from catalogue.calendar_rules import DEFAULT_SLOTS, SlotRule
from catalogue.fees import cap_violation, term_cost
from catalogue.models import FeeMode, OfferingKind
from catalogue.selectors import sessions_on


def test_service_days_follow_the_weekly_pattern_holidays_and_make_up_days():
    # 2026-09-28 (Mon) .. 2026-10-11 (Sun); Thursday off; National Day 10-01..10-07; Saturday 10-10 made up.
    days = calendar_rules.service_days(
        date(2026, 9, 28),
        date(2026, 10, 11),
        weekdays=[0, 1, 2, 4],
        excluded=[date(2026, 10, d) for d in range(1, 8)],
        makeup=[date(2026, 10, 10)],
    )
    assert days == [
        date(2026, 9, 28),
        date(2026, 9, 29),
        date(2026, 9, 30),
        date(2026, 10, 9),
        date(2026, 10, 10),
    ]


def test_winter_runs_from_its_first_day_to_its_last():
    assert not calendar_rules.is_winter(date(2026, 10, 31), date(2026, 11, 1), None)
    assert calendar_rules.is_winter(date(2026, 11, 1), date(2026, 11, 1), None)
    assert calendar_rules.is_winter(date(2027, 4, 30), date(2027, 2, 20), date(2027, 4, 30))
    assert not calendar_rules.is_winter(date(2027, 5, 1), date(2027, 2, 20), date(2027, 4, 30))
    assert not calendar_rules.is_winter(date(2027, 5, 1), None, None)


def test_the_seed_time_bands():
    assert calendar_rules.slot_for(DEFAULT_SLOTS, kind="after_school", grade=2, winter=False).ends_at == time(
        17, 30
    )
    assert calendar_rules.slot_for(DEFAULT_SLOTS, kind="after_school", grade=3, winter=False).ends_at == time(
        17, 45
    )
    assert calendar_rules.slot_for(DEFAULT_SLOTS, kind="after_school", grade=1, winter=True).ends_at == time(
        17, 15
    )
    assert calendar_rules.slot_for(DEFAULT_SLOTS, kind="after_school", grade=6, winter=True).ends_at == time(
        17, 30
    )
    assert calendar_rules.slot_for(DEFAULT_SLOTS, kind="noon", grade=3, winter=False) is None


def test_a_season_band_wins_over_a_whole_year_band():
    slots = [
        SlotRule("noon", "any", 1, 6, time(12, 0), time(13, 0)),
        SlotRule("noon", "winter", 1, 6, time(12, 10), time(13, 0)),
    ]
    assert calendar_rules.slot_for(slots, kind="noon", grade=4, winter=True).starts_at == time(12, 10)
    assert calendar_rules.slot_for(slots, kind="noon", grade=4, winter=False).starts_at == time(12, 0)


def test_date_runs_group_a_holiday_week():
    dates = {date(2026, 10, d): "国庆节" for d in range(1, 8)} | {date(2027, 1, 1): "元旦"}
    assert calendar_rules.date_runs(dates) == [
        (date(2026, 10, 1), date(2026, 10, 7), "国庆节"),
        (date(2027, 1, 1), date(2027, 1, 1), "元旦"),
    ]


def test_fee_arithmetic():
    assert term_cost(FeeMode.PER_SESSION, Decimal("20.00"), 35) == Decimal("700.00")
    assert term_cost(FeeMode.PER_TERM, Decimal("300"), 97) == Decimal("300.00")
    assert term_cost(FeeMode.FREE, Decimal("5"), 10) == Decimal("0.00")
    assert (
        cap_violation(
            kind_label="特色课程",
            fee_mode="per_session",
            fee_amount=Decimal("20"),
            session_count=35,
            cap=Decimal("600"),
        )
        == "收费超出上限：每次 20.00 元 × 本学期 35 次 = 700.00 元，超过特色课程每生每学期 600.00 元的上限。"
    )
    assert (
        cap_violation(
            kind_label="特色课程",
            fee_mode="per_session",
            fee_amount=Decimal("20"),
            session_count=30,
            cap=Decimal("600"),
        )
        is None
    )


def test_sessions_on_a_day_for_a_class_and_for_a_teacher(world, django_assert_num_queries):
    admin = world.users["admin"]
    term = world.school.terms.get()
    term.winter_starts_on = date(2026, 11, 1)
    term.save()
    services.term_setup_defaults(actor=admin, term=term)
    services.calendar_update(
        actor=admin,
        term=term,
        service_weekdays=[0, 1, 2, 4],
        winter_starts_on=date(2026, 11, 1),
        winter_ends_on=None,
        excluded=[(date(2026, 11, 2), "运动会")],
        makeup=[],
    )
    for offering in services.basic_care_create_for_all_classes(actor=admin, term=term):
        services.offering_publish(actor=admin, offering=offering)

    def course(name, grades, weekdays, teacher):
        offering = services.offering_create(
            actor=admin,
            term=term,
            kind=OfferingKind.COURSE,
            name=name,
            domain="physical",
            grades=grades,
            capacity=20,
            weekdays=weekdays,
            teachers=[teacher],
        )
        return services.offering_publish(actor=admin, offering=offering)

    course("足球", [3, 4], [1], world.users["service_teacher"])  # Tuesdays
    course("跳绳", [1, 2], [1], world.users["service_teacher"])  # Tuesdays, not for grade 3
    course("书法", [3], [0], world.users["other_homeroom"])  # Mondays

    tuesday = date(2026, 11, 3)
    with django_assert_num_queries(6):
        sessions = sessions_on(tuesday, school=world.school, classroom=world.classroom)
    assert [(s.offering.name, s.starts_at, s.ends_at) for s in sessions] == [
        ("三年级（1）班 基础托管", time(16, 10), time(17, 30)),
        ("足球", time(16, 10), time(17, 30)),
    ]
    # Mondays: the sports day is excluded; Thursdays are teacher study.
    assert sessions_on(date(2026, 11, 2), school=world.school, classroom=world.classroom) == []
    assert sessions_on(date(2026, 11, 5), school=world.school) == []
    # Summer times before the winter timetable.
    october = sessions_on(date(2026, 10, 13), school=world.school, classroom=world.classroom)
    assert [s.ends_at for s in october] == [time(17, 45), time(17, 45)]
    # A teacher's day: both Tuesday courses, whatever the class.
    mine = sessions_on(tuesday, school=world.school, teacher=world.users["service_teacher"])
    assert sorted(s.offering.name for s in mine) == ["足球", "跳绳"]
    # Outside the term nothing runs.
    assert sessions_on(date(2027, 3, 2), school=world.school) == []
