"""Sessions prepared from the calendar and enrollments; the roster of expected children; cancelling."""

from datetime import date, time

import pytest
from django.core.exceptions import ValidationError

from aftercare.models import Notification
from attendance.models import LeaveKind, LeaveRequest, Mark, Session, SessionStatus
from attendance.sessions import (
    session_cancel,
    session_roster,
    sessions_ensure_for_day,
    sessions_prepare,
    sessions_prepare_ahead,
)

from .conftest import TODAY

SATURDAY = date(2026, 10, 17)


def test_a_service_day_gets_one_session_per_running_offering(world, enrolled, basic_care, football):
    created = sessions_prepare(school=world.school, day=TODAY)

    sessions = Session.objects.filter(school=world.school, date=TODAY)
    # Basic care of 3-1 and 3-2, and football (Mondays).
    assert created == 3
    assert sorted(s.offering.name for s in sessions) == [
        "三年级（1）班 基础托管",
        "三年级（2）班 基础托管",
        "足球",
    ]
    session = sessions.get(offering=basic_care)
    assert (session.starts_at, session.ends_at) == (time(16, 10), time(17, 45))


def test_preparing_twice_creates_nothing_more(world, enrolled):
    sessions_prepare(school=world.school, day=TODAY)

    assert sessions_prepare(school=world.school, day=TODAY) == 0
    assert Session.objects.filter(school=world.school, date=TODAY).count() == 3


def test_no_sessions_on_a_day_without_service(world, enrolled):
    assert sessions_prepare(school=world.school, day=SATURDAY) == 0
    assert not Session.objects.filter(date=SATURDAY).exists()


def test_the_nightly_preparation_covers_the_coming_week(world, enrolled):
    sessions_prepare_ahead(today=TODAY, days=6)

    # Monday to Friday: two basic cares a day, football on Monday.
    assert Session.objects.filter(school=world.school).count() == 11


def test_opening_the_day_prepares_it_once(world, enrolled, django_assert_num_queries):
    sessions_ensure_for_day(school=world.school, day=TODAY)
    assert Session.objects.filter(date=TODAY).count() == 3
    with django_assert_num_queries(1):
        sessions_ensure_for_day(school=world.school, day=TODAY)


def test_the_roster_holds_the_enrolled_children_with_their_leave(world, session):
    LeaveRequest.objects.create(
        school=world.school,
        student=world.child,
        kind=LeaveKind.ABSENT,
        starts_on=TODAY,
        ends_on=TODAY,
        reason="看牙医",
        requested_by=world.users["parent"],
    )

    rows = {row.student.name: row for row in session_roster(session)}

    assert sorted(rows) == ["张小明", "陈小华"]
    assert rows["张小明"].is_expected is False
    assert rows["张小明"].current_mark == Mark.LEAVE
    assert rows["陈小华"].current_mark == Mark.PRESENT


def test_the_roster_takes_four_queries_whatever_its_size(world, session, django_assert_num_queries):
    with django_assert_num_queries(4):
        session_roster(session)


def test_cancelling_tells_the_families_and_the_teacher(world, session):
    Notification.objects.all().delete()  # the enrollment's own notices

    session_cancel(actor=world.users["admin"], session=session, reason="暴雨预警")

    session.refresh_from_db()
    assert session.status == SessionStatus.CANCELLED
    assert session.cancel_reason == "暴雨预警"
    told = set(Notification.objects.values_list("user__username", flat=True))
    assert told == {"parent", "committee", "homeroom"}
    assert "暴雨预警" in Notification.objects.filter(user=world.users["parent"]).get().body


def test_cancelling_needs_a_reason_and_happens_once(world, session):
    with pytest.raises(ValidationError):
        session_cancel(actor=world.users["admin"], session=session, reason="  ")
    session_cancel(actor=world.users["admin"], session=session, reason="运动会")
    with pytest.raises(ValidationError):
        session_cancel(actor=world.users["admin"], session=session, reason="再次取消")
    assert session.history.filter(status=SessionStatus.CANCELLED).count() == 1
    session.refresh_from_db()
    assert session.cancel_reason == "运动会"
