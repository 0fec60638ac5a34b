"""Reads of the school's side of the day: the day overview, the roll sheet, and the streams the
attendance exports are written from. Every list here runs a constant number of queries whatever the
number of sessions or children."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Value,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftercare.models import Classroom, School, Term
from catalogue.calendar_rules import WEEKDAY_NAMES
from catalogue.models import Offering, OfferingKind, ProviderStaffMember
from enrollment.models import Enrollment

from .models import (
    AbsenceCase,
    ActivityRecord,
    CaseStatus,
    ChildAttendance,
    HandOver,
    LeaveKind,
    LeaveRequest,
    LeaveStatus,
    Mark,
    RecordRating,
    Session,
    SessionStatus,
    TeacherAttendance,
)
from .sessions import RosterRow, enrolled_on, school_sessions, session_roster

RECORD_MISSING = _("缺失")
RECORD_STATES = {None: RECORD_MISSING, **{value: label for value, label in RecordRating.choices}}


# One character per mark, as on the school's paper sheets and in the exports.
MARK_LETTERS = {Mark.PRESENT: _("出"), Mark.LATE: _("迟"), Mark.LEAVE: _("假"), Mark.ABSENT: _("缺")}


def record_state_label(rating: str | None):
    """The activity record's state as the overview and exports show it: 缺失 when none was written."""
    return RECORD_STATES[rating]


def _count(queryset, group_by: str, counted: str = "pk"):
    """A correlated COUNT for annotating an outer row; 0 when nothing matches."""
    rows = queryset.order_by().values(group_by).annotate(n=Count(counted, distinct=True)).values("n")
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


def teacher_names(offering: Offering) -> list[str]:
    """The offering's teachers and its provider staff, from prefetched rows."""
    names = [teacher.display_name for teacher in offering.teachers.all()]
    names += [member.name for member in offering.provider_staff.all()]
    return names


def _with_teachers(queryset):
    return queryset.prefetch_related(
        "offering__teachers",
        Prefetch("offering__provider_staff", queryset=ProviderStaffMember.objects.order_by("name")),
    )


# The day overview ------------------------------------------------------------------------------


@dataclass
class DaySessionRow:
    session: Session
    teachers: list[str]
    has_ended: bool

    @property
    def expected(self) -> int:
        return self.session.enrolled_count - self.session.on_leave_count

    @property
    def roll_taken(self) -> bool:
        return self.session.roll_taken_at is not None

    @property
    def leave(self) -> int:
        # Before the roll the day's leave requests say who is away; after it, the marks do.
        return self.session.leave_count if self.roll_taken else self.session.on_leave_count

    @property
    def record_state(self):
        return record_state_label(self.session.record_rating)

    @property
    def record_is_missing(self) -> bool:
        return self.session.record_rating is None

    @property
    def shows_missing_hand_overs(self) -> bool:
        return self.has_ended and not self.session.is_cancelled and self.session.not_handed_over_count > 0

    @property
    def needs_attention(self) -> bool:
        """Roll not taken, a child absent, or children not handed over: what an administrator
        looks at first on a busy afternoon."""
        if self.session.is_cancelled:
            return False
        return not self.roll_taken or self.session.absent_count > 0 or self.shows_missing_hand_overs


@dataclass
class DayTotals:
    sessions: int = 0
    cancelled: int = 0
    roll_missing: int = 0
    expected: int = 0
    present: int = 0
    late: int = 0
    leave: int = 0
    absent: int = 0
    not_handed_over: int = 0


@dataclass
class DayOverview:
    day: date
    rows: list[DaySessionRow] = field(default_factory=list)
    totals: DayTotals = field(default_factory=DayTotals)
    open_cases: int = 0

    @property
    def rows_needing_attention(self) -> list[DaySessionRow]:
        return [row for row in self.rows if row.needs_attention]


def day_sessions(*, school: School, day: date):
    """The day's sessions annotated with their counts and the activity record's rating, with the
    teachers prefetched: three queries whatever the number of sessions or children."""
    enrolled = Enrollment.objects.filter(enrolled_on(OuterRef("offering_id"), OuterRef("date")))
    on_day_leave = LeaveRequest.objects.filter(
        student=OuterRef("student_id"),
        status=LeaveStatus.ACTIVE,
        kind=LeaveKind.ABSENT,
        starts_on__lte=OuterRef(OuterRef("date")),
        ends_on__gte=OuterRef(OuterRef("date")),
    )
    marks = ChildAttendance.objects.filter(session=OuterRef("pk"))
    handed_over = HandOver.objects.filter(session=OuterRef("session_id"), student=OuterRef("student_id"))
    not_handed_over = marks.filter(mark__in=[Mark.PRESENT, Mark.LATE]).exclude(Exists(handed_over))
    return _with_teachers(
        school_sessions(school=school, day=day).annotate(
            enrolled_count=_count(enrolled, "offering", "student"),
            on_leave_count=_count(enrolled.filter(Exists(on_day_leave)), "offering", "student"),
            present_count=_count(marks.filter(mark=Mark.PRESENT), "session"),
            late_count=_count(marks.filter(mark=Mark.LATE), "session"),
            leave_count=_count(marks.filter(mark=Mark.LEAVE), "session"),
            absent_count=_count(marks.filter(mark=Mark.ABSENT), "session"),
            not_handed_over_count=_count(not_handed_over, "session"),
            record_rating=Subquery(
                ActivityRecord.objects.filter(session=OuterRef("pk")).values("rating")[:1]
            ),
        )
    )


def _has_ended(session: Session, now: datetime) -> bool:
    local = timezone.localtime(now)
    if session.date != local.date():
        return session.date < local.date()
    return session.ends_at is not None and local.time() >= session.ends_at


def day_overview(*, school: School, day: date, now: datetime | None = None) -> DayOverview:
    """Every session of the school's day with its counts, the day's totals and the open follow-up
    cases. ``now`` decides which sessions have ended (children not yet handed over)."""
    now = now or timezone.now()
    overview = DayOverview(day=day)
    totals = overview.totals
    for session in day_sessions(school=school, day=day):
        row = DaySessionRow(
            session=session, teachers=teacher_names(session.offering), has_ended=_has_ended(session, now)
        )
        overview.rows.append(row)
        totals.sessions += 1
        if session.is_cancelled:
            totals.cancelled += 1
            continue
        totals.roll_missing += not row.roll_taken
        totals.expected += row.expected
        totals.present += session.present_count
        totals.late += session.late_count
        totals.leave += row.leave
        totals.absent += session.absent_count
        if row.shows_missing_hand_overs:
            totals.not_handed_over += session.not_handed_over_count
    overview.open_cases = AbsenceCase.objects.filter(school=school, status=CaseStatus.OPEN).count()
    return overview


# The roll sheet (考勤表) ---------------------------------------------------------------------------


@dataclass
class RollSheet:
    session: Session
    teachers: list[str]
    rows: list[RosterRow]
    weekday: str

    @property
    def roll_taken(self) -> bool:
        return self.session.roll_taken_at is not None

    @property
    def is_course(self) -> bool:
        return self.session.offering.kind == OfferingKind.COURSE

    @property
    def boxes(self) -> list[str]:
        """The marks to tick by hand on a sheet printed before the roll."""
        return [str(letter) for letter in MARK_LETTERS.values()]


def roll_sheet(session: Session) -> RollSheet:
    """What the paper roll sheet holds: the session's facts, its teachers and every child on its
    roster with mark, leave, hand-over and note. Six queries whatever the class size."""
    prefetch_related_objects(
        [session.offering],
        "teachers",
        Prefetch("provider_staff", queryset=ProviderStaffMember.objects.order_by("name")),
    )
    return RollSheet(
        session=session,
        teachers=teacher_names(session.offering),
        rows=session_roster(session),
        weekday=str(WEEKDAY_NAMES[session.date.weekday()]),
    )


# Streams for the children's attendance export ----------------------------------------------------


def export_offerings(
    term: Term,
    *,
    classroom: Classroom | None = None,
    offering: Offering | None = None,
    date_from: date,
    date_to: date,
) -> list[Offering]:
    """The offerings an export covers, in sheet order (basic care by class, then courses by name).

    A class covers its basic care and every course one of its children attended in the range; an
    offering covers itself; neither covers the whole term."""
    offerings = Offering.objects.filter(term=term).select_related("classroom")
    if offering is not None:
        offerings = offerings.filter(pk=offering.pk)
    elif classroom is not None:
        attended = Enrollment.objects.filter(
            offering=OuterRef("pk"), student__classroom=classroom, joined_on__lte=date_to
        ).filter(Q(left_on__isnull=True) | Q(left_on__gt=date_from))
        offerings = offerings.filter(Q(kind=OfferingKind.BASIC_CARE, classroom=classroom) | Exists(attended))
    return list(offerings.order_by("kind", "classroom__grade", "classroom__number", "name", "pk"))


def export_session_dates(offering_ids, *, date_from: date, date_to: date):
    """(offering id, date) of the sessions held in the range, by offering and date: the columns."""
    return (
        Session.objects.filter(offering_id__in=offering_ids, date__gte=date_from, date__lte=date_to)
        .exclude(status=SessionStatus.CANCELLED)
        .order_by("offering_id", "date")
        .values_list("offering_id", "date")
    )


STUDENT_ORDER = (
    "student__classroom__grade",
    "student__classroom__number",
    "student__student_number",
    "student_id",
)
STUDENT_FIELDS = (
    "student_id",
    "student__name",
    "student__student_number",
    "student__classroom__grade",
    "student__classroom__number",
)


def export_enrollments(offering_ids, *, date_from: date, date_to: date, classroom: Classroom | None = None):
    """The children enrolled at some point of the range, by offering id then class and number: the rows.
    A child who left and joined again appears twice; the workbook keeps the first."""
    enrollments = Enrollment.objects.filter(offering_id__in=offering_ids, joined_on__lte=date_to).filter(
        Q(left_on__isnull=True) | Q(left_on__gt=date_from)
    )
    if classroom is not None:
        enrollments = enrollments.filter(student__classroom=classroom)
    return enrollments.order_by("offering_id", *STUDENT_ORDER).values_list("offering_id", *STUDENT_FIELDS)


def export_marks(offering_ids, *, date_from: date, date_to: date, classroom: Classroom | None = None):
    """The marks of the range by offering id, with the child's facts (a child marked and no longer
    enrolled keeps a row)."""
    marks = ChildAttendance.objects.filter(
        session__offering_id__in=offering_ids, session__date__gte=date_from, session__date__lte=date_to
    ).exclude(session__status=SessionStatus.CANCELLED)
    if classroom is not None:
        marks = marks.filter(student__classroom=classroom)
    return marks.order_by("session__offering_id", *STUDENT_ORDER, "session__date").values_list(
        "session__offering_id", *STUDENT_FIELDS, "session__date", "mark"
    )


# Streams for the teachers' attendance export ----------------------------------------------------


def export_teacher_sessions(term: Term, *, date_to: date):
    """The term's sessions held up to ``date_to``, with their teachers, provider staff, recorded
    teachers' attendance and activity record, ready for ``iterator(chunk_size=...)`` (prefetches run
    per chunk)."""
    return (
        Session.objects.filter(term=term, date__lte=date_to)
        .exclude(status=SessionStatus.CANCELLED)
        .select_related("offering")
        .annotate(
            record_rating=Subquery(ActivityRecord.objects.filter(session=OuterRef("pk")).values("rating")[:1])
        )
        .prefetch_related(
            "offering__teachers",
            Prefetch("offering__provider_staff", queryset=ProviderStaffMember.objects.select_related("user")),
            Prefetch("teacher_attendance", queryset=TeacherAttendance.objects.select_related("teacher")),
        )
        .order_by("date", "starts_at", "offering__kind", "offering__name", "pk")
    )


# The home page's day card -----------------------------------------------------------------------


def home_day(user, *, school, roles, day=None) -> dict:
    """What the home page says about today: a teacher's sessions with their roll state; for those
    who supervise, the open follow-up cases. Three queries at most."""
    from aftercare.roles import SCHOOL_LEADERS, TEACHING_ROLES, Role

    from .models import AbsenceCase, CaseStatus
    from .sessions import sessions_ensure_for_day, teacher_sessions

    day = day or timezone.localdate()
    summary: dict = {}
    if roles & TEACHING_ROLES:
        sessions_ensure_for_day(school=school, day=day)
        summary["sessions"] = list(teacher_sessions(user, school=school, day=day))
    if roles & (SCHOOL_LEADERS | {Role.INSPECTOR}):
        summary["open_cases"] = AbsenceCase.objects.filter(school=school, status=CaseStatus.OPEN).count()
    return summary
