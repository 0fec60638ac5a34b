"""A service day end to end on phones (390 px): a parent asks for leave, the `teacher` takes roll for
class 3-1's basic care (all present and two exceptions in under 10 taps) and for football, an
unexcused absence alerts the `parent` login and opens a follow-up case, and the inspector marks the
teacher late.

"Today" is the next football day of the demo term on which nothing has been marked yet (the demo's
history stops before the real today); ``timezone.localdate`` is patched for the live server too.
"""

from unittest import mock

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from aftercare.models import Notification, Student
from attendance.models import (
    AbsenceCase,
    CaseStatus,
    ChildAttendance,
    Mark,
    Session,
    TeacherAttendance,
    TeacherPresence,
)
from catalogue.models import Offering, OfferingKind
from catalogue.selectors import term_calendar
from enrollment import services as enrollment
from enrollment.models import Enrollment

pytestmark = pytest.mark.browser


def _next_unmarked_day(offering: Offering):
    calendar = term_calendar(offering.term)
    marked = set(ChildAttendance.objects.values_list("session__date", flat=True).distinct())
    today = timezone.localdate()
    return next(day for day in calendar.offering_days(offering) if day >= today and day not in marked)


def _enroll_in_football(child: Student, football: Offering) -> None:
    """The `parent`'s fifth-grader plays football (the demo leaves the family to apply in person)."""
    if Enrollment.objects.filter(student=child, offering=football, left_on__isnull=True).exists():
        return
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    application = enrollment.application_submit(
        actor=users.get(username="parent"),
        student=child,
        term=football.term,
        wants_basic_care=False,
        course_ids=[football.pk],
    )
    enrollment.application_class_approve(actor=child.classroom.homeroom_teacher, application=application)
    enrollment.applications_approve(actor=users.get(username="principal"), applications=[application])
    Enrollment.objects.filter(student=child, offering=football).update(joined_on=football.term.starts_on)


def test_a_service_day_on_phones(demo, make_page, sign_in, screenshot, live_server):
    football = Offering.objects.get(name="足球", term__school__code="demo-1")
    basic_care = Offering.objects.get(
        kind=OfferingKind.BASIC_CARE, classroom__grade=3, classroom__number=1, term=football.term
    )
    fifth_grader = Student.objects.get(guardians__user__username="parent", classroom__grade=5)
    _enroll_in_football(fifth_grader, football)
    day = _next_unmarked_day(football)
    committee_child = Student.objects.filter(
        guardians__user__username="committee", classroom=basic_care.classroom
    ).get()

    with mock.patch("django.utils.timezone.localdate", return_value=day):
        # The committee chair (a parent of 3-1) asks for leave for the day.
        family = make_page(390, 844)
        sign_in(family, "committee")
        family.goto(f"{live_server.url}/attendance/family/children/{committee_child.pk}/leave/new/")
        family.locator("#leave-kind-absent").check()
        family.fill("input[name=starts_on]", day.isoformat())
        family.fill("input[name=reason]", "发烧在家休息")
        family.get_by_role("button", name="提交").click()
        expect(family.locator(".messages")).to_contain_text("已提交")

        # The teacher opens today and the 3-1 sheet: the leave is there, preselected.
        teacher = make_page(390, 844)
        sign_in(teacher, "teacher")
        teacher.goto(f"{live_server.url}/attendance/today/")
        session = Session.objects.get(offering=basic_care, date=day)
        children = list(
            Enrollment.objects.filter(offering=basic_care, left_on__isnull=True)
            .select_related("student")
            .order_by("student__student_number")
        )
        assert len(children) >= 40
        teacher.locator(f"a[href$='/attendance/sessions/{session.pk}/roll-call/']").first.click()
        expect(teacher.locator(f"#child-{committee_child.pk}")).to_contain_text("发烧在家休息")
        expect(teacher.get_by_label(f"{committee_child.name} 请假", exact=True)).to_be_checked()

        # All present, two exceptions, save: four taps.
        late, absent = [e.student for e in children if e.student_id != committee_child.pk][:2]
        taps = 0
        teacher.get_by_role("button", name="全部出勤").click()
        taps += 1
        teacher.get_by_label(f"{late.name} 迟到", exact=True).click()
        taps += 1
        teacher.get_by_label(f"{absent.name} 缺勤", exact=True).click()
        taps += 1
        teacher.get_by_role("button", name="保存点名").click()
        taps += 1
        expect(teacher.locator(".messages")).to_be_visible()
        screenshot(teacher, "teacher-roll-call-3-1")
        assert taps < 10
        marks = dict(ChildAttendance.objects.filter(session=session).values_list("student_id", "mark"))
        assert len(marks) == len(children)
        assert marks[late.pk] == Mark.LATE
        assert marks[absent.pk] == Mark.ABSENT
        assert marks[committee_child.pk] == Mark.LEAVE
        assert sum(1 for mark in marks.values() if mark == Mark.PRESENT) == len(children) - 3

        # Football: the parent's child is missing without leave.
        football_session = Session.objects.get(offering=football, date=day)
        teacher.goto(f"{live_server.url}/attendance/sessions/{football_session.pk}/roll-call/")
        teacher.get_by_label(f"{fifth_grader.name} 缺勤", exact=True).click()
        teacher.get_by_role("button", name="保存点名").click()
        expect(teacher.locator(".messages")).to_be_visible()
        case = AbsenceCase.objects.get(session=football_session, student=fifth_grader)
        assert case.status == CaseStatus.OPEN

        # The parent is told, in the app, and can read the case.
        parent = make_page(390, 844)
        sign_in(parent, "parent")
        parent.goto(f"{live_server.url}/notifications/")
        expect(parent.locator("main")).to_contain_text(fifth_grader.name)
        assert Notification.objects.filter(user__username="parent", body__contains=fifth_grader.name).exists()
        parent.goto(f"{live_server.url}/attendance/cases/{case.pk}/")
        expect(parent.locator("main")).to_contain_text("足球")
        screenshot(parent, "parent-absence-case")

        # The administrator's dashboard lists the open case.
        admin = make_page(390, 844)
        sign_in(admin, "schooladmin")
        admin.goto(f"{live_server.url}/attendance/cases/")
        expect(admin.locator("main")).to_contain_text(fifth_grader.name)

        # The inspector marks the teacher ten minutes late in 3-1's basic care.
        inspector = make_page(390, 844)
        sign_in(inspector, "inspector")
        inspector.goto(f"{live_server.url}/attendance/inspection/?date={day.isoformat()}")
        teacher_user = basic_care.teachers.get()
        form = inspector.locator(
            f"form[action$='/attendance/sessions/{session.pk}/teachers/{teacher_user.pk}/attendance/']"
        )
        form.get_by_label(f"{teacher_user.display_name}：迟到", exact=True).check()
        form.get_by_label(f"{teacher_user.display_name} 迟到分钟", exact=True).fill("10")
        form.get_by_role("button", name="保存").click()
        expect(inspector.locator(".messages")).to_be_visible()
        screenshot(inspector, "inspector-teacher-late")
        record = TeacherAttendance.objects.get(session=session, teacher=teacher_user)
        assert (record.presence, record.late_minutes) == (TeacherPresence.LATE, 10)
