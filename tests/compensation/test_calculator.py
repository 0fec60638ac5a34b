import datetime
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from aftercare.money import to_fen
from compensation.calculator import (
    ETHICS_REASON,
    HOURLY_RATE_OUT_OF_BAND,
    HOURLY_RATE_REQUIRED,
    INCIDENT_REASON,
    LATE_REASON,
    RATIO_INVALID,
    SURVEY_DUPLICATE,
    UNEXCUSED_ABSENCE_REASON,
    UNITS_INVALID,
    Deduction,
    EthicsBreach,
    Policy,
    PolicyError,
    SessionRecord,
    SurveyScore,
    calculate,
)

D = Decimal
FUND = D("100.00")  # 9 : 1 -> process pool 90.00, terminal pool 10.00


def day(month, number):
    return datetime.date(2026, month, number)


OCT_12, OCT_13, OCT_14 = day(10, 12), day(10, 13), day(10, 14)


def pay(sessions, *, policy=None, fund=FUND, ethics=(), surveys=()):
    result = calculate(policy or Policy(), fund, sessions, list(ethics), list(surveys))
    return result, {teacher.teacher_id: teacher for teacher in result.teachers}


def test_complete_record_earns_one_unit_and_the_whole_fund_goes_to_the_only_teacher():
    result, teachers = pay(
        [SessionRecord(1, OCT_12)],
        surveys=[SurveyScore(1, D(90), responses=30)],
    )

    assert (result.process_pool, result.terminal_pool, result.undistributed) == (
        D("90.00"),
        D("10.00"),
        D("0.00"),
    )
    teacher = teachers[1]
    assert (teacher.units, teacher.process_share, teacher.terminal_share, teacher.total) == (
        D(1),
        D("90.00"),
        D("10.00"),
        D("100.00"),
    )
    assert teacher.deductions == ()
    assert teacher.explanation == (
        "2026-10-12 常规课后服务，活动记录完整：+1",
        "学期工作量合计：1",
        "过程性考核：工作量 1 / 全体 1，分得 90.00 元",
        "终结性考核：家长问卷得分 90，按得分比例分得 10.00 元",
        "合计：100.00 元",
    )


def test_incomplete_record_counts_half_and_noon_counts_half_each_time():
    _, teachers = pay(
        [
            # teacher 1: complete 1 + incomplete 0.5 = 1.5
            SessionRecord(1, OCT_12),
            SessionRecord(1, OCT_13, record="incomplete"),
            # teacher 2: noon 0.5 + noon with an incomplete record 0.5 + noon without a record 0
            # + regular without a record 0 = 1
            SessionRecord(2, OCT_12, kind="noon"),
            SessionRecord(2, OCT_13, kind="noon", record="incomplete"),
            SessionRecord(2, OCT_14, kind="noon", record="missing"),
            SessionRecord(2, OCT_14, record="missing"),
        ]
    )

    # 90.00 over 1.5 : 1 -> 54.00 and 36.00
    assert (teachers[1].units, teachers[1].process_share) == (D("1.5"), D("54.00"))
    assert (teachers[2].units, teachers[2].process_share) == (D(1), D("36.00"))
    assert teachers[2].explanation[:4] == (
        "2026-10-12 午间课后服务，活动记录完整：+0.5",
        "2026-10-13 午间课后服务，活动记录不完整：+0.5",
        "2026-10-14 午间课后服务，无活动记录：+0",  # noon comes first, as in the school day
        "2026-10-14 常规课后服务，无活动记录：+0",
    )


def test_missing_record_units_is_a_policy_setting():
    policy = Policy(missing_record_units=D("0.25"))

    _, teachers = pay([SessionRecord(1, OCT_12, record="missing")], policy=policy)

    assert teachers[1].units == D("0.25")


def test_each_late_arrival_deducts_one_unit():
    _, teachers = pay(
        [
            SessionRecord(1, OCT_12, attendance="late"),  # 1 - 1 = 0
            SessionRecord(1, OCT_13),  # + 1
            SessionRecord(2, OCT_12),  # teacher 2: 1
        ]
    )

    # 1 : 1 -> 45.00 each; nobody has a survey, so the terminal 10.00 stays undistributed.
    assert (teachers[1].units, teachers[1].process_share, teachers[1].total) == (
        D(1),
        D("45.00"),
        D("45.00"),
    )
    assert teachers[1].deductions == (Deduction(OCT_12, D(-1), LATE_REASON),)
    assert teachers[1].explanation == (
        "2026-10-12 常规课后服务，活动记录完整：+1",
        "2026-10-12 迟到：-1",
        "2026-10-13 常规课后服务，活动记录完整：+1",
        "学期工作量合计：1",
        "过程性考核：工作量 1 / 全体 2，分得 45.00 元",
        "终结性考核：没有家长问卷得分，不参与期末奖励",
        "合计：45.00 元",
    )


def test_late_deductions_carry_across_days_but_the_term_total_never_goes_below_zero():
    _, teachers = pay(
        [
            # teacher 1: 1 + (0.5 - 1) = 0.5: a late noon day at -0.5 eats into another day
            SessionRecord(1, OCT_12),
            SessionRecord(1, OCT_13, kind="noon", attendance="late"),
            # teacher 2: (0.5 - 1) + (0.5 - 1) = -1 -> floored at 0
            SessionRecord(2, OCT_12, record="incomplete", attendance="late"),
            SessionRecord(2, OCT_13, kind="noon", attendance="late"),
            # teacher 3: 1
            SessionRecord(3, OCT_12),
        ]
    )

    # 90.00 over 0.5 : 0 : 1 -> 30.00, 0.00, 60.00
    assert (teachers[1].units, teachers[1].process_share) == (D("0.5"), D("30.00"))
    assert (teachers[2].units, teachers[2].process_share, teachers[2].total) == (
        D(0),
        D("0.00"),
        D("0.00"),
    )
    assert (teachers[3].units, teachers[3].process_share) == (D(1), D("60.00"))
    assert "学期工作量合计：-1" in teachers[2].explanation
    assert "工作量合计为负，按 0 计" in teachers[2].explanation


def test_replace_mode_makes_the_late_session_earn_the_replacement_units_without_deduction():
    policy = Policy(late_mode="replace", late_replacement_units=D("0.5"))

    _, teachers = pay(
        [
            SessionRecord(1, OCT_12, attendance="late"),  # 0.5 instead of 1
            SessionRecord(1, OCT_13, kind="noon", record="missing", attendance="late"),  # min(0, 0.5)
            SessionRecord(1, OCT_14),  # 1
        ],
        policy=policy,
    )

    assert teachers[1].units == D("1.5")
    assert teachers[1].deductions == ()
    assert teachers[1].explanation[0] == "2026-10-12 常规课后服务，活动记录完整，迟到按规定改计：+0.5"


def test_unexcused_absence_voids_every_session_of_that_day_and_excused_absence_only_its_own():
    _, teachers = pay(
        [
            # teacher 1, 12 Oct: regular 1 + noon absent without leave -> day voided: -1
            SessionRecord(1, OCT_12),
            SessionRecord(1, OCT_12, kind="noon", attendance="absent_unexcused"),
            SessionRecord(1, OCT_13),  # 1
            # teacher 2, 12 Oct: regular on leave 0 + noon 0.5, no penalty
            SessionRecord(2, OCT_12, attendance="absent_excused"),
            SessionRecord(2, OCT_12, kind="noon"),
        ]
    )

    assert teachers[1].units == D(1)
    assert teachers[1].deductions == (Deduction(OCT_12, D(-1), UNEXCUSED_ABSENCE_REASON),)
    assert teachers[1].explanation[:3] == (
        "2026-10-12 午间课后服务，无故缺勤：+0",
        "2026-10-12 常规课后服务，活动记录完整：+1",
        "2026-10-12 无故缺勤，当天不计报酬：-1",
    )
    assert (teachers[2].units, teachers[2].deductions) == (D("0.5"), ())
    assert teachers[2].explanation[1] == "2026-10-12 常规课后服务，请假：+0"
    # 90.00 over 1 : 0.5 -> 60.00 and 30.00
    assert (teachers[1].process_share, teachers[2].process_share) == (D("60.00"), D("30.00"))


def test_incident_voids_the_day_and_the_terminal_reward():
    _, teachers = pay(
        [
            SessionRecord(1, OCT_12),  # 1
            SessionRecord(1, OCT_13),  # 1, voided with the noon below: -1.5
            SessionRecord(1, OCT_13, kind="noon", incident=True),
            SessionRecord(2, OCT_12),  # 1
        ],
        surveys=[SurveyScore(1, D(95), responses=20), SurveyScore(2, D(80), responses=20)],
    )

    # process 90.00 over 1 : 1 -> 45.00 each; terminal 10.00 all to teacher 2.
    first, second = teachers[1], teachers[2]
    assert (first.units, first.process_share, first.terminal_share, first.total) == (
        D(1),
        D("45.00"),
        D("0.00"),
        D("45.00"),
    )
    assert first.deductions == (Deduction(OCT_13, D("-1.5"), INCIDENT_REASON),)
    assert "终结性考核：本学期发生失职或安全事故，不享受期末奖励" in first.explanation
    assert (second.terminal_share, second.total) == (D("10.00"), D("55.00"))


def test_voiding_a_day_keeps_that_days_late_deduction():
    _, teachers = pay(
        [
            SessionRecord(1, OCT_12),  # 1
            SessionRecord(1, OCT_13, attendance="late", incident=True),  # 1 - 1, then the 1 voided
        ]
    )

    # 1 + 1 - 1 (late) - 1 (void) = 0
    assert teachers[1].units == D(0)
    assert teachers[1].deductions == (
        Deduction(OCT_13, D(-1), LATE_REASON),
        Deduction(OCT_13, D(-1), INCIDENT_REASON),
    )


def test_ethics_breach_voids_the_calendar_month_and_the_terminal_reward():
    breach = EthicsBreach(1, day(10, 20))
    sessions = [
        SessionRecord(1, OCT_12),  # October: 1 + 1 voided -> -2
        SessionRecord(1, OCT_13),
        SessionRecord(1, OCT_14, attendance="late"),  # late in the voided month: the -1 stays
        SessionRecord(1, day(11, 2)),  # November: 1
        SessionRecord(2, OCT_12),  # 1
    ]
    surveys = [SurveyScore(1, D(90), responses=10), SurveyScore(2, D(90), responses=10)]

    _, teachers = pay(sessions, ethics=[breach], surveys=surveys)

    # teacher 1: 1 + 1 + 1 - 1 + 1 - 3 (October voided) = 0; process 90.00 all to teacher 2,
    # and the terminal 10.00 too.
    first = teachers[1]
    assert (first.units, first.total) == (D(0), D("0.00"))
    assert first.deductions == (
        Deduction(OCT_14, D(-1), LATE_REASON),
        Deduction(day(10, 20), D(-3), ETHICS_REASON),
    )
    assert "2026-10-20 师德失范，当月课后服务报酬全部取消：-3" in first.explanation
    assert "终结性考核：本学期有师德失范行为，不享受期末奖励" in first.explanation
    assert teachers[2].total == D("100.00")

    _, teachers = pay(sessions, ethics=[breach], surveys=surveys, policy=Policy(ethics_voids_terminal=False))

    # Same units; the terminal 10.00 is now shared 90 : 90 -> 5.00 each.
    assert (teachers[1].terminal_share, teachers[1].total) == (D("5.00"), D("5.00"))
    assert (teachers[2].terminal_share, teachers[2].total) == (D("5.00"), D("95.00"))


def test_fund_is_split_nine_to_one_to_the_fen():
    sessions = [SessionRecord(teacher_id, OCT_12) for teacher_id in (1, 2, 3)]
    surveys = [SurveyScore(teacher_id, D(80), responses=5) for teacher_id in (1, 2, 3)]

    result, teachers = pay(sessions, fund=D("12345.67"), surveys=surveys)

    # 1234567 fen: process 1111110.3 -> 1111110, terminal 123456.7 -> 123457 (larger remainder).
    assert (result.process_pool, result.terminal_pool) == (D("11111.10"), D("1234.57"))
    # process: 1111110 / 3 = 370370 fen each; terminal: 123457 / 3 = 41152.33 -> 1 fen left,
    # remainders tie, the smallest teacher id gets it.
    assert [teachers[teacher_id].process_share for teacher_id in (1, 2, 3)] == [D("3703.70")] * 3
    assert [teachers[teacher_id].terminal_share for teacher_id in (1, 2, 3)] == [
        D("411.53"),
        D("411.52"),
        D("411.52"),
    ]


def test_terminal_pool_follows_survey_scores_and_needs_enough_responses():
    policy = Policy(min_survey_responses=5)
    sessions = [SessionRecord(teacher_id, OCT_12) for teacher_id in (1, 2, 3, 4)]
    surveys = [
        SurveyScore(1, D(95), responses=4),  # too few responses
        SurveyScore(2, D(60), responses=5),
        SurveyScore(3, D(90), responses=40),
        SurveyScore(4, D(99), responses=40, eligible_for_terminal=False),  # the school said no
    ]

    _, teachers = pay(sessions, policy=policy, surveys=surveys)

    # 10.00 over 60 : 90 -> 4.00 and 6.00
    assert [teachers[teacher_id].terminal_share for teacher_id in (1, 2, 3, 4)] == [
        D("0.00"),
        D("4.00"),
        D("6.00"),
        D("0.00"),
    ]
    assert "终结性考核：家长问卷仅 4 份，少于 5 份，不参与期末奖励" in teachers[1].explanation
    assert "终结性考核：学校评定本学期不享受期末奖励" in teachers[4].explanation


def test_when_nobody_is_eligible_the_terminal_pool_is_reported_undistributed():
    result, teachers = pay(
        [SessionRecord(1, OCT_12, incident=True), SessionRecord(2, OCT_12)],
        surveys=[SurveyScore(1, D(90), responses=9)],  # teacher 2 has no survey at all
    )

    assert (result.terminal_pool, result.terminal_undistributed) == (D("10.00"), D("10.00"))
    assert (result.process_undistributed, result.undistributed) == (D("0.00"), D("10.00"))
    assert [teacher.terminal_share for teacher in result.teachers] == [D("0.00"), D("0.00")]
    assert teachers[2].total == D("90.00")


def test_when_nobody_has_units_the_process_pool_is_reported_undistributed():
    result, teachers = pay(
        [SessionRecord(1, OCT_12, attendance="absent_excused")],
        surveys=[SurveyScore(1, D(70), responses=3)],
    )

    assert (result.process_undistributed, result.terminal_undistributed) == (D("90.00"), D("0.00"))
    assert teachers[1].total == D("10.00")
    assert "过程性考核：全体教师工作量为 0，奖励池未分配" in teachers[1].explanation


def test_per_class_hour_pays_units_times_rate_with_the_same_deductions_and_no_pools():
    policy = Policy(model="per_hour", hourly_rate=D("45.55"))

    result, teachers = pay(
        [
            # teacher 1: 1 + 0.5 + 0.5 = 2 -> 2 x 45.55 = 91.10
            SessionRecord(1, OCT_12),
            SessionRecord(1, OCT_13, record="incomplete"),
            SessionRecord(1, OCT_13, kind="noon"),
            SessionRecord(2, OCT_12, kind="noon"),  # 0.5 x 45.55 = 22.775 -> 22.78 (half up)
            SessionRecord(3, OCT_12, attendance="late"),  # 1 - 1 = 0 -> 0.00
        ],
        policy=policy,
        surveys=[SurveyScore(1, D(100), responses=50)],
    )

    assert (result.process_pool, result.terminal_pool, result.undistributed) == (
        D("0.00"),
        D("0.00"),
        D("0.00"),
    )
    assert [(teacher.units, teacher.hourly_pay, teacher.total) for teacher in result.teachers] == [
        (D(2), D("91.10"), D("91.10")),
        (D("0.5"), D("22.78"), D("22.78")),
        (D(0), D("0.00"), D("0.00")),
    ]
    assert teachers[1].terminal_share == D("0.00")
    assert teachers[1].explanation[-2:] == ("按课时计酬：2 课时 × 45.55 元 = 91.10 元", "合计：91.10 元")


@pytest.mark.parametrize("rate", [D("40"), D("52.50"), D("60")])
def test_hourly_rate_inside_the_district_band_is_accepted(rate):
    assert Policy(model="per_hour", hourly_rate=rate).hourly_rate == rate


@pytest.mark.parametrize("rate", [D("39.99"), D("60.01")])
def test_hourly_rate_outside_the_district_band_is_refused(rate):
    expected = HOURLY_RATE_OUT_OF_BAND.format(rate=rate, low=D(40), high=D(60))

    with pytest.raises(PolicyError) as raised:
        Policy(model="per_hour", hourly_rate=rate)

    assert str(raised.value) == expected


def test_district_band_is_a_setting_and_the_per_hour_model_needs_a_rate():
    assert Policy(
        model="per_hour", hourly_rate=D(35), hourly_rate_low=D(30), hourly_rate_high=D(50)
    ).hourly_rate == D(35)
    with pytest.raises(PolicyError) as raised:
        Policy(model="per_hour")
    assert str(raised.value) == HOURLY_RATE_REQUIRED


def test_policy_and_inputs_are_validated():
    with pytest.raises(PolicyError) as raised:
        Policy(noon_units=D("-0.5"))
    assert str(raised.value) == UNITS_INVALID.format(field="noon_units")
    with pytest.raises(PolicyError) as raised:
        Policy(process_ratio=0, terminal_ratio=0)
    assert str(raised.value) == RATIO_INVALID
    with pytest.raises(ValueError, match="Unknown attendance: 'sick'"):
        SessionRecord(1, OCT_12, attendance="sick")  # type: ignore[arg-type]
    with pytest.raises(ValueError) as raised:
        calculate(Policy(), FUND, [], [], [SurveyScore(1, D(1), 1), SurveyScore(1, D(2), 2)])
    assert str(raised.value) == SURVEY_DUPLICATE.format(teacher_id=1)


# Property tests: random terms of a few teachers over October and November.

teacher_ids = st.integers(min_value=1, max_value=5)
session_records = st.builds(
    SessionRecord,
    teacher_id=teacher_ids,
    date=st.dates(min_value=day(10, 1), max_value=day(11, 30)),
    kind=st.sampled_from(["regular", "regular", "noon"]),
    record=st.sampled_from(["complete", "complete", "incomplete", "missing"]),
    attendance=st.sampled_from(["on_time"] * 5 + ["late", "absent_excused", "absent_unexcused"]),
    incident=st.sampled_from([False] * 15 + [True]),
)
ethics_breaches = st.lists(
    st.builds(
        EthicsBreach, teacher_id=teacher_ids, date=st.dates(min_value=day(10, 1), max_value=day(11, 30))
    ),
    max_size=2,
)
survey_lists = st.dictionaries(
    teacher_ids,
    st.tuples(
        st.decimals(min_value=0, max_value=100, places=1),
        st.integers(min_value=0, max_value=40),
        st.sampled_from([True, True, True, False]),
    ),
).map(lambda by_teacher: [SurveyScore(teacher, *values) for teacher, values in by_teacher.items()])
policies = st.builds(
    Policy,
    late_mode=st.sampled_from(["deduct", "replace"]),
    ethics_voids_terminal=st.booleans(),
    min_survey_responses=st.integers(min_value=0, max_value=3),
)
funds = st.integers(min_value=0, max_value=10**8).map(lambda fen: D(fen) / 100)
terms = st.fixed_dictionaries(
    {
        "policy": policies,
        "fund": funds,
        "sessions": st.lists(session_records, max_size=30),
        "ethics_breaches": ethics_breaches,
        "surveys": survey_lists,
    }
)


@settings(max_examples=200, deadline=None)
@given(term=terms)
def test_pools_are_shared_exactly_and_nothing_is_negative(term):
    result = calculate(**term)

    assert result.process_pool + result.terminal_pool == term["fund"]
    process_paid = sum((teacher.process_share for teacher in result.teachers), D(0))
    terminal_paid = sum((teacher.terminal_share for teacher in result.teachers), D(0))
    assert process_paid + result.process_undistributed == result.process_pool
    assert terminal_paid + result.terminal_undistributed == result.terminal_pool
    # A pool is either shared out in full or, when nobody qualifies, not at all.
    assert result.process_undistributed in (D(0), result.process_pool)
    assert result.terminal_undistributed in (D(0), result.terminal_pool)
    for teacher in result.teachers:
        assert teacher.units >= 0
        assert min(teacher.process_share, teacher.terminal_share, teacher.total) >= 0
        assert teacher.total == teacher.process_share + teacher.terminal_share


@settings(max_examples=200, deadline=None)
@given(term=terms)
def test_more_units_never_get_less_from_the_process_pool(term):
    teachers = calculate(**term).teachers

    for richer in teachers:
        for poorer in teachers:
            if richer.units > poorer.units:
                assert richer.process_share >= poorer.process_share


@settings(max_examples=200, deadline=None)
@given(data=st.data(), term=terms)
def test_input_order_does_not_change_the_result(data, term):
    shuffled = {
        **term,
        "sessions": data.draw(st.permutations(term["sessions"])),
        "ethics_breaches": data.draw(st.permutations(term["ethics_breaches"])),
        "surveys": data.draw(st.permutations(term["surveys"])),
    }

    assert calculate(**shuffled) == calculate(**term)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), term=terms)
def test_a_worse_record_never_earns_more_units(data, term):
    assume(term["sessions"])
    sessions = term["sessions"]
    index = data.draw(st.integers(min_value=0, max_value=len(sessions) - 1))
    original = sessions[index]
    change = data.draw(
        st.sampled_from(
            [
                {"attendance": "late"},
                {"attendance": "absent_excused"},
                {"attendance": "absent_unexcused"},
                {"record": "missing"},
                {"incident": True},
            ]
        )
    )
    # Any attendance is worse than on time; between two absences or lateness there is no order.
    assume("attendance" not in change or original.attendance == "on_time")
    worse_term = {
        **term,
        "sessions": [*sessions[:index], replace(original, **change), *sessions[index + 1 :]],
    }

    def units_of_teacher(payout_term):
        result = calculate(**payout_term)
        return next(teacher.units for teacher in result.teachers if teacher.teacher_id == original.teacher_id)

    assert units_of_teacher(worse_term) <= units_of_teacher(term)


@settings(max_examples=200, deadline=None)
@given(term=terms, rate=st.decimals(min_value=40, max_value=60, places=2))
def test_per_class_hour_pays_units_times_rate(term, rate):
    policy = Policy(model="per_hour", hourly_rate=rate, late_mode=term["policy"].late_mode)

    result = calculate(**{**term, "policy": policy})

    for teacher in result.teachers:
        assert teacher.total == teacher.hourly_pay == to_fen(teacher.units * rate) >= 0
