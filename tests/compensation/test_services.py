"""The database side of the payout: gathering the term's records, the fund, drafting, approving,
and the frozen run. Values are computed by hand in each test's comment."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from aftercare.models import Notification
from attendance.models import ActivityRecord, EthicsBreach
from catalogue.models import (
    CertificateType,
    DistrictPolicy,
    Offering,
    OfferingKind,
    Provider,
    ProviderKind,
    ProviderStaffMember,
)
from compensation import gather, selectors, services
from compensation.models import PayoutLine, PayoutRun, PayPolicy, RunStatus, SurveyScoreEntry, TermFund
from compensation.services import ScoreInput
from enrollment.models import Enrollment, Payment, Refund
from tests.attendance.setup import TODAY
from tests.factories import make_staff

from . import builders
from .builders import SEP_7, SEP_8, SEP_14, SEP_21, held, teacher_attendance

D = Decimal


def lines_by_name(run) -> dict[str, PayoutLine]:
    return {line.teacher_name: line for line in run.lines.all()}


def messages_of(error: pytest.ExceptionInfo) -> list[str]:
    return error.value.messages


# Drafting ---------------------------------------------------------------------------------------


def test_draft_pays_units_and_survey_scores_nine_to_one(world, pay):
    run = builders.basic_run(world, pay)

    assert (run.status, run.cut_off, run.model) == (RunStatus.DRAFT, TODAY, "pools")
    assert (run.fund, run.process_pool, run.terminal_pool, run.total) == (
        D("100.00"),
        D("90.00"),
        D("10.00"),
        D("100.00"),
    )
    assert (run.teacher_count, run.session_count, run.drafted_by) == (2, 3, world.users["admin"])
    lines = lines_by_name(run)
    homeroom = lines[world.users["homeroom"].full_name]
    teacher = lines[world.users["service_teacher"].full_name]
    assert (homeroom.units, homeroom.process_share, homeroom.terminal_share, homeroom.total) == (
        D("1.5"),
        D("54.00"),
        D("6.00"),
        D("60.00"),
    )
    assert (teacher.units, teacher.process_share, teacher.terminal_share, teacher.total) == (
        D("1"),
        D("36.00"),
        D("4.00"),
        D("40.00"),
    )
    assert homeroom.session_count == 2
    assert homeroom.explanation == [
        "2026-09-07 常规课后服务，活动记录完整：+1",
        "2026-09-08 常规课后服务，活动记录不完整：+0.5",
        "学期工作量合计：1.5",
        "过程性考核：工作量 1.5 / 全体 2.5，分得 54.00 元",
        "终结性考核：家长问卷得分 90，按得分比例分得 6.00 元",
        "合计：60.00 元",
    ]
    assert [(s["date"], s["offering"], s["rating"], s["attendance"]) for s in homeroom.sessions] == [
        ("2026-09-07", "三年级（1）班 基础托管", "complete", "on_time"),
        ("2026-09-08", "三年级（1）班 基础托管", "incomplete", "on_time"),
    ]


def test_draft_keeps_the_policy_fund_and_inputs_it_used(world, pay):
    run = builders.basic_run(world, pay)

    assert run.policy["process_ratio"] == 9 and run.policy["terminal_ratio"] == 1
    assert run.policy["incomplete_record_units"] == "0.5"
    assert run.policy["hourly_rate_low"] == "40.00" and run.policy["hourly_rate_high"] == "60.00"
    assert run.fund_basis["source"] == "entered" and run.fund_basis["fund"] == "100.00"
    assert run.inputs["session_count"] == 3
    assert [(s["teacher"], s["score"], s["responses"]) for s in run.inputs["surveys"]] == [
        (world.users["homeroom"].full_name, "90.00", 30),
        (world.users["service_teacher"].full_name, "60.00", 10),
    ]


def test_redraft_replaces_the_draft_in_place(world, pay):
    run = builders.basic_run(world, pay)
    old_line_ids = set(run.lines.values_list("pk", flat=True))
    held(pay.football, SEP_14, rating="complete")

    again = services.payout_run_draft(actor=world.users["admin"], term=pay.term)

    assert again.pk == run.pk and PayoutRun.objects.count() == 1
    assert not set(again.lines.values_list("pk", flat=True)) & old_line_ids
    # 1.5 + 2 = 3.5 units: 90 × 2 / 3.5 = 51.428… -> 51.43, 90 × 1.5 / 3.5 = 38.571… -> 38.57.
    lines = lines_by_name(again)
    assert lines[world.users["service_teacher"].full_name].process_share == D("51.43")
    assert lines[world.users["homeroom"].full_name].process_share == D("38.57")
    assert again.history.count() == 2


def test_no_teacher_attendance_row_means_on_time_and_a_late_row_deducts_a_unit(world, pay):
    late = held(pay.basic_care, SEP_7)
    held(pay.basic_care, SEP_8)
    teacher_attendance(late, world.users["homeroom"], "late", late_minutes=10)
    builders.fund(world, pay.term)

    run = services.payout_run_draft(actor=world.users["admin"], term=pay.term)

    line = run.lines.get()
    # 1 + 1 earned, -1 for the late arrival on 7 September.
    assert (line.units, line.deducted_units) == (D("1"), D("1"))
    assert line.deductions == [{"date": "2026-09-07", "units": "-1", "reason": "迟到"}]
    assert [s["attendance"] for s in line.sessions] == ["late", "on_time"]


def test_unrated_record_counts_as_incomplete_and_is_listed_as_a_warning(world, pay):
    session = held(pay.basic_care, SEP_7, rating="unrated")
    builders.fund(world, pay.term)

    run = services.payout_run_draft(actor=world.users["admin"], term=pay.term)

    assert run.lines.get().units == D("0.5")
    assert {
        "kind": "unrated",
        "session_id": session.pk,
        "date": "2026-09-07",
        "offering": "三年级（1）班 基础托管",
        "teachers": [world.users["homeroom"].full_name],
    } in run.warnings


def test_missing_record_and_missing_roll_are_warnings(world, pay):
    no_record = held(pay.basic_care, SEP_7, rating=None)
    no_roll = held(pay.basic_care, SEP_8, roll=False)
    builders.fund(world, pay.term)

    run = services.payout_run_draft(actor=world.users["admin"], term=pay.term)

    kinds = {(w["kind"], w.get("session_id")) for w in run.warnings}
    assert ("no_record", no_record.pk) in kinds
    assert ("no_roll", no_roll.pk) in kinds
    assert ("cut_off_early", None) in kinds  # today is before the term's end
    assert run.lines.get().units == D("1")  # no record earns 0, the unmarked session 1


def test_cancelled_sessions_and_sessions_after_the_cut_off_do_not_count(world, pay):
    held(pay.basic_care, SEP_7)
    held(pay.basic_care, SEP_8, cancelled=True)
    held(pay.basic_care, SEP_21)
    builders.fund(world, pay.term)

    run = services.payout_run_draft(actor=world.users["admin"], term=pay.term, cut_off=SEP_14)

    assert run.cut_off == SEP_14
    assert [s["date"] for s in run.lines.get().sessions] == ["2026-09-07"]


def test_noon_session_counts_half(world, pay):
    noon = builders.noon_offering(world, pay.term, world.users["service_teacher"])
    held(noon, SEP_7)
    held(pay.football, SEP_7)
    builders.fund(world, pay.term)

    run = services.payout_run_draft(actor=world.users["admin"], term=pay.term)

    line = run.lines.get()
    assert line.units == D("1.5")
    assert [s["kind"] for s in line.sessions] == ["noon", "regular"]


def test_incident_voids_the_day_and_the_terminal_reward(world, pay):
    bad_day = held(pay.basic_care, SEP_7)
    held(pay.basic_care, SEP_8)
    held(pay.football, SEP_7)
    teacher_attendance(bad_day, world.users["homeroom"], "on_time", incident="safety")
    builders.fund(world, pay.term)
    builders.scores(world, pay.term, ("homeroom", "90", 30), ("service_teacher", "60", 10))

    run = services.payout_run_draft(actor=world.users["admin"], term=pay.term)

    lines = lines_by_name(run)
    homeroom = lines[world.users["homeroom"].full_name]
    teacher = lines[world.users["service_teacher"].full_name]
    # homeroom: 2 earned, 1 voided -> 1 unit; no terminal share. Process 90 split 1 : 1.
    assert (homeroom.units, homeroom.process_share, homeroom.terminal_share) == (
        D("1"),
        D("45.00"),
        D("0.00"),
    )
    assert (teacher.process_share, teacher.terminal_share, teacher.total) == (
        D("45.00"),
        D("10.00"),
        D("55.00"),
    )
    assert "本学期发生失职或安全事故，不享受期末奖励" in " ".join(homeroom.explanation)
    assert homeroom.sessions[0]["incident"] == "safety"


def test_ethics_breach_voids_the_month_and_a_withdrawn_one_does_not(world, pay):
    held(pay.basic_care, SEP_7)
    held(pay.basic_care, date(2026, 10, 9))
    breach = {"school": world.school, "term": pay.term, "teacher": world.users["homeroom"]}
    EthicsBreach.objects.create(**breach, date=SEP_14, description="体罚学生")
    EthicsBreach.objects.create(**breach, date=date(2026, 10, 5), description="误记", is_withdrawn=True)
    builders.fund(world, pay.term)

    run = services.payout_run_draft(actor=world.users["admin"], term=pay.term)

    line = run.lines.get()
    assert (line.units, line.deducted_units) == (D("1"), D("1"))
    assert line.deductions == [
        {"date": "2026-09-14", "units": "-1", "reason": "师德失范，当月课后服务报酬全部取消"}
    ]
    assert run.inputs["ethics_breaches"] == [
        {
            "teacher_id": world.users["homeroom"].pk,
            "teacher": world.users["homeroom"].full_name,
            "date": "2026-09-14",
        }
    ]


def test_provider_staff_are_left_out_and_named(world, pay):
    provider = Provider.objects.create(
        district=world.district, school=world.school, kind=ProviderKind.INSTITUTION, name="星光艺术"
    )
    member = ProviderStaffMember.objects.create(
        provider=provider,
        user=world.users["provider"],
        name="王老师",
        certificate_type=CertificateType.TEACHER,
    )
    dance = builders.noon_offering(world, pay.term, world.users["service_teacher"], name="舞蹈")
    dance.teachers.clear()
    dance.provider_staff.set([member])
    held(dance, SEP_7)
    held(pay.football, SEP_7)
    builders.fund(world, pay.term)

    run = services.payout_run_draft(actor=world.users["admin"], term=pay.term)

    assert list(run.lines.values_list("teacher__username", flat=True)) == ["service_teacher"]
    assert run.inputs["provider_staff"] == [{"name": "王老师", "provider": "星光艺术", "sessions": 1}]
    assert run.session_count == 1
    assert "本学期由机构人员授课的有：王老师（星光艺术，1 场）。" in selectors.pay_sheet_notes(run)


def test_per_hour_model_pays_units_times_the_rate(world, pay):
    services.pay_policy_update(
        actor=world.users["admin"], term=pay.term, model="per_hour", hourly_rate=D("50.00")
    )
    late = held(pay.basic_care, SEP_7)
    held(pay.basic_care, SEP_8, rating="incomplete")
    teacher_attendance(late, world.users["homeroom"], "late")
    builders.fund(world, pay.term, "10.00")

    run = services.payout_run_draft(actor=world.users["admin"], term=pay.term)

    # 1 + 0.5 - 1 = 0.5 class hours × 50.00 = 25.00, more than the 10.00 fund: a warning.
    line = run.lines.get()
    assert (run.model, line.units, line.hourly_pay, line.total, run.total) == (
        "per_hour",
        D("0.5"),
        D("25.00"),
        D("25.00"),
        D("25.00"),
    )
    assert {"kind": "over_fund", "total": "25.00", "fund": "10.00"} in run.warnings


def test_draft_refuses_a_cut_off_outside_the_term_or_in_the_future(world, pay):
    builders.fund(world, pay.term)
    with pytest.raises(ValidationError) as future:
        services.payout_run_draft(actor=world.users["admin"], term=pay.term, cut_off=date(2026, 10, 13))
    with pytest.raises(ValidationError) as before:
        services.payout_run_draft(actor=world.users["admin"], term=pay.term, cut_off=date(2026, 8, 31))

    assert messages_of(future) == ["核算截止日期不能晚于今天（2026-10-12）。"]
    assert messages_of(before) == ["核算截止日期须在学期之内（2026-09-01 至 2027-01-20）。"]
    assert not PayoutRun.objects.exists()


def test_draft_refuses_a_policy_that_no_longer_fits_the_district_band(world, pay):
    services.pay_policy_update(
        actor=world.users["admin"], term=pay.term, model="per_hour", hourly_rate=D("55.00")
    )
    DistrictPolicy.objects.create(
        district=world.district, hourly_pay_min=D("40.00"), hourly_pay_max=D("50.00")
    )

    with pytest.raises(ValidationError) as error:
        services.payout_run_draft(actor=world.users["admin"], term=pay.term)

    assert messages_of(error) == [
        "酬金规则与教育局现行标准不符，请先修改酬金规则：课时单价 55.00 元不在教育局规定的 40.00–50.00 元之间。"
    ]


# The fund ---------------------------------------------------------------------------------------


def _ledger(world, pay):
    """Payments 300 + 300 received; a 120.50 refund paid, a 50 refund not paid yet."""
    builders.setup.enroll_world(world, pay.term, pay.basic_care, pay.football)
    finance = world.users["finance"]
    for student in (world.child, world.other_child):
        Payment.objects.create(
            school=world.school,
            term=pay.term,
            student=student,
            amount=D("300.00"),
            method="cash",
            paid_by="家长",
            paid_on=SEP_7,
            recorded_by=finance,
        )
    enrollment = Enrollment.objects.filter(term=pay.term, student=world.child).first()
    Refund.objects.create(
        enrollment=enrollment, amount=D("120.50"), basis="中途退出", recorded_by=finance, paid_on=SEP_14
    )
    Refund.objects.create(enrollment=enrollment, amount=D("50.00"), basis="待退", recorded_by=finance)


def test_fund_from_the_ledger_is_income_plus_subsidy_minus_reserve(world, pay):
    _ledger(world, pay)
    services.term_fund_update(
        actor=world.users["admin"],
        term=pay.term,
        source="ledger",
        fiscal_subsidy=D("1000.00"),
        reserve=D("79.50"),
    )

    basis = gather.fund_basis(pay.term)

    # 600.00 - 120.50 + 1000.00 - 79.50 = 1400.00
    assert basis.as_json() == {
        "source": "ledger",
        "fund": "1400.00",
        "payments": "600.00",
        "refunds": "120.50",
        "income": "479.50",
        "fiscal_subsidy": "1000.00",
        "reserve": "79.50",
        "note": "",
    }


def test_a_negative_fund_is_refused(world, pay):
    held(pay.basic_care, SEP_7)
    services.term_fund_update(actor=world.users["admin"], term=pay.term, source="ledger", reserve=D("0.01"))

    with pytest.raises(ValidationError) as error:
        services.payout_run_draft(actor=world.users["admin"], term=pay.term)

    assert messages_of(error) == ["可分配经费为 -0.01 元，不能为负数：请检查财政补贴和学校预留。"]


def test_entered_fund_needs_an_amount(world, pay):
    with pytest.raises(ValidationError) as error:
        services.term_fund_update(actor=world.users["admin"], term=pay.term, source="entered")

    assert error.value.message_dict == {"entered_amount": ["选择直接录入时，请填写经费总额。"]}
    assert not TermFund.objects.exists()


# Policy and survey scores -------------------------------------------------------------------------


def test_policy_defaults_are_the_seeds_and_the_rate_must_fit_the_band(world, pay):
    assert gather.pay_policy(pay.term).pk is None
    assert gather.pay_policy(pay.term).process_ratio == 9

    with pytest.raises(ValidationError) as out_of_band:
        services.pay_policy_update(
            actor=world.users["admin"], term=pay.term, model="per_hour", hourly_rate=D("61")
        )
    with pytest.raises(ValidationError) as no_rate:
        services.pay_policy_update(actor=world.users["admin"], term=pay.term, model="per_hour")
    with pytest.raises(ValidationError) as zero:
        services.pay_policy_update(
            actor=world.users["admin"], term=pay.term, process_ratio=0, terminal_ratio=0
        )

    assert out_of_band.value.message_dict == {
        "hourly_rate": ["课时单价 61 元不在教育局规定的 40.00–60.00 元之间。"]
    }
    assert no_rate.value.message_dict == {"hourly_rate": ["按课时计酬时，请填写课时单价。"]}
    assert zero.value.message_dict == {"terminal_ratio": ["过程性奖励和终结性奖励的比例不能都为 0。"]}
    assert not PayPolicy.objects.exists()


def test_survey_scores_are_created_changed_and_removed_with_history(world, pay):
    admin = world.users["admin"]
    builders.scores(world, pay.term, ("homeroom", "90", 30), ("service_teacher", "60", 10))

    count = services.survey_scores_record(
        actor=admin,
        term=pay.term,
        scores=[
            ScoreInput(world.users["homeroom"], D("95.5"), 31, eligible_for_terminal=False),
            ScoreInput(world.users["service_teacher"], None),
        ],
    )

    assert count == 1
    entry = SurveyScoreEntry.objects.get()
    assert (entry.teacher, entry.score, entry.responses, entry.eligible_for_terminal) == (
        world.users["homeroom"],
        D("95.50"),
        31,
        False,
    )
    assert sorted(SurveyScoreEntry.history.values_list("history_type", flat=True)) == ["+", "+", "-", "~"]
    assert set(SurveyScoreEntry.history.values_list("history_user", flat=True)) == {admin.pk}


def test_survey_score_for_someone_who_does_not_teach_is_refused(world, pay):
    with pytest.raises(ValidationError) as error:
        services.survey_scores_record(
            actor=world.users["admin"],
            term=pay.term,
            scores=[ScoreInput(world.users["inspector"], D("80"), 5)],
        )

    assert messages_of(error) == [f"{world.users['inspector'].full_name}不是本学期的授课教师。"]
    assert not SurveyScoreEntry.objects.exists()


# Approval and the frozen run -----------------------------------------------------------------------


def test_approval_freezes_the_run_and_tells_each_teacher(world, pay):
    run = builders.approved_run(world, pay)

    assert (run.status, run.approved_by) == (RunStatus.APPROVED, world.users["principal"])
    assert run.approved_at is not None
    told = Notification.objects.filter(title="2026秋季学期课后服务酬金已审定")
    assert sorted(n.user.username for n in told) == ["homeroom", "service_teacher"]
    assert {n.url for n in told} == {"/pay/mine/"}


def test_a_frozen_run_refuses_every_change(world, pay):
    run = builders.approved_run(world, pay)
    before = list(PayoutLine.objects.order_by("pk").values_list("pk", "total"))
    admin = world.users["admin"]
    frozen = "本学期的酬金已由校长审定，不能再修改；之后的更正列入下学期处理。"

    attempts = [
        lambda: services.payout_run_draft(actor=admin, term=pay.term),
        lambda: services.pay_policy_update(actor=admin, term=pay.term, process_ratio=8),
        lambda: services.term_fund_update(
            actor=admin, term=pay.term, source="entered", entered_amount=D("1")
        ),
        lambda: services.survey_scores_record(actor=admin, term=pay.term, scores=[]),
        lambda: services.payout_draft_start(actor=admin, term=pay.term),
    ]
    for attempt in attempts:
        with pytest.raises(ValidationError) as error:
            attempt()
        assert messages_of(error) == [frozen]
    with pytest.raises(ValidationError) as again:
        services.payout_run_approve(actor=world.users["principal"], run=run)
    assert messages_of(again) == ["这份酬金表已经审定过了。"]

    run.refresh_from_db()
    assert (run.status, run.fund, run.total) == (RunStatus.APPROVED, D("100.00"), D("100.00"))
    assert list(PayoutLine.objects.order_by("pk").values_list("pk", "total")) == before
    assert gather.pay_policy(pay.term).process_ratio == 9
    assert TermFund.objects.get().entered_amount == D("100.00")


def test_approval_refuses_a_draft_whose_records_changed_since(world, pay):
    run = builders.basic_run(world, pay)
    record = ActivityRecord.objects.get(session__offering=pay.football)
    record.rating = "incomplete"
    record._history_user = world.users["inspector"]
    record.save()

    with pytest.raises(ValidationError) as error:
        services.payout_run_approve(actor=world.users["principal"], run=run)

    assert messages_of(error) == ["草稿生成后，活动记录有了变化，请重新核算后再审定。"]
    run.refresh_from_db()
    assert run.status == RunStatus.DRAFT
    # Re-drafting takes the correction in, and then the principal may approve.
    run = services.payout_run_draft(actor=world.users["admin"], term=pay.term)
    assert services.payout_run_approve(actor=world.users["principal"], run=run).is_approved


def test_approval_refuses_a_draft_whose_settings_changed_since(world, pay):
    run = builders.basic_run(world, pay)
    builders.fund(world, pay.term, "200.00")

    with pytest.raises(ValidationError) as error:
        services.payout_run_approve(actor=world.users["principal"], run=run)

    assert messages_of(error) == ["草稿生成后，经费有了变化，请重新核算后再审定。"]


def test_corrections_after_approval_are_listed_for_the_next_term(world, pay):
    run = builders.approved_run(world, pay)
    session = ActivityRecord.objects.get(session__offering=pay.football).session
    attendance = teacher_attendance(
        session, world.users["service_teacher"], "late", by=world.users["inspector"]
    )
    attendance.refresh_from_db()
    EthicsBreach.objects.create(
        school=world.school,
        term=pay.term,
        teacher=world.users["homeroom"],
        date=SEP_8,
        description="收受礼品",
    )

    corrections = selectors.corrections_since(pay.term, run.approved_at)

    assert [(c.what, c.subject, c.change) for c in corrections] == [
        ("教师考勤", f"2026-09-07 足球 · {world.users['service_teacher'].full_name}", "新增 · 迟到"),
        ("师德失范记录", f"2026-09-08 · {world.users['homeroom'].full_name}", "新增"),
    ]
    run.refresh_from_db()
    assert run.total == D("100.00")  # the approved run itself does not move


def test_an_empty_draft_cannot_be_approved(world, pay):
    builders.fund(world, pay.term)
    run = services.payout_run_draft(actor=world.users["admin"], term=pay.term)

    with pytest.raises(ValidationError) as error:
        services.payout_run_approve(actor=world.users["principal"], run=run)

    assert messages_of(error) == ["这份草稿没有任何教师，不能审定。"]
    assert {"kind": "undistributed", "amount": "100.00"} in run.warnings


# Gathering in a constant number of queries --------------------------------------------------------------


def _teachers_with_sessions(world, pay, count: int, days: int):

    for index in range(count):
        teacher = make_staff(
            world.school, "service_teacher", username=f"t{index}", full_name=f"教师{index:02d}"
        )
        offering = Offering.objects.create(
            school=world.school,
            term=pay.term,
            kind=OfferingKind.COURSE,
            name=f"社团{index}",
            grades=[3],
            capacity=30,
            weekdays=[0],
        )
        offering.teachers.set([teacher])
        for day in range(days):
            session = held(
                offering, date(2026, 9, 1 + day), rating=["complete", "incomplete", "unrated", None][day % 4]
            )
            if day % 3 == 0:
                teacher_attendance(session, teacher, "late")
        EthicsBreach.objects.create(
            school=world.school, term=pay.term, teacher=teacher, date=date(2026, 9, 2), description="x"
        )
        SurveyScoreEntry.objects.create(term=pay.term, teacher=teacher, score=D("80"), responses=5)


@pytest.mark.parametrize(("teachers", "days"), [(2, 2), (20, 12)])
def test_gathering_runs_seven_queries_whatever_the_size(
    world, pay, django_assert_num_queries, teachers, days
):
    _teachers_with_sessions(world, pay, teachers, days)

    with django_assert_num_queries(7):
        inputs = gather.gather_inputs(pay.term, TODAY)

    assert inputs.session_count == teachers * days
    assert len({record.teacher_id for record in inputs.sessions}) == teachers


@pytest.mark.parametrize(("teachers", "days"), [(2, 2), (20, 12)])
def test_drafting_runs_a_constant_number_of_queries(world, pay, django_assert_num_queries, teachers, days):
    _teachers_with_sessions(world, pay, teachers, days)
    builders.fund(world, pay.term)
    admin = world.users["admin"]
    services.payout_run_draft(actor=admin, term=pay.term)  # the second draft also deletes lines

    with django_assert_num_queries(18):
        run = services.payout_run_draft(actor=admin, term=pay.term)

    assert run.teacher_count == teachers


def test_a_correction_by_the_inspector_redrafts_the_draft(world, pay, django_capture_on_commit_callbacks):
    from attendance import supervision

    run = builders.basic_run(world, pay)
    football_day = ActivityRecord.objects.get(session__offering=pay.football).session

    with django_capture_on_commit_callbacks(execute=True):
        supervision.teacher_attendance_record(
            actor=world.users["inspector"],
            session=football_day,
            teacher=world.users["service_teacher"],
            presence="late",
            late_minutes=10,
        )

    redrafted = PayoutRun.objects.get(term=pay.term)
    assert redrafted.pk == run.pk and redrafted.drafted_at > run.drafted_at
    assert redrafted.drafted_by == world.users["admin"]
    line = redrafted.lines.get(teacher=world.users["service_teacher"])
    # 1 unit earned, 1 deducted for the late arrival: nothing from the process pool any more.
    assert line.process_share == D("0.00")
    assert services.run_changes_since_draft(redrafted) == []


def test_a_correction_leaves_an_approved_run_alone(world, pay, django_capture_on_commit_callbacks):
    from attendance import supervision

    run = builders.approved_run(world, pay)
    football_day = ActivityRecord.objects.get(session__offering=pay.football).session

    with django_capture_on_commit_callbacks(execute=True):
        supervision.teacher_attendance_record(
            actor=world.users["inspector"],
            session=football_day,
            teacher=world.users["service_teacher"],
            presence="late",
            late_minutes=10,
        )

    unchanged = PayoutRun.objects.get(term=pay.term)
    assert (unchanged.drafted_at, unchanged.total, unchanged.status) == (
        run.drafted_at,
        run.total,
        run.status,
    )
