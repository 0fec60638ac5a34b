import io
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Count

from aftercare.demo.attendance import CANCEL_REASON, history_dates
from aftercare.models import Classroom, School, Staff, Student
from aftercare.permissions import load_access
from aftercare.roles import Role
from attendance.models import (
    AbsenceCase,
    ActivityRecord,
    CaseStatus,
    ChildAttendance,
    EthicsBreach,
    HandOver,
    IncidentKind,
    Inspection,
    LeaveKind,
    LeaveRequest,
    Mark,
    RecordRating,
    Session,
    SessionStatus,
    TeacherAttendance,
    TeacherPresence,
)
from attendance.sessions import enrolled_on
from catalogue.models import OfferingKind
from catalogue.selectors import sessions_on, term_calendar
from enrollment.models import Application, ApplicationStatus, Enrollment

SHANGHAI = ZoneInfo("Asia/Shanghai")

DEMO_LOGINS = {
    "district": {Role.DISTRICT_OFFICER},
    "principal": {Role.PRINCIPAL},
    "schooladmin": {Role.ADMINISTRATOR},
    "finance": {Role.FINANCE},
    "inspector": {Role.INSPECTOR},
    "teacher": {Role.HOMEROOM_TEACHER, Role.SERVICE_TEACHER},
    "provider": {Role.PROVIDER_STAFF},
    "parent": {Role.PARENT},
    "committee": {Role.PARENT, Role.PARENT_COMMITTEE},
    "otherparent": {Role.PARENT},
}


def test_seed_demo_refuses_with_debug_off(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        call_command("seed_demo")
    assert not School.objects.exists()


def test_seed_demo_builds_the_demo_district_once(db):
    call_command("seed_demo", force=True)
    call_command("seed_demo", force=True)  # idempotent
    school = School.objects.get(code="demo-1")
    assert School.objects.count() == 2
    assert Classroom.objects.filter(school=school).count() == 24
    per_class = [c.students.count() for c in Classroom.objects.filter(school=school)]
    # 40–50 children a class; the `teacher` login's 3-1 has 51 (45 of them in basic care).
    assert min(per_class) >= 40 and sorted(per_class)[-2] <= 50 and max(per_class) == 51
    assert Staff.objects.filter(school=school).count() == 60
    assert school.terms.count() == 1

    users = get_user_model().objects.in_bulk(DEMO_LOGINS, field_name="username")
    for username, roles in DEMO_LOGINS.items():
        user = users[username]
        assert user.check_password("demo12345"), username
        assert load_access(user).all_roles == roles, username
    teacher_class = Classroom.objects.get(homeroom_teacher=users["teacher"])
    assert teacher_class.short_name == "3-1"
    grades = sorted(
        Student.objects.filter(guardians__user=users["parent"]).values_list("classroom__grade", flat=True)
    )
    assert grades == [2, 5]
    other = Student.objects.get(guardians__user=users["otherparent"])
    assert other.school.code == "demo-2"


def test_seed_demo_if_empty_leaves_a_used_database_alone(db):
    School.objects.create(district_id=None or _district(), name="已有学校", code="existing")
    call_command("seed_demo", force=True, if_empty=True)
    assert not School.objects.filter(code="demo-1").exists()


def _district():
    from aftercare.models import District

    return District.objects.create(name="某区", code="some").pk


# The daily operations' history ----------------------------------------------------------------

MONDAY = date(2026, 11, 16)  # a service day of the demo's autumn term
EARLY_MONDAY = date(2026, 9, 14)  # the third week of term: nine service days so far


@pytest.fixture
def on_monday():
    with mock.patch("django.utils.timezone.localdate", return_value=MONDAY):
        yield MONDAY


def _service_days():
    term = School.objects.get(code="demo-1").terms.get()
    return term_calendar(term).service_days


def _enrolled_on(session) -> set[int]:
    return set(
        Enrollment.objects.filter(enrolled_on(session.offering_id, session.date)).values_list(
            "student_id", flat=True
        )
    )


def test_history_dates_cover_the_days_before_today_and_go_on_past_it_only_when_asked():
    days = [date(2026, 9, 1) + timedelta(days=n) for n in range(200)]
    today = days[120]
    assert history_dates(days, today) == days[30:120]  # the latest 90 before today
    assert history_dates(days, today, 5) == days[115:120]
    assert history_dates(days, today, 0) == []
    assert history_dates(days, today, 125) == days[:120] + days[121:126]  # today is skipped
    assert history_dates(days, days[3]) == days[:3]


def test_seed_demo_runs_every_service_day_before_today_and_leaves_today_unmarked(db, on_monday):
    call_command("seed_demo", force=True, stdout=io.StringIO())
    school = School.objects.get(code="demo-1")
    users = get_user_model().objects.in_bulk(["teacher", "inspector"], field_name="username")
    days_so_far = [d for d in _service_days() if d < MONDAY]
    assert len(days_so_far) == 50
    past = Session.objects.filter(school=school, date__lt=MONDAY)
    assert sorted(set(past.values_list("date", flat=True))) == days_so_far
    assert not Session.objects.filter(date__gt=MONDAY).exists()

    # Today is prepared for roll-call, and nothing of it is recorded yet.
    today = Session.objects.filter(school=school, date=MONDAY)
    assert today.count() == len(sessions_on(MONDAY, school=school)) == 26
    assert not today.exclude(roll_taken_at=None).exists()
    for model in (ChildAttendance, HandOver, ActivityRecord, TeacherAttendance, Inspection, AbsenceCase):
        assert not model.objects.filter(session__date=MONDAY).exists(), model
    # ... but a leave and an early pick-up wait on class 3-1's sheet.
    waiting = LeaveRequest.objects.filter(
        starts_on=MONDAY, student__classroom__grade=3, student__classroom__number=1
    )
    assert sorted(waiting.values_list("kind", flat=True)) == [LeaveKind.ABSENT, LeaveKind.EARLY_PICKUP]

    # One outdoor course day was cancelled for the weather; every other session's roll was taken,
    # one mark for each child enrolled that day.
    cancelled = past.filter(status=SessionStatus.CANCELLED)
    assert [(s.offering.place, s.cancel_reason) for s in cancelled] == [("操场", CANCEL_REASON)]
    assert not ChildAttendance.objects.filter(session__in=cancelled).exists()
    held = list(past.filter(status=SessionStatus.PLANNED).select_related("offering"))
    assert all(s.roll_taken_at and s.roll_version == 1 for s in held)
    marked = defaultdict(set)
    for session_id, student_id in ChildAttendance.objects.values_list("session_id", "student_id"):
        marked[session_id].add(student_id)
    for session in held[:: max(1, len(held) // 60)]:  # a sample of sixty sessions across the term
        assert marked[session.pk] == _enrolled_on(session), session

    # Mostly present; a few late, on leave (with the family's request), absent (with a closed case).
    marks = dict(ChildAttendance.objects.values_list("mark").annotate(n=Count("pk")).order_by())
    total = sum(marks.values())
    assert marks[Mark.PRESENT] / total > 0.93
    assert 0 < marks[Mark.ABSENT] < marks[Mark.LEAVE]
    assert marks[Mark.LATE] > 0
    asked = defaultdict(dict)  # (child, day) -> kind of leave, and the pick-up time
    for student_id, kind, starts_on, ends_on, pickup_at in LeaveRequest.objects.values_list(
        "student_id", "kind", "starts_on", "ends_on", "pickup_at"
    ):
        for day in days_so_far:
            if starts_on <= day <= ends_on:
                asked[student_id, day] = {"kind": kind, "pickup_at": pickup_at}
    on_leave = ChildAttendance.objects.filter(mark=Mark.LEAVE).values_list("student_id", "session__date")
    assert {asked[key]["kind"] for key in on_leave} == {LeaveKind.ABSENT}
    absent = set(ChildAttendance.objects.filter(mark=Mark.ABSENT).values_list("session_id", "student_id"))
    cases = AbsenceCase.objects.all()
    assert set(cases.values_list("session_id", "student_id")) == absent
    assert set(cases.values_list("status", flat=True)) == {CaseStatus.CLOSED}
    assert not cases.filter(outcome="").exists()

    # Every child present or late in basic care was handed over, near the end or at the early pick-up.
    in_basic_care = ChildAttendance.objects.filter(
        session__offering__kind=OfferingKind.BASIC_CARE, mark__in=[Mark.PRESENT, Mark.LATE]
    )
    handed = HandOver.objects.filter(session__offering__kind=OfferingKind.BASIC_CARE)
    assert set(handed.values_list("session_id", "student_id")) == set(
        in_basic_care.values_list("session_id", "student_id")
    )
    for hand_over in handed.select_related("session"):
        day = hand_over.session.date
        leave = asked.get((hand_over.student_id, day), {})
        if leave.get("kind") == LeaveKind.EARLY_PICKUP:
            expected = datetime.combine(day, leave["pickup_at"], tzinfo=SHANGHAI)
            assert (
                expected - timedelta(minutes=3) <= hand_over.handed_over_at <= expected + timedelta(minutes=6)
            )
        else:
            end = datetime.combine(day, hand_over.session.ends_at, tzinfo=SHANGHAI)
            assert end - timedelta(minutes=15) <= hand_over.handed_over_at <= end + timedelta(minutes=8)
        assert hand_over.went_home_alone or hand_over.collected_by_name

    # Activity records: most rated complete, some incomplete, a few unrated, a few never written.
    ratings = dict(ActivityRecord.objects.values_list("rating").annotate(n=Count("pk")).order_by())
    assert ratings[RecordRating.COMPLETE] > 5 * ratings[RecordRating.INCOMPLETE] > 0
    assert ratings[RecordRating.UNRATED] > 0
    missing = len(held) - sum(ratings.values())
    assert 0 < missing < len(held) / 10

    # Teachers: mostly on time, a few late; one unexcused absence, one safety incident and one
    # ethics breach, each a different teacher; the demo teacher was late at least once.
    presence = TeacherAttendance.objects.all()
    assert presence.filter(presence=TeacherPresence.ON_TIME).count() / presence.count() > 0.95
    assert not presence.filter(presence=TeacherPresence.LATE, late_minutes=0).exists()
    unexcused = presence.get(presence=TeacherPresence.ABSENT_UNEXCUSED)
    incident = presence.get(incident=IncidentKind.SAFETY)
    breach = EthicsBreach.objects.get()
    assert len({unexcused.teacher_id, incident.teacher_id, breach.teacher_id, users["teacher"].pk}) == 4
    assert presence.filter(teacher=users["teacher"], presence=TeacherPresence.LATE).exists()
    assert not ActivityRecord.objects.filter(session=unexcused.session).exists()

    # Inspections: two rounds a day, some with findings.
    inspections = Inspection.objects.all()
    assert inspections.count() == 2 * len(days_so_far)
    assert set(inspections.values_list("inspector", flat=True)) == {users["inspector"].pk}
    assert 0 < inspections.exclude(findings=[]).count() < inspections.count() / 2

    # The teacher's class 3-1: 51 children; 6 have applications still waiting for the class review or
    # the principal; everyone else is in basic care: 45 to take roll for (43 since the first day, 2
    # approved today by the enrollment demo).
    classroom = Classroom.objects.get(school=school, grade=3, number=1)
    basic_care = classroom.offerings.get(kind=OfferingKind.BASIC_CARE)
    waiting = Application.objects.filter(student__classroom=classroom).exclude(
        status=ApplicationStatus.APPROVED
    )
    assert classroom.students.count() == 51 and waiting.count() == 6
    assert basic_care.enrollments.filter(left_on=None).count() == 45
    first_day = Session.objects.get(offering=basic_care, date=days_so_far[0])
    assert first_day.marks.count() == 43


def test_seed_demo_history_is_deterministic_and_may_run_past_today(db):
    def fingerprint():
        return (
            sorted(
                ChildAttendance.objects.values_list(
                    "student__student_number", "session__offering__name", "session__date", "mark"
                )
            ),
            sorted(
                HandOver.objects.values_list("student__student_number", "session__date", "handed_over_at")
            ),
            sorted(
                TeacherAttendance.objects.values_list(
                    "teacher__username", "session__date", "presence", "late_minutes", "incident"
                )
            ),
            sorted(ActivityRecord.objects.values_list("session__offering__name", "session__date", "rating")),
            sorted(
                LeaveRequest.objects.values_list("student__student_number", "starts_on", "ends_on", "kind")
            ),
        )

    class Rollback(Exception):
        pass

    with mock.patch("django.utils.timezone.localdate", return_value=EARLY_MONDAY):
        with pytest.raises(Rollback), transaction.atomic():
            call_command("seed_demo", force=True, history_days=12, stdout=io.StringIO())
            first = fingerprint()
            raise Rollback
        assert not School.objects.exists()
        call_command("seed_demo", force=True, history_days=12, stdout=io.StringIO())
    assert fingerprint() == first
    assert len(first[0]) > 5000

    # The nine days before today and the next three after it; today stays unmarked.
    days = _service_days()
    wanted = [d for d in days if d < EARLY_MONDAY] + [d for d in days if d > EARLY_MONDAY][:3]
    marked_days = sorted(set(Session.objects.exclude(roll_taken_at=None).values_list("date", flat=True)))
    assert marked_days == wanted and len(wanted) == 12
    assert Session.objects.filter(date=EARLY_MONDAY, roll_taken_at=None).count() == 26


def test_seed_demo_without_history_only_prepares_today(db, on_monday):
    call_command("seed_demo", force=True, history_days=0, stdout=io.StringIO())
    assert Enrollment.objects.count() == 4  # the enrollment demo's own: two children approved, each in two
    assert not ChildAttendance.objects.exists()
    assert not Session.objects.exclude(date=MONDAY).exists()
    assert Session.objects.filter(date=MONDAY).count() == 26


def test_seed_demo_refuses_a_negative_history(db):
    with pytest.raises(CommandError) as refused:
        call_command("seed_demo", force=True, history_days=-1)
    assert str(refused.value) == "--history-days must be 0 or more."
    assert not School.objects.exists()


def test_seed_demo_enters_the_fund_and_a_survey_score_for_each_teacher(db):
    from compensation.models import FundSource, SurveyScoreEntry, TermFund

    call_command("seed_demo", force=True, history_days=0, stdout=io.StringIO())

    term = School.objects.get(code="demo-1").terms.get()
    fund = TermFund.objects.get(term=term)
    assert (fund.source, fund.entered_amount) == (FundSource.ENTERED, Decimal("420000.00"))
    teachers = set(term.offerings.exclude(teachers=None).values_list("teachers", flat=True))
    scores = SurveyScoreEntry.objects.filter(term=term)
    assert set(scores.values_list("teacher", flat=True)) == teachers
    assert all(Decimal("78.0") <= s.score <= Decimal("99.0") and 18 <= s.responses <= 45 for s in scores)
