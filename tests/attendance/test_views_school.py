"""The school's side of the day, by persona: the day overview, cancelling a session, the printable
roll sheet and its PDF."""

from datetime import date, time
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aftercare.models import Job, JobStatus, Notification
from attendance.models import (
    AbsenceCase,
    ActivityRecord,
    ChildAttendance,
    HandOver,
    LeaveKind,
    LeaveRequest,
    Mark,
    RecordRating,
    Session,
    SessionStatus,
)
from attendance.selectors import day_overview
from attendance.sessions import ALREADY_CANCELLED, CANCEL_REASON_REQUIRED, sessions_prepare
from catalogue import services as catalogue
from catalogue.models import Domain, FeeMode, OfferingKind
from tests.aftercare.test_documents import embedded_fonts, pdf_text
from tests.factories import StudentFactory

from . import setup
from .conftest import TODAY, at


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def teachers(world):
    """Names that do not depend on the order the tests ran in."""
    for name, full_name in [
        ("homeroom", "王老师"),
        ("other_homeroom", "李老师"),
        ("service_teacher", "赵老师"),
    ]:
        user = world.users[name]
        user.full_name = full_name
        user.save(update_fields=["full_name"])
    return world.users


@pytest.fixture
def day(world, enrolled, basic_care, football, teachers):
    """Today's three sessions: 3-1's basic care (张小明, 陈小华), 3-2's (李小红), football (张小明)."""
    sessions_prepare(school=world.school, day=TODAY)
    other_basic_care = basic_care.term.offerings.get(classroom=world.other_classroom)
    return {
        "basic_care": Session.objects.get(offering=basic_care, date=TODAY),
        "other_basic_care": Session.objects.get(offering=other_basic_care, date=TODAY),
        "football": Session.objects.get(offering=football, date=TODAY),
    }


def mark(session, student, value, *, by, note="", minute=15):
    return ChildAttendance.objects.create(
        session=session, student=student, mark=value, note=note, marked_by=by, marked_at=at(16, minute)
    )


def roll_taken(session, user, minute=15):
    Session.objects.filter(pk=session.pk).update(roll_taken_at=at(16, minute), roll_taken_by=user)


def leave(world, student, *, kind=LeaveKind.ABSENT, pickup_at=None, reason="看牙医"):
    return LeaveRequest.objects.create(
        school=world.school,
        student=student,
        kind=kind,
        starts_on=TODAY,
        ends_on=TODAY,
        pickup_at=pickup_at,
        reason=reason,
        requested_by=world.users["parent"],
    )


def committee_child(world):
    return world.classroom.students.get(name="陈小华")


@pytest.fixture
def marked_day(world, day):
    """3-1: 张小明 present, 陈小华 late, roll taken at 16:15, 张小明 handed over to 张爸爸, a complete
    record. 3-2: 李小红 on a day's leave, no roll. Football: 张小明 absent, an open case, no record."""
    homeroom, teacher = world.users["homeroom"], world.users["service_teacher"]
    mark(day["basic_care"], world.child, Mark.PRESENT, by=homeroom)
    mark(day["basic_care"], committee_child(world), Mark.LATE, by=homeroom)
    roll_taken(day["basic_care"], homeroom)
    HandOver.objects.create(
        session=day["basic_care"],
        student=world.child,
        collected_by_name="张爸爸",
        handed_over_at=at(17, 40),
        recorded_by=homeroom,
    )
    ActivityRecord.objects.create(
        session=day["basic_care"],
        content="作业辅导",
        written_by=homeroom,
        written_at=at(17, 0),
        rating=RecordRating.COMPLETE,
    )
    leave(world, world.other_child)
    mark(day["football"], world.child, Mark.ABSENT, by=teacher, minute=20)
    roll_taken(day["football"], teacher, minute=20)
    AbsenceCase.objects.create(
        school=world.school,
        session=day["football"],
        student=world.child,
        opened_at=at(16, 20),
        opened_by=teacher,
    )
    return day


# The day overview ------------------------------------------------------------------------------


def counts(row):
    s = row.session
    return (row.expected, s.present_count, s.late_count, row.leave, s.absent_count)


def test_the_overview_counts_each_session_and_the_day(world, marked_day, as_user):
    with mock.patch("django.utils.timezone.now", return_value=at(18, 0)):
        response = as_user("admin").get(reverse("attendance:day-overview"))

    assert response.status_code == 200
    overview = response.context["overview"]
    rows = {row.session.offering.name: row for row in overview.rows}
    assert [row.session.offering.name for row in overview.rows] == [
        "三年级（1）班 基础托管",
        "三年级（2）班 基础托管",
        "足球",
    ]
    # (expected, present, late, leave, absent)
    assert counts(rows["三年级（1）班 基础托管"]) == (2, 1, 1, 0, 0)
    assert counts(rows["三年级（2）班 基础托管"]) == (0, 0, 0, 1, 0)  # on leave, roll not taken
    assert counts(rows["足球"]) == (1, 0, 0, 0, 1)
    assert rows["三年级（1）班 基础托管"].teachers == ["王老师"]
    assert rows["足球"].teachers == ["赵老师"]
    assert [str(row.record_state) for row in overview.rows] == ["完整", "缺失", "缺失"]
    # After 17:45: 陈小华 (late, still there) is not handed over; 张小明 went with 张爸爸.
    assert rows["三年级（1）班 基础托管"].session.not_handed_over_count == 1
    assert rows["三年级（1）班 基础托管"].shows_missing_hand_overs is True
    totals = overview.totals
    assert (totals.sessions, totals.cancelled, totals.roll_missing) == (3, 0, 1)
    assert (totals.expected, totals.present, totals.late, totals.leave, totals.absent) == (3, 1, 1, 1, 1)
    assert totals.not_handed_over == 1
    assert overview.open_cases == 1
    page = response.content.decode()
    assert "已点名 16:15" in page
    assert "已点名 16:20" in page
    assert page.count("未点名") == 2  # the total's label and 3-2's badge
    assert "1 名学生未交接" in page
    assert "活动记录：完整" in page
    assert "跟踪中的脱管 1 起" in page
    assert reverse("attendance:roll-sheet", args=[marked_day["football"].pk]) in page
    assert reverse("attendance:session-cancel", args=[marked_day["football"].pk]) in page


def test_children_not_handed_over_show_only_after_the_end(world, marked_day):
    overview = day_overview(school=world.school, day=TODAY, now=at(17, 0))

    row = overview.rows[0]
    assert row.session.not_handed_over_count == 1
    assert row.shows_missing_hand_overs is False
    assert overview.totals.not_handed_over == 0


def test_a_cancelled_session_shows_its_reason_and_leaves_the_totals(world, marked_day, as_user):
    Session.objects.filter(pk=marked_day["football"].pk).update(
        status=SessionStatus.CANCELLED, cancel_reason="暴雨"
    )

    response = as_user("principal").get(reverse("attendance:day-overview"), {"date": "2026-10-12"})

    totals = response.context["overview"].totals
    assert (totals.sessions, totals.cancelled, totals.expected, totals.absent) == (3, 1, 2, 0)
    page = response.content.decode()
    assert "取消原因：暴雨" in page
    assert reverse("attendance:session-cancel", args=[marked_day["football"].pk]) not in page


def test_the_inspector_sees_the_day_without_cancel_links(world, marked_day, as_user):
    response = as_user("inspector").get(reverse("attendance:day-overview"))

    assert response.status_code == 200
    assert response.context["may_cancel"] is False
    assert "/cancel/" not in response.content.decode()


def test_another_day_is_prepared_when_opened_and_navigates_by_day(world, enrolled, as_user):
    response = as_user("admin").get(reverse("attendance:day-overview"), {"date": "2026-10-13"})

    assert response.status_code == 200
    # Tuesday: the two classes' basic care, no football.
    assert [row.session.offering.name for row in response.context["overview"].rows] == [
        "三年级（1）班 基础托管",
        "三年级（2）班 基础托管",
    ]
    page = response.content.decode()
    assert "?date=2026-10-12" in page
    assert "?date=2026-10-14" in page


def test_a_bad_date_is_refused_and_today_shown(world, day, as_user):
    response = as_user("admin").get(reverse("attendance:day-overview"), {"date": "12/10/2026"})

    assert response.status_code == 400
    assert response.context["form"].errors == {"date": ["日期格式不正确，请按 2026-10-12 的格式填写。"]}
    assert response.context["day"] == TODAY


@pytest.mark.parametrize("persona", ["homeroom", "service_teacher", "finance"])
def test_teachers_and_finance_do_not_see_the_day(world, day, as_user, persona):
    assert as_user(persona).get(reverse("attendance:day-overview")).status_code == 403


def _grow(world, term, basic_care, *, children, courses):
    """More children in 3-1's basic care (marked, one on leave) and more courses today."""
    start = world.classroom.students.count()
    for n in range(children - start):
        child = StudentFactory(classroom=world.classroom, name=f"学生{start + n}")
        setup.enroll(world, child, [basic_care])
    existing = term.offerings.filter(kind=OfferingKind.COURSE).count()
    for n in range(existing, courses):
        offering = catalogue.offering_create(
            actor=world.users["admin"],
            term=term,
            kind=OfferingKind.COURSE,
            name=f"课程{n}",
            domain=Domain.AESTHETIC,
            grades=[3],
            capacity=30,
            weekdays=[0],
            place="教室",
            fee_mode=FeeMode.FREE,
            teachers=[world.users["service_teacher"]],
        )
        catalogue.offering_publish(actor=world.users["admin"], offering=offering)
    sessions_prepare(school=world.school, day=TODAY)
    session = Session.objects.get(offering=basic_care, date=TODAY)
    ChildAttendance.objects.filter(session=session).delete()
    for student in world.classroom.students.all():
        mark(session, student, Mark.PRESENT, by=world.users["homeroom"])
    LeaveRequest.objects.filter(student__classroom=world.classroom).delete()
    leave(world, world.classroom.students.order_by("pk").last())


def test_the_overview_runs_a_constant_number_of_queries(world, term, basic_care, enrolled, as_user):
    client = as_user("admin")
    client.get(reverse("attendance:day-overview"))  # the first request of a session writes it
    counts = []
    for children, courses in ((2, 1), (30, 6)):
        _grow(world, term, basic_care, children=children, courses=courses)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("attendance:day-overview"))
        assert response.status_code == 200
        counts.append(len(queries))
    rows = response.context["overview"].rows
    assert len(rows) == 8
    assert rows[0].session.present_count == 30
    # Session, user, access, the school, "is the day prepared", sessions with their counts, teachers,
    # provider staff, open cases.
    assert counts == [9, 9], [q["sql"][:100] for q in queries.captured_queries]


# Cancelling ------------------------------------------------------------------------------------


def test_the_administrator_cancels_and_the_families_and_teacher_are_told(world, day, as_user):
    session = day["basic_care"]
    client = as_user("admin")

    response = client.post(reverse("attendance:session-cancel", args=[session.pk]), {"reason": "暴雨预警"})

    assert response.status_code == 302
    assert response["Location"] == reverse("attendance:day-overview") + "?date=2026-10-12"
    session.refresh_from_db()
    assert (session.status, session.cancel_reason, session.cancelled_by) == (
        SessionStatus.CANCELLED,
        "暴雨预警",
        world.users["admin"],
    )
    told = Notification.objects.filter(title="10月12日 三年级（1）班 基础托管 取消")
    assert sorted(told.values_list("user__username", flat=True)) == ["committee", "homeroom", "parent"]
    assert told.first().body == "原因：暴雨预警。当天这项课后服务不开展，请按放学时间接孩子。"
    followed = client.get(response["Location"])
    assert [str(m) for m in followed.context["messages"]] == [
        "已取消10月12日的三年级（1）班 基础托管，家长和任课教师会收到通知。"
    ]
    assert session.history.latest().history_user == world.users["admin"]


def test_a_cancel_without_reason_is_refused_and_changes_nothing(world, day, as_user):
    session = day["basic_care"]
    told = Notification.objects.count()  # the enrollment's own notices

    response = as_user("principal").post(
        reverse("attendance:session-cancel", args=[session.pk]), {"reason": "  "}
    )

    assert response.status_code == 400
    assert response.context["form"].errors == {"reason": [str(CANCEL_REASON_REQUIRED)]}
    session.refresh_from_db()
    assert session.status == SessionStatus.PLANNED
    assert Notification.objects.count() == told


def test_a_cancelled_session_cannot_be_cancelled_again(world, day, as_user):
    session = day["basic_care"]
    client = as_user("admin")
    client.post(reverse("attendance:session-cancel", args=[session.pk]), {"reason": "暴雨预警"})
    told = Notification.objects.count()

    response = client.post(reverse("attendance:session-cancel", args=[session.pk]), {"reason": "再次取消"})

    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == [str(ALREADY_CANCELLED)]
    session.refresh_from_db()
    assert session.cancel_reason == "暴雨预警"
    assert Notification.objects.count() == told


@pytest.mark.parametrize(("persona", "status"), [("homeroom", 403), ("inspector", 403), ("parent", 404)])
def test_others_cannot_cancel(world, day, as_user, persona, status):
    session = day["basic_care"]
    told = Notification.objects.count()  # the enrollment's own notices

    response = as_user(persona).post(
        reverse("attendance:session-cancel", args=[session.pk]), {"reason": "不想上"}
    )

    assert response.status_code == status
    session.refresh_from_db()
    assert (session.status, session.cancel_reason) == (SessionStatus.PLANNED, "")
    assert Notification.objects.count() == told


# The roll sheet --------------------------------------------------------------------------------


def table_rows(page: str) -> list[list[str]]:
    """The roll sheet's body rows as cell texts."""
    import re

    body = page.split('<table class="sheet roll-sheet">', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
        rows.append([re.sub(r"<[^>]+>", "", cell).strip() for cell in cells])
    return rows


def test_an_untaken_roll_sheet_has_boxes_to_tick(world, day, as_user):
    leave(world, committee_child(world), kind=LeaveKind.EARLY_PICKUP, pickup_at=time(17, 0), reason="看病")

    response = as_user("homeroom").get(reverse("attendance:roll-sheet", args=[day["basic_care"].pk]))

    assert response.status_code == 200
    page = response.content.decode()
    for fact in [
        "甲小学课后服务考勤表",
        "学期：2026秋季学期",
        "项目：三年级（1）班 基础托管",
        "班级：三年级（1）班",
        "日期：2026-10-12 周一",
        "时间：16:10–17:45",
        "地点：三年级（1）班",
        "任课教师：王老师",
        "点名：未点名",
        "任课教师签名",
        "检查人签名",
    ]:
        assert fact in page, fact
    assert table_rows(page) == [
        ["1", "张小明", "3-1", "□出□迟□假□缺", "", "", "", ""],
        ["2", "陈小华", "3-1", "□出□迟□假□缺", "17:00 提前接走：看病", "", "", ""],
    ]
    assert "data-print" in page
    assert reverse("attendance:roll-sheet-pdf", args=[day["basic_care"].pk]) in page


def test_a_taken_roll_sheet_shows_marks_leave_and_hand_overs(world, day, as_user):
    session = day["basic_care"]
    leave(world, committee_child(world), reason="发烧")
    mark(session, world.child, Mark.LATE, by=world.users["homeroom"], note="16:25 到")
    mark(session, committee_child(world), Mark.LEAVE, by=world.users["homeroom"])
    roll_taken(session, world.users["homeroom"])
    HandOver.objects.create(
        session=session,
        student=world.child,
        collected_by_name="张爸爸",
        handed_over_at=at(17, 40),
        recorded_by=world.users["homeroom"],
    )

    response = as_user("inspector").get(reverse("attendance:roll-sheet", args=[session.pk]))

    page = response.content.decode()
    assert "点名：16:15" in page
    assert table_rows(page) == [
        ["1", "张小明", "3-1", "迟到", "", "张爸爸", "17:40", "16:25 到"],
        ["2", "陈小华", "3-1", "请假", "请假：发烧", "", "", ""],
    ]


def test_a_course_roll_sheet_names_the_course(world, day, as_user):
    response = as_user("service_teacher").get(reverse("attendance:roll-sheet", args=[day["football"].pk]))

    page = response.content.decode()
    assert "项目：足球" in page
    assert "类型：特色课程" in page
    assert "地点：操场" in page
    assert [row[1:3] for row in table_rows(page)] == [["张小明", "3-1"]]


@pytest.mark.parametrize(
    ("persona", "status"), [("other_homeroom", 403), ("service_teacher", 403), ("parent", 404)]
)
def test_others_cannot_read_the_roll_sheet(world, day, as_user, persona, status):
    response = as_user(persona).get(reverse("attendance:roll-sheet", args=[day["basic_care"].pk]))

    assert response.status_code == status


def test_the_roll_sheet_pdf_has_the_text_and_an_embedded_cjk_font(
    world, day, as_user, tmp_path, django_capture_on_commit_callbacks
):
    session = day["basic_care"]
    mark(session, world.child, Mark.PRESENT, by=world.users["homeroom"])
    mark(session, committee_child(world), Mark.ABSENT, by=world.users["homeroom"])
    roll_taken(session, world.users["homeroom"])
    client = as_user("homeroom")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("attendance:roll-sheet-pdf", args=[session.pk]))

    job = Job.objects.get(created_by=world.users["homeroom"])
    assert response["Location"] == reverse("core:job-detail", args=[job.pk])
    assert (job.kind, job.status, job.message) == (
        "attendance_roll_sheet_pdf",
        JobStatus.SUCCEEDED,
        "考勤表已生成。",
    )
    download = client.get(reverse("core:job-download", args=[job.pk]))
    pdf = b"".join(download.streaming_content)
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf, tmp_path)
    for expected in [
        "甲小学课后服务考勤表",
        "三年级（1）班 基础托管",
        "张小明",
        "陈小华",
        "出勤",
        "缺勤",
        "任课教师签名",
        "检查人签名",
    ]:
        assert expected in text, expected
    fonts = embedded_fonts(pdf, tmp_path)
    cjk_fonts = {name: embedded for name, embedded in fonts.items() if "NotoSansCJK" in name.replace("-", "")}
    assert cjk_fonts
    assert set(cjk_fonts.values()) == {"yes"}


def test_the_roll_sheet_job_refuses_once_the_rights_are_gone(
    world, day, as_user, django_capture_on_commit_callbacks
):
    session = day["basic_care"]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        as_user("homeroom").post(reverse("attendance:roll-sheet-pdf", args=[session.pk]))
    # The class gets another homeroom teacher, who also takes over its basic care.
    world.classroom.homeroom_teacher = world.users["other_homeroom"]
    world.classroom.save()
    session.offering.teachers.set([world.users["other_homeroom"]])

    for callback in callbacks:
        callback()

    job = Job.objects.get(created_by=world.users["homeroom"])
    assert (job.status, job.error) == (JobStatus.FAILED, "您已无权查看这次课后服务的考勤表。")
    assert not job.result_file


def test_the_overview_of_a_day_without_sessions(world, term, as_user):
    response = as_user("admin").get(
        reverse("attendance:day-overview"), {"date": date(2026, 10, 17).isoformat()}
    )

    assert response.status_code == 200
    assert response.context["overview"].rows == []
    assert "这一天没有课后服务。" in response.content.decode()


def test_the_pdf_is_not_started_by_a_parent(world, day, as_user):
    response = as_user("parent").post(reverse("attendance:roll-sheet-pdf", args=[day["basic_care"].pk]))

    assert response.status_code == 404
    assert not Job.objects.exists()


def test_the_day_narrows_to_the_sessions_that_need_attention(world, marked_day, as_user):
    HandOver.objects.create(
        session=marked_day["basic_care"],
        student=committee_child(world),
        collected_by_name="陈妈妈",
        handed_over_at=at(17, 41),
        recorded_by=world.users["homeroom"],
    )

    response = as_user("admin").get(
        reverse("attendance:day-overview"), {"date": "2026-10-12", "show": "attention"}
    )

    # 3-1 is done (roll, everyone handed over); 3-2 has no roll; football has an absence.
    names = [row.session.offering.name for row in response.context["rows"]]
    assert names == ["三年级（2）班 基础托管", "足球"]
    assert response.context["overview"].totals.sessions == 3  # the totals stay the day's
    page = response.content.decode()
    assert "全部 3" in page and "需要处理 2" in page
