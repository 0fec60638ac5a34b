"""The pay pages by persona: the administrator sets up and drafts, the principal approves, finance
reads, a teacher sees only their own line; a frozen run refuses changes over HTTP too."""

import io
import subprocess
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from openpyxl import load_workbook

from aftercare.models import Job, JobStatus
from attendance.models import TeacherAttendance
from compensation import services
from compensation.models import PayoutLine, PayoutRun, PayPolicy, RunStatus, SurveyScoreEntry, TermFund
from tests.factories import make_staff

from . import builders
from .builders import SEP_7, SEP_8, SEP_14, SEP_21, held, teacher_attendance

D = Decimal
FROZEN = "本学期的酬金已由校长审定，不能再修改；之后的更正列入下学期处理。"


def message_texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def policy_post(**changes):
    data = {
        "model": "pools",
        "process_ratio": "9",
        "terminal_ratio": "1",
        "complete_record_units": "1",
        "incomplete_record_units": "0.5",
        "missing_record_units": "0",
        "noon_units": "0.5",
        "late_mode": "deduct",
        "late_deduction_units": "1",
        "late_replacement_units": "0",
        "ethics_voids_terminal": "on",
        "min_survey_responses": "1",
        "hourly_rate": "",
    }
    data.update(changes)
    return data


# Set-up pages -------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["admin", "principal", "finance"])
def test_the_school_reads_the_terms_pay_page(world, pay, as_user, persona):
    response = as_user(persona).get(reverse("compensation:term", args=[pay.term.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "过程性奖励 : 终结性奖励" in page and "9 : 1" in page
    assert ("修改规则" in page) == (persona == "admin")


@pytest.mark.parametrize(
    ("persona", "status"), [("service_teacher", 403), ("parent", 404), ("far_principal", 404)]
)
def test_others_do_not_reach_the_terms_pay_page(world, pay, as_user, persona, status):
    assert as_user(persona).get(reverse("compensation:term", args=[pay.term.pk])).status_code == status


def test_admin_saves_the_policy(world, pay, as_user):
    response = as_user("admin").post(
        reverse("compensation:policy-edit", args=[pay.term.pk]),
        policy_post(model="per_hour", hourly_rate="45.00", late_mode="replace", late_replacement_units="0.5"),
    )

    assert response.status_code == 302 and response["Location"] == reverse(
        "compensation:term", args=[pay.term.pk]
    )
    assert message_texts(response) == ["2026秋季学期的酬金规则已保存。"]
    policy = PayPolicy.objects.get(term=pay.term)
    assert (policy.model, policy.hourly_rate, policy.late_mode, policy.late_replacement_units) == (
        "per_hour",
        D("45.00"),
        "replace",
        D("0.50"),
    )
    assert policy.history.get().history_user == world.users["admin"]


def test_policy_outside_the_district_band_is_refused_with_400(world, pay, as_user):
    response = as_user("admin").post(
        reverse("compensation:policy-edit", args=[pay.term.pk]),
        policy_post(model="per_hour", hourly_rate="70"),
    )

    assert response.status_code == 400
    assert response.context["form"].errors["hourly_rate"] == [
        "课时单价 70 元不在教育局规定的 40.00–60.00 元之间。"
    ]
    assert not PayPolicy.objects.exists()


def test_principal_may_not_edit_the_policy(world, pay, as_user):
    response = as_user("principal").post(
        reverse("compensation:policy-edit", args=[pay.term.pk]), policy_post()
    )

    assert response.status_code == 403
    assert not PayPolicy.objects.exists()


def test_admin_saves_the_fund(world, pay, as_user):
    response = as_user("admin").post(
        reverse("compensation:fund-edit", args=[pay.term.pk]),
        {
            "source": "ledger",
            "entered_amount": "",
            "fiscal_subsidy": "5000.00",
            "reserve": "500",
            "note": "区财政",
        },
    )

    assert response.status_code == 302
    assert message_texts(response) == ["2026秋季学期的经费已保存。"]
    fund = TermFund.objects.get(term=pay.term)
    assert (fund.source, fund.fiscal_subsidy, fund.reserve, fund.note) == (
        "ledger",
        D("5000.00"),
        D("500.00"),
        "区财政",
    )


def test_admin_enters_survey_scores(world, pay, as_user):
    homeroom, teacher = world.users["homeroom"], world.users["service_teacher"]
    page = as_user("admin").get(reverse("compensation:survey-scores", args=[pay.term.pk]))
    assert [row[0] for row in page.context["form"].rows()] == sorted(
        [homeroom, world.users["other_homeroom"], teacher], key=lambda user: user.full_name
    )

    response = as_user("admin").post(
        reverse("compensation:survey-scores", args=[pay.term.pk]),
        {
            f"score_{homeroom.pk}": "92.5",
            f"responses_{homeroom.pk}": "28",
            f"eligible_{homeroom.pk}": "on",
            f"score_{teacher.pk}": "70",
            f"responses_{teacher.pk}": "12",
        },
    )

    assert response.status_code == 302
    assert message_texts(response) == ["家长问卷得分已保存：2 名教师有得分。"]
    assert sorted(
        SurveyScoreEntry.objects.values_list(
            "teacher__username", "score", "responses", "eligible_for_terminal"
        )
    ) == [
        ("homeroom", D("92.50"), 28, True),
        ("service_teacher", D("70.00"), 12, False),
    ]


def test_a_score_without_responses_is_refused(world, pay, as_user):
    homeroom = world.users["homeroom"]
    response = as_user("admin").post(
        reverse("compensation:survey-scores", args=[pay.term.pk]), {f"score_{homeroom.pk}": "92.5"}
    )

    assert response.status_code == 400
    assert response.context["form"].errors[f"responses_{homeroom.pk}"] == ["请填写问卷份数。"]
    assert not SurveyScoreEntry.objects.exists()


# Drafting through the job -------------------------------------------------------------------------


def test_admin_drafts_the_payout_as_a_job(world, pay, as_user, django_capture_on_commit_callbacks):
    held(pay.basic_care, SEP_7)
    builders.fund(world, pay.term)
    client = as_user("admin")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("compensation:run-draft", args=[pay.term.pk]), {"cut_off": ""})

    job = Job.objects.get(created_by=world.users["admin"])
    assert response["Location"] == reverse("core:job-detail", args=[job.pk])
    run = PayoutRun.objects.get(term=pay.term)
    assert (job.status, job.progress, job.result_url) == (
        JobStatus.SUCCEEDED,
        100,
        reverse("compensation:run-detail", args=[run.pk]),
    )
    assert job.message == "酬金草稿已生成：1 名教师，发放合计 90.00 元。"


def test_a_cut_off_in_the_future_is_refused_before_any_job(world, pay, as_user):
    response = as_user("admin").post(
        reverse("compensation:run-draft", args=[pay.term.pk]), {"cut_off": "2026-10-20"}
    )

    assert response.status_code == 400
    assert response.context["draft_form"].errors["cut_off"] == ["核算截止日期不能晚于今天（2026-10-12）。"]
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    ("persona", "status"), [("principal", 403), ("finance", 403), ("homeroom", 403), ("parent", 404)]
)
def test_only_the_administrator_drafts(world, pay, as_user, persona, status):
    response = as_user(persona).post(reverse("compensation:run-draft", args=[pay.term.pk]), {"cut_off": ""})

    assert response.status_code == status
    assert not Job.objects.exists()


# The pay sheet --------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["admin", "principal", "finance"])
def test_the_pay_sheet_shows_every_line_and_totals(world, pay, as_user, persona):
    run = builders.basic_run(world, pay)

    response = as_user(persona).get(reverse("compensation:run-detail", args=[run.pk]))

    assert response.status_code == 200
    assert [line.teacher_name for line in response.context["lines"]] == sorted(
        [world.users["homeroom"].full_name, world.users["service_teacher"].full_name]
    )
    totals = response.context["totals"]
    assert (totals.units, totals.process_share, totals.terminal_share, totals.total) == (
        D("2.5"),
        D("90.00"),
        D("10.00"),
        D("100.00"),
    )
    page = response.content.decode()
    assert ("审定并冻结" in page) == (persona == "principal")
    assert ("重新核算" in page) == (persona == "admin")


def test_the_drill_down_shows_every_session_and_why(world, pay, as_user):
    late = held(pay.basic_care, SEP_7)
    held(pay.basic_care, SEP_8, rating="unrated")
    teacher_attendance(late, world.users["homeroom"], "late")
    builders.fund(world, pay.term)
    run = services.payout_run_draft(actor=world.users["admin"], term=pay.term)
    line = run.lines.get()

    response = as_user("principal").get(reverse("compensation:run-line", args=[run.pk, line.pk]))

    assert response.status_code == 200
    assert [(s["date"], s["record_label"], s["attendance_label"]) for s in response.context["sessions"]] == [
        ("2026-09-07", "完整", "迟到"),
        ("2026-09-08", "未评定（暂按不完整计）", "准时"),
    ]
    page = response.content.decode()
    assert "2026-09-07 迟到：-1" in page
    assert "学期工作量合计：0.5" in page


def test_the_pay_sheet_lists_warnings(world, pay, as_user):
    held(pay.basic_care, SEP_7, rating="unrated", roll=False)
    builders.fund(world, pay.term)
    run = services.payout_run_draft(actor=world.users["admin"], term=pay.term)

    groups = as_user("admin").get(reverse("compensation:run-detail", args=[run.pk])).context["warning_groups"]

    assert [group.get("title") or group["notice"] for group in groups] == [
        "有 10.00 元没有分配：没有教师有工作量，或符合条件教师的问卷得分合计为 0。",
        "核算截止于 2026-10-12，早于学期结束日 2027-01-20：之后的场次不在这次核算内。",
        "活动记录未评定（暂按不完整计），请先评定",
        "没有点名记录",
    ]


@pytest.mark.parametrize("teachers", [2, 20])
def test_the_pay_sheet_runs_a_constant_number_of_queries(
    world, pay, as_user, django_assert_num_queries, teachers
):
    for index in range(teachers):
        teacher = make_staff(
            world.school, "service_teacher", username=f"t{index}", full_name=f"教师{index:02d}"
        )
        pay.football.teachers.add(teacher)
    held(pay.football, SEP_14)
    held(pay.football, SEP_21)
    run = builders.basic_run(world, pay)
    client = as_user("principal")
    client.get(reverse("compensation:run-detail", args=[run.pk]))  # warm the session and the caches

    with django_assert_num_queries(11):
        response = client.get(reverse("compensation:run-detail", args=[run.pk]))

    assert len(response.context["lines"]) == teachers + 2


# Approval and the frozen run over HTTP -----------------------------------------------------------------


def test_principal_approves_and_the_run_is_frozen(world, pay, as_user):
    run = builders.basic_run(world, pay)

    response = as_user("principal").post(reverse("compensation:run-approve", args=[run.pk]))

    assert response["Location"] == reverse("compensation:run-detail", args=[run.pk])
    assert message_texts(response) == ["已审定2026秋季学期的课后服务酬金，共 2 名教师，发放合计 100.00 元。"]
    run.refresh_from_db()
    assert (run.status, run.approved_by) == (RunStatus.APPROVED, world.users["principal"])


@pytest.mark.parametrize(("persona", "status"), [("admin", 403), ("finance", 403), ("far_principal", 404)])
def test_nobody_else_approves(world, pay, as_user, persona, status):
    run = builders.basic_run(world, pay)

    response = as_user(persona).post(reverse("compensation:run-approve", args=[run.pk]))

    assert response.status_code == status
    run.refresh_from_db()
    assert run.status == RunStatus.DRAFT


def test_a_stale_draft_is_not_approved_over_http(world, pay, as_user):
    run = builders.basic_run(world, pay)
    session = pay.football.sessions.get()
    teacher_attendance(
        session, world.users["service_teacher"], "absent_unexcused", by=world.users["inspector"]
    )

    response = as_user("principal").post(reverse("compensation:run-approve", args=[run.pk]))
    page = as_user("principal").get(reverse("compensation:run-detail", args=[run.pk])).content.decode()

    assert message_texts(response) == ["草稿生成后，教师考勤有了变化，请重新核算后再审定。"]
    run.refresh_from_db()
    assert run.status == RunStatus.DRAFT
    assert "草稿生成后的更正" in page and "无故缺勤" in page


def test_a_frozen_run_refuses_changes_over_http(world, pay, as_user):
    run = builders.approved_run(world, pay)
    client = as_user("admin")
    lines_before = list(PayoutLine.objects.order_by("pk").values_list("pk", "total"))

    policy = client.post(
        reverse("compensation:policy-edit", args=[pay.term.pk]), policy_post(process_ratio="8")
    )
    fund = client.post(
        reverse("compensation:fund-edit", args=[pay.term.pk]),
        {"source": "entered", "entered_amount": "1", "fiscal_subsidy": "0", "reserve": "0"},
    )
    draft = client.post(reverse("compensation:run-draft", args=[pay.term.pk]), {"cut_off": ""})
    again = as_user("principal").post(reverse("compensation:run-approve", args=[run.pk]))

    assert (policy.status_code, fund.status_code, draft.status_code) == (400, 400, 400)
    assert policy.context["form"].non_field_errors() == [FROZEN]
    assert fund.context["form"].non_field_errors() == [FROZEN]
    assert draft.context["draft_form"].non_field_errors() == [FROZEN]
    assert message_texts(again) == ["这份酬金表已经审定过了。"]
    assert not PayPolicy.objects.exists()
    assert TermFund.objects.get().entered_amount == D("100.00")
    assert not Job.objects.exists()
    assert list(PayoutLine.objects.order_by("pk").values_list("pk", "total")) == lines_before


def test_corrections_after_approval_show_on_the_run(world, pay, as_user):
    run = builders.approved_run(world, pay)
    session = pay.football.sessions.get()
    teacher_attendance(session, world.users["service_teacher"], "late", by=world.users["inspector"])

    response = as_user("admin").get(reverse("compensation:run-detail", args=[run.pk]))

    page = response.content.decode()
    assert "审定后更正" in page
    assert [(c.what, c.change) for c in response.context["corrections"]] == [("教师考勤", "新增 · 迟到")]
    assert TeacherAttendance.objects.count() == 1


# A teacher's own pay ---------------------------------------------------------------------------------


def test_a_teacher_sees_only_their_own_approved_line(world, pay, as_user):
    run = builders.approved_run(world, pay)
    own = run.lines.get(teacher=world.users["service_teacher"])
    other = run.lines.get(teacher=world.users["homeroom"])
    client = as_user("service_teacher")

    listing = client.get(reverse("compensation:my-pay"))
    detail = client.get(reverse("compensation:my-pay-line", args=[own.pk]))

    assert [line.pk for line in listing.context["lines"]] == [own.pk]
    assert "40.00 元" in listing.content.decode()
    assert detail.status_code == 200 and "合计：40.00 元" in detail.content.decode()
    assert client.get(reverse("compensation:my-pay-line", args=[other.pk])).status_code == 404
    assert client.get(reverse("compensation:run-line", args=[run.pk, other.pk])).status_code == 403
    assert client.get(reverse("compensation:run-detail", args=[run.pk])).status_code == 403


def test_a_draft_is_not_shown_to_teachers(world, pay, as_user):
    run = builders.basic_run(world, pay)
    own = run.lines.get(teacher=world.users["service_teacher"])
    client = as_user("service_teacher")

    assert client.get(reverse("compensation:my-pay")).context["lines"] == []
    assert client.get(reverse("compensation:my-pay-line", args=[own.pk])).status_code == 404


def test_provider_staff_read_that_their_institution_pays_them(world, as_user):
    page = as_user("provider").get(reverse("compensation:my-pay")).content.decode()

    assert "校外机构人员的报酬由所属机构按合同支付" in page


def test_a_parent_has_no_pay_page(world, as_user):
    assert as_user("parent").get(reverse("compensation:my-pay")).status_code == 403


# Pay sheets ------------------------------------------------------------------------------------------


def _export(client, run, name, capture):
    with capture(execute=True):
        response = client.post(reverse(name, args=[run.pk]))
    job = Job.objects.latest("created_at")
    assert response["Location"] == reverse("core:job-detail", args=[job.pk])
    assert job.status == JobStatus.SUCCEEDED, job.error
    download = client.get(reverse("core:job-download", args=[job.pk]))
    return b"".join(download.streaming_content)


def test_excel_pay_sheet_reads_back_with_exact_totals(
    world, pay, as_user, django_capture_on_commit_callbacks
):
    builders.held(pay.football, SEP_8)
    run = builders.approved_run(world, pay)  # homeroom 1.5 units, service_teacher 2: 90 × 1.5 / 3.5 -> 38.57

    content = _export(
        as_user("finance"), run, "compensation:run-export-xlsx", django_capture_on_commit_callbacks
    )

    workbook = load_workbook(io.BytesIO(content))
    homeroom, teacher = world.users["homeroom"].full_name, world.users["service_teacher"].full_name
    first, second = sorted([homeroom, teacher])
    assert workbook.sheetnames == ["酬金汇总", "规则与说明", f"001 {first}", f"002 {second}"]
    rows = list(workbook["酬金汇总"].iter_rows(values_only=True))
    assert rows[0][0] == "甲小学 2026秋季学期 课后服务教师酬金发放表（已审定）"
    assert rows[3] == (
        "序号",
        "姓名",
        "场次",
        "工作量",
        "过程性奖励（元）",
        "终结性奖励（元）",
        "课时酬金（元）",
        "扣减工作量",
        "合计（元）",
        "签名",
    )
    body = {row[1]: row for row in rows[4:6]}
    assert [D(str(v)) for v in body[homeroom][3:9]] == [
        D("1.5"),
        D("38.57"),
        D("6"),
        D("0"),
        D("0"),
        D("44.57"),
    ]
    assert [D(str(v)) for v in body[teacher][3:9]] == [D("2"), D("51.43"), D("4"), D("0"), D("0"), D("55.43")]
    totals = rows[6]
    assert totals[0] == "合计" and totals[2] == 4
    assert [D(str(v)) for v in totals[3:9]] == [D("3.5"), D("90"), D("10"), D("0"), D("0"), D("100")]
    assert sum(D(str(body[name][8])) for name in body) == D(str(totals[8])) == run.total
    detail = [row for row in workbook[f"001 {first}"].iter_rows(values_only=True)]
    assert any(row[0] == "计入的场次" for row in detail)


def test_pdf_pay_sheet_has_the_lines_totals_and_an_embedded_cjk_font(
    world, pay, as_user, django_capture_on_commit_callbacks, tmp_path
):
    run = builders.approved_run(world, pay)

    content = _export(
        as_user("principal"), run, "compensation:run-export-pdf", django_capture_on_commit_callbacks
    )

    path = tmp_path / "pay.pdf"
    path.write_bytes(content)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True, text=True).stdout
    for expected in [
        "课后服务教师酬金发放表（已审定）",
        world.users["homeroom"].full_name,
        world.users["service_teacher"].full_name,
        "60.00",
        "40.00",
        "100.00",
        "校外机构人员的报酬由所属机构按合同支付",
        "没有教师考勤记录的场次按准时计",
        "校长审定",
    ]:
        assert expected in text, expected
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True, text=True).stdout
    cjk = [line for line in fonts.splitlines()[2:] if "NotoSansCJK" in line.split()[0].replace("-", "")]
    assert cjk and all(line.split()[-5] == "yes" for line in cjk)


def test_a_teacher_cannot_export_the_pay_sheet(world, pay, as_user):
    run = builders.approved_run(world, pay)

    response = as_user("service_teacher").post(reverse("compensation:run-export-xlsx", args=[run.pk]))

    assert response.status_code == 403
    assert not Job.objects.exists()
