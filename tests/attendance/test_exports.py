"""The attendance exports, read back with openpyxl: children's marks per offering (a class, an offering,
the whole school) and teachers' attendance over the term; who may start them, and jobs that refuse
once the rights are gone."""

import io
from datetime import date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from aftercare.models import Job, JobStatus, StaffRole, Student
from aftercare.roles import Role
from attendance.exports import (
    children_attendance_workbook,
    school_attendance_workbook,
    teachers_attendance_workbook,
)
from attendance.models import (
    ActivityRecord,
    ChildAttendance,
    IncidentKind,
    Mark,
    RecordRating,
    Session,
    SessionStatus,
    TeacherAttendance,
    TeacherPresence,
)
from attendance.sessions import sessions_prepare
from tests.factories import StudentFactory, TermFactory

from . import setup
from .conftest import TODAY, at

LAST_MONDAY = date(2026, 10, 5)
LAST_TUESDAY = date(2026, 10, 6)
TOMORROW = date(2026, 10, 13)
HEADER = ("班级", "学号", "姓名")
TOTALS = ("出勤", "迟到", "请假", "缺勤")
CLASS_3_1 = "三年级（1）班"


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def days(world, enrolled, basic_care, football):
    """Sessions of last Monday and Tuesday, today and tomorrow (3-1's cancelled), with teachers named
    whatever the order the tests ran in."""
    for name, full_name in [
        ("homeroom", "王老师"),
        ("other_homeroom", "李老师"),
        ("service_teacher", "赵老师"),
    ]:
        world.users[name].full_name = full_name
        world.users[name].save(update_fields=["full_name"])
    for day in (LAST_MONDAY, LAST_TUESDAY, TODAY, TOMORROW):
        sessions_prepare(school=world.school, day=day)
    Session.objects.filter(offering=basic_care, date=TOMORROW).update(
        status=SessionStatus.CANCELLED, cancel_reason="运动会"
    )
    other_basic_care = basic_care.term.offerings.get(classroom=world.other_classroom)

    def session(offering, day):
        return Session.objects.get(offering=offering, date=day)

    return {
        (name, day): session(offering, day)
        for name, offering in [("3-1", basic_care), ("3-2", other_basic_care), ("football", football)]
        for day in (LAST_MONDAY, LAST_TUESDAY, TODAY)
        if name != "football" or day.weekday() == 0
    }


def mark(session, student, value, by):
    ChildAttendance.objects.create(
        session=session, student=student, mark=value, marked_by=by, marked_at=at(16, 15, day=session.date)
    )


@pytest.fixture
def marked(world, days):
    homeroom, teacher = world.users["homeroom"], world.users["service_teacher"]
    chen = world.classroom.students.get(name="陈小华")
    mark(days["3-1", LAST_MONDAY], world.child, Mark.PRESENT, homeroom)
    mark(days["3-1", LAST_MONDAY], chen, Mark.ABSENT, homeroom)
    mark(days["football", LAST_MONDAY], world.child, Mark.LATE, teacher)
    mark(days["3-1", TODAY], world.child, Mark.LEAVE, homeroom)
    mark(days["3-1", TODAY], chen, Mark.PRESENT, homeroom)
    mark(days["football", TODAY], world.child, Mark.PRESENT, teacher)
    mark(days["3-2", LAST_MONDAY], world.other_child, Mark.PRESENT, world.users["other_homeroom"])
    return days


def number(student) -> str:
    return Student.objects.get(pk=student.pk).student_number


def start(client, url, data, capture):
    with capture(execute=True):
        response = client.post(url, data)
    return response


def download(client, job):
    response = client.get(reverse("core:job-download", args=[job.pk]))
    return load_workbook(io.BytesIO(b"".join(response.streaming_content)))


def rows(sheet):
    return list(sheet.iter_rows(values_only=True))


def children_data(scope, **fields):
    return {"scope": scope, "date_from": "2026-10-01", "date_to": "2026-10-13", **fields}


# Children's attendance ----------------------------------------------------------------------------


def test_the_export_page_offers_the_term_so_far(world, marked, as_user):
    response = as_user("homeroom").get(reverse("attendance:export-children"))

    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial == {"date_from": date(2026, 9, 1), "date_to": TODAY}
    # The homeroom teacher of 3-1 (who leads its basic care) picks their class or that offering.
    assert form.offered_scopes == ["class", "offering"]
    assert [label for value, label in form.fields["classroom"].widget.choices if value] == [CLASS_3_1]
    assert [label for value, label in form.fields["offering"].widget.choices if value] == [
        "三年级（1）班 基础托管"
    ]
    assert response.context["teachers_form"] is None


def test_a_homeroom_teacher_exports_their_class_and_its_childrens_courses(
    world, marked, as_user, django_capture_on_commit_callbacks
):
    Student.objects.filter(name="陈小华").update(name="=1+1")
    client = as_user("homeroom")

    response = start(
        client,
        reverse("attendance:export-children"),
        children_data("class", classroom=world.classroom.pk),
        django_capture_on_commit_callbacks,
    )

    job = Job.objects.get(created_by=world.users["homeroom"])
    assert response["Location"] == reverse("core:job-detail", args=[job.pk])
    assert (job.kind, job.status, job.message) == (
        "attendance_children_export",
        JobStatus.SUCCEEDED,
        "学生考勤已导出。",
    )
    assert job.result_name == "attendance-children-20261001-20261013.xlsx"
    workbook = download(client, job)
    assert workbook.sheetnames == ["三年级（1）班 基础托管", "足球"]
    zhang, chen = number(world.child), number(world.classroom.students.get(name="=1+1"))
    # Tomorrow's cancelled session has no column; last Tuesday was not marked.
    assert rows(workbook["三年级（1）班 基础托管"]) == [
        (*HEADER, "10-05", "10-06", "10-12", *TOTALS),
        (CLASS_3_1, zhang, "张小明", "出", None, "假", 1, 0, 1, 0),
        (CLASS_3_1, chen, "=1+1", "缺", None, "出", 1, 0, 0, 1),
    ]
    assert workbook["三年级（1）班 基础托管"]["C3"].data_type == "s"
    # Only 3-1's children: 张小明 is the class's one footballer.
    assert rows(workbook["足球"]) == [
        (*HEADER, "10-05", "10-12", *TOTALS),
        (CLASS_3_1, zhang, "张小明", "迟", "出", 1, 1, 0, 0),
    ]


def test_an_inspector_exports_the_whole_school(world, marked, as_user, django_capture_on_commit_callbacks):
    client = as_user("inspector")

    start(
        client,
        reverse("attendance:export-children"),
        children_data("school"),
        django_capture_on_commit_callbacks,
    )

    workbook = download(client, Job.objects.get(created_by=world.users["inspector"]))
    assert workbook.sheetnames == ["三年级（1）班 基础托管", "三年级（2）班 基础托管", "足球"]
    assert rows(workbook["三年级（2）班 基础托管"]) == [
        (*HEADER, "10-05", "10-06", "10-12", "10-13", *TOTALS),
        ("三年级（2）班", number(world.other_child), "李小红", "出", None, None, None, 1, 0, 0, 0),
    ]


def test_a_teacher_exports_their_course(world, marked, as_user, django_capture_on_commit_callbacks):
    client = as_user("service_teacher")

    start(
        client,
        reverse("attendance:export-children"),
        children_data("offering", offering=marked["football", TODAY].offering_id, date_from="2026-10-12"),
        django_capture_on_commit_callbacks,
    )

    workbook = download(client, Job.objects.get(created_by=world.users["service_teacher"]))
    assert workbook.sheetnames == ["足球"]
    assert rows(workbook["足球"]) == [
        (*HEADER, "10-12", *TOTALS),
        (CLASS_3_1, number(world.child), "张小明", "出", 1, 0, 0, 0),
    ]


@pytest.mark.parametrize(
    ("persona", "scope", "target"),
    [
        ("service_teacher", "offering", "basic_care"),  # not their offering
        ("homeroom", "class", "other_classroom"),  # not their class
        ("homeroom", "offering", "football"),
        ("inspector", "class", "classroom"),  # inspectors export the whole school only
        ("other_homeroom", "school", None),
    ],
)
def test_exports_beyond_ones_rights_are_refused(
    world, marked, basic_care, football, as_user, persona, scope, target
):
    targets = {
        "basic_care": ("offering", basic_care.pk),
        "football": ("offering", football.pk),
        "classroom": ("classroom", world.classroom.pk),
        "other_classroom": ("classroom", world.other_classroom.pk),
    }
    fields = dict([targets[target]]) if target else {}

    response = as_user(persona).post(reverse("attendance:export-children"), children_data(scope, **fields))

    assert response.status_code == 403
    assert not Job.objects.exists()


def test_parents_cannot_open_the_exports(world, marked, as_user):
    assert as_user("parent").get(reverse("attendance:export-children")).status_code == 403
    assert as_user("parent").post(reverse("attendance:export-teachers")).status_code == 403
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        (children_data("class"), {"classroom": ["请选择班级。"]}),
        (
            children_data("school", date_from="2026-10-13", date_to="2026-10-01"),
            {"date_to": ["开始日期不能晚于结束日期。"]},
        ),
        (
            children_data("school", date_from="2026-08-01"),
            {"__all__": ["日期须在本学期内（2026-09-01 至 2027-01-20）。"]},
        ),
    ],
)
def test_a_bad_export_request_is_shown_again(world, marked, as_user, data, errors):
    response = as_user("admin").post(reverse("attendance:export-children"), data)

    assert response.status_code == 400
    assert response.context["form"].errors == errors
    assert not Job.objects.exists()


def test_the_export_job_refuses_once_the_class_has_another_teacher(
    world, marked, as_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        as_user("homeroom").post(
            reverse("attendance:export-children"), children_data("class", classroom=world.classroom.pk)
        )
    world.classroom.homeroom_teacher = world.users["other_homeroom"]
    world.classroom.save()

    for callback in callbacks:
        callback()

    job = Job.objects.get(created_by=world.users["homeroom"])
    assert (job.status, job.error) == (JobStatus.FAILED, "您已无权导出这份考勤。")
    assert not job.result_file


def test_the_whole_school_workbook_runs_a_constant_number_of_queries(world, marked, term, basic_care):
    counts = []
    for size in (2, 12):
        for n in range(world.classroom.students.count(), size):
            child = StudentFactory(classroom=world.classroom, name=f"学生{n}")
            setup.enroll(world, child, [basic_care])
            mark(marked["3-1", TODAY], child, Mark.PRESENT, world.users["homeroom"])
        with CaptureQueriesContext(connection) as queries:
            content = school_attendance_workbook(
                world.school, term, date_from=date(2026, 9, 1), date_to=TODAY, progress=lambda *args: None
            )
        counts.append(len(queries))
    sheet = load_workbook(io.BytesIO(content))["三年级（1）班 基础托管"]
    assert sheet.max_row == 13
    # Offerings, session dates, enrollments, marks.
    assert counts == [4, 4]


def test_the_workbook_of_a_term_without_offerings_says_so(world):
    spring = TermFactory(
        school=world.school, name="2027春季学期", starts_on=date(2027, 2, 22), ends_on=date(2027, 7, 2)
    )

    content = children_attendance_workbook(term=spring, date_from=spring.starts_on, date_to=spring.ends_on)

    workbook = load_workbook(io.BytesIO(content))
    assert rows(workbook["考勤"]) == [("所选范围内没有课后服务项目。",)]


# Teachers' attendance -------------------------------------------------------------------------------


@pytest.fixture
def recorded(world, marked):
    """What the inspector recorded, and the activity records' ratings."""
    inspector = world.users["inspector"]

    def record(key, teacher, presence, *, late_minutes=0, incident="", description=""):
        TeacherAttendance.objects.create(
            session=marked[key],
            teacher=world.users[teacher],
            presence=presence,
            late_minutes=late_minutes,
            incident=incident,
            incident_description=description,
            recorded_by=inspector,
            recorded_at=at(16, 30, day=marked[key].date),
        )

    def rate(key, rating):
        ActivityRecord.objects.create(
            session=marked[key], content="记录", written_by=inspector, written_at=at(17, 0), rating=rating
        )

    record(("3-1", LAST_MONDAY), "homeroom", TeacherPresence.ON_TIME)
    record(("football", LAST_MONDAY), "service_teacher", TeacherPresence.LATE, late_minutes=5)
    record(("3-1", LAST_TUESDAY), "homeroom", TeacherPresence.ABSENT_EXCUSED)
    record(("3-2", LAST_TUESDAY), "other_homeroom", TeacherPresence.ABSENT_UNEXCUSED)
    record(
        ("3-1", TODAY),
        "homeroom",
        TeacherPresence.ON_TIME,
        incident=IncidentKind.SAFETY,
        description="摔倒擦伤",
    )
    record(("football", TODAY), "service_teacher", TeacherPresence.ON_TIME)
    rate(("3-1", LAST_MONDAY), RecordRating.COMPLETE)
    rate(("3-1", LAST_TUESDAY), RecordRating.UNRATED)
    rate(("football", TODAY), RecordRating.INCOMPLETE)
    return marked


def test_the_teachers_export_has_a_row_per_session_and_teacher_and_the_totals(
    world, recorded, as_user, django_capture_on_commit_callbacks
):
    client = as_user("admin")

    response = start(client, reverse("attendance:export-teachers"), {}, django_capture_on_commit_callbacks)

    job = Job.objects.get(created_by=world.users["admin"])
    assert response["Location"] == reverse("core:job-detail", args=[job.pk])
    assert (job.kind, job.status, job.message) == (
        "attendance_teachers_export",
        JobStatus.SUCCEEDED,
        "教师考勤已导出。",
    )
    workbook = download(client, job)
    assert workbook.sheetnames == ["教师考勤明细", "教师汇总"]
    monday, tuesday, today = (datetime(2026, 10, d) for d in (5, 6, 12))
    # Up to today; tomorrow's sessions are not held yet.
    assert rows(workbook["教师考勤明细"]) == [
        ("日期", "星期", "项目", "教师", "出勤", "迟到分钟", "事故", "事故说明", "活动记录"),
        (monday, "周一", "三年级（1）班 基础托管", "王老师", "准时", 0, None, None, "完整"),
        (monday, "周一", "三年级（2）班 基础托管", "李老师", "未记录", 0, None, None, "缺失"),
        (monday, "周一", "足球", "赵老师", "迟到", 5, None, None, "缺失"),
        (tuesday, "周二", "三年级（1）班 基础托管", "王老师", "请假缺勤", 0, None, None, "未评定"),
        (tuesday, "周二", "三年级（2）班 基础托管", "李老师", "无故缺勤", 0, None, None, "缺失"),
        (today, "周一", "三年级（1）班 基础托管", "王老师", "准时", 0, "安全事故", "摔倒擦伤", "缺失"),
        (today, "周一", "三年级（2）班 基础托管", "李老师", "未记录", 0, None, None, "缺失"),
        (today, "周一", "足球", "赵老师", "准时", 0, None, None, "不完整"),
    ]
    assert rows(workbook["教师汇总"]) == [
        (
            "教师",
            "场次",
            "准时",
            "迟到次数",
            "迟到分钟",
            "请假缺勤",
            "无故缺勤",
            "未记录",
            "事故",
            "记录完整",
            "记录不完整",
            "记录未评定",
            "记录缺失",
        ),
        ("李老师", 3, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 3),
        ("王老师", 3, 2, 0, 0, 1, 0, 0, 1, 1, 0, 1, 1),
        ("赵老师", 2, 1, 1, 5, 0, 0, 0, 0, 0, 1, 0, 1),
    ]


def test_a_substitute_recorded_for_a_session_has_a_row(world, recorded, term):
    TeacherAttendance.objects.create(
        session=recorded["3-2", LAST_MONDAY],
        teacher=world.users["service_teacher"],
        presence=TeacherPresence.ON_TIME,
        recorded_by=world.users["inspector"],
        recorded_at=at(16, 30, day=LAST_MONDAY),
    )

    detail = rows(
        load_workbook(io.BytesIO(teachers_attendance_workbook(term, date_to=LAST_MONDAY)))["教师考勤明细"]
    )

    assert [row[2:5] for row in detail[1:]] == [
        ("三年级（1）班 基础托管", "王老师", "准时"),
        ("三年级（2）班 基础托管", "李老师", "未记录"),
        ("三年级（2）班 基础托管", "赵老师", "准时"),
        ("足球", "赵老师", "迟到"),
    ]


@pytest.mark.parametrize("persona", ["homeroom", "service_teacher", "finance"])
def test_teachers_cannot_export_the_teachers_attendance(world, recorded, as_user, persona):
    response = as_user(persona).post(reverse("attendance:export-teachers"))

    assert response.status_code == 403
    assert not Job.objects.exists()


def test_the_teachers_export_job_refuses_once_the_inspector_role_is_gone(
    world, recorded, as_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        as_user("inspector").post(reverse("attendance:export-teachers"))
    StaffRole.objects.filter(staff__user=world.users["inspector"], role=Role.INSPECTOR).delete()

    for callback in callbacks:
        callback()

    job = Job.objects.get(created_by=world.users["inspector"])
    assert (job.status, job.error) == (JobStatus.FAILED, "您已无权导出这份考勤。")


def test_the_leaders_see_the_teachers_export_on_the_export_page(world, marked, as_user):
    response = as_user("principal").get(reverse("attendance:export-children"))

    assert response.context["form"].offered_scopes == ["class", "offering", "school"]
    assert response.context["teachers_form"] is not None
    assert "导出教师考勤" in response.content.decode()
