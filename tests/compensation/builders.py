"""Plain functions that build pay data on top of tests/attendance/setup.py; the URL table uses them
too (it runs without the frozen today, so nothing here depends on it)."""

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

from attendance.models import ActivityRecord, Session, SessionStatus, TeacherAttendance
from catalogue.models import Offering, OfferingKind, SlotKind
from compensation import services
from compensation.services import ScoreInput
from tests.attendance import setup

SHANGHAI = ZoneInfo("Asia/Shanghai")
SEP_7, SEP_8, SEP_14, SEP_21 = date(2026, 9, 7), date(2026, 9, 8), date(2026, 9, 14), date(2026, 9, 21)


@contextmanager
def on_today():
    """Today frozen at setup.TODAY, for builders called where the test has not frozen it."""
    with mock.patch("django.utils.timezone.localdate", return_value=setup.TODAY):
        yield


@dataclass
class PayTerm:
    term: object
    basic_care: object  # 3-1, homeroom
    other_basic_care: object  # 3-2, other_homeroom
    football: object  # service_teacher


def pay_term(world) -> PayTerm:
    term = setup.published_term(world)
    return PayTerm(
        term=term,
        basic_care=term.offerings.get(classroom=world.classroom),
        other_basic_care=term.offerings.get(classroom=world.other_classroom),
        football=setup.football(world, term),
    )


def noon_offering(world, term, teacher, name="午间阅读") -> Offering:
    offering = Offering.objects.create(
        school=term.school,
        term=term,
        kind=OfferingKind.COURSE,
        name=name,
        grades=[3],
        capacity=30,
        weekdays=[0, 1, 2, 3, 4],
        slot_kind=SlotKind.NOON,
    )
    offering.teachers.set([teacher])
    return offering


def moment(day: date, hour: int = 17) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=SHANGHAI)


def held(offering, day: date, *, rating: str | None = "complete", roll: bool = True, cancelled: bool = False):
    """A session of ``offering`` on ``day``; ``rating`` None means no activity record at all."""
    session = Session.objects.create(
        school=offering.school,
        term=offering.term,
        offering=offering,
        date=day,
        starts_at=time(16, 10),
        ends_at=time(17, 45),
        status=SessionStatus.CANCELLED if cancelled else SessionStatus.PLANNED,
        roll_taken_at=moment(day, 16) if roll else None,
    )
    if rating is not None:
        ActivityRecord.objects.create(
            session=session, content="作业辅导", written_at=moment(day), rating=rating
        )
    return session


def teacher_attendance(session, teacher, presence="late", *, late_minutes=None, incident="", by=None):
    return TeacherAttendance.objects.create(
        session=session,
        teacher=teacher,
        presence=presence,
        late_minutes=late_minutes if late_minutes is not None else (5 if presence == "late" else 0),
        incident=incident,
        incident_description="学生摔伤" if incident else "",
        recorded_by=by,
        recorded_at=moment(session.date),
    )


def fund(world, term, amount="100.00"):
    return services.term_fund_update(
        actor=world.users["admin"], term=term, source="entered", entered_amount=Decimal(amount)
    )


def scores(world, term, *entries):
    """``entries``: (persona, score, responses)."""
    return services.survey_scores_record(
        actor=world.users["admin"],
        term=term,
        scores=[
            ScoreInput(world.users[name], Decimal(score), responses) for name, score, responses in entries
        ],
    )


def basic_run(world, pay: PayTerm):
    """The example the tests compute by hand: fund 100.00 split 9 : 1.

    homeroom: 7 Sep complete (1) + 8 Sep incomplete (0.5) = 1.5 units, survey 90 from 30 parents;
    service_teacher: 7 Sep football complete = 1 unit, survey 60 from 10 parents.
    Process pool 90.00: 54.00 and 36.00. Terminal pool 10.00: 6.00 and 4.00. Totals 60.00 and 40.00.
    """
    held(pay.basic_care, SEP_7, rating="complete")
    held(pay.basic_care, SEP_8, rating="incomplete")
    held(pay.football, SEP_7, rating="complete")
    fund(world, pay.term)
    scores(world, pay.term, ("homeroom", "90", 30), ("service_teacher", "60", 10))
    return services.payout_run_draft(actor=world.users["admin"], term=pay.term)


def approved_run(world, pay: PayTerm):
    run = basic_run(world, pay)
    return services.payout_run_approve(actor=world.users["principal"], run=run)
