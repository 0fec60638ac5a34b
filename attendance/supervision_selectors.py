"""Reads of the supervision pages: records by state, the day's teachers with their attendance, the
inspection rounds with their findings per teacher and per course, a teacher's own term. Each runs
a constant number of queries whatever the number of sessions."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Case, CharField, Count, Prefetch, Q, Value, When
from django.utils.translation import gettext_lazy as _

from aftercare.models import School, Term
from catalogue.models import Offering, ProviderStaffMember

from .models import (
    EthicsBreach,
    Finding,
    Inspection,
    RecordRating,
    Session,
    SessionStatus,
    TeacherAttendance,
)

RANGE_MAX_DAYS = 62


class RecordState:
    """Where a session's activity record stands (a session's state, not a stored field)."""

    MISSING = "missing"
    PENDING = "pending"  # today's session still running: not missing yet
    UNRATED = RecordRating.UNRATED.value
    COMPLETE = RecordRating.COMPLETE.value
    INCOMPLETE = RecordRating.INCOMPLETE.value

    LABELS = {
        MISSING: _("缺失"),
        PENDING: _("待填写"),
        UNRATED: _("未评定"),
        COMPLETE: _("完整"),
        INCOMPLETE: _("不完整"),
    }
    # The states one can filter the list by.
    FILTERABLE = (MISSING, UNRATED, COMPLETE, INCOMPLETE)

    @classmethod
    def label(cls, value: str) -> str:
        return str(cls.LABELS[value])


def this_week(today: date) -> tuple[date, date]:
    """The default range of the lists: Monday of this week to today."""
    return today - timedelta(days=today.weekday()), today


# Teachers of sessions, batched -------------------------------------------------------------------


def with_teachers(queryset):
    """Sessions with the offering's teachers and provider staff (with an account) prefetched: two
    queries for the whole list instead of ``session_teacher_ids`` per session."""
    user_model = get_user_model()
    return queryset.prefetch_related(
        Prefetch("offering__teachers", queryset=user_model.objects.order_by("full_name", "username")),
        Prefetch(
            "offering__provider_staff",
            queryset=ProviderStaffMember.objects.filter(user__isnull=False).select_related("user"),
        ),
    )


def teachers_of(session: Session) -> list:
    """The session's teachers from the prefetched offering (see ``with_teachers``), each once."""
    teachers = {user.pk: user for user in session.offering.teachers.all()}
    for member in session.offering.provider_staff.all():
        teachers.setdefault(member.user_id, member.user)
    return list(teachers.values())


def teacher_choices(school: School):
    """Everyone who teaches one of the school's offerings, for the lists' teacher filter."""
    return (
        get_user_model()
        .objects.filter(Q(taught_offerings__school=school) | Q(provider_seats__offerings__school=school))
        .distinct()
        .order_by("full_name", "username")
    )


def offering_choices(school: School, start: date, end: date):
    """The school's offerings of the terms that overlap the range."""
    return (
        Offering.objects.filter(school=school, term__starts_on__lte=end, term__ends_on__gte=start)
        .select_related("classroom")
        .order_by("kind", "name", "pk")
    )


def _taught_by(teacher) -> Q:
    return Q(offering__teachers=teacher) | Q(offering__provider_staff__user=teacher)


# Activity records ----------------------------------------------------------------------------


def _state_expression(now: datetime):
    today = now.date()
    over = Q(date__lt=today) | Q(date=today, ends_at__isnull=False, ends_at__lte=now.time())
    return Case(
        When(activity_record__isnull=False, then="activity_record__rating"),
        When(over, then=Value(RecordState.MISSING)),
        default=Value(RecordState.PENDING),
        output_field=CharField(),
    )


def record_sessions(
    school: School, *, start: date, end: date, now: datetime, state: str = "", offering=None, teacher=None
):
    """The held (not cancelled) sessions of the range with the state of their activity record,
    newest day first. ``now`` is the local time that decides whether today's sessions are over."""
    sessions = (
        Session.objects.filter(school=school, date__gte=start, date__lte=end)
        .exclude(status=SessionStatus.CANCELLED)
        .annotate(record_state=_state_expression(now))
    )
    if offering is not None:
        sessions = sessions.filter(offering=offering)
    if teacher is not None:
        sessions = sessions.filter(pk__in=Session.objects.filter(_taught_by(teacher)).values("pk"))
    counts = dict(sessions.order_by().values_list("record_state").annotate(n=Count("pk")))
    if state:
        sessions = sessions.filter(record_state=state)
    sessions = with_teachers(
        sessions.select_related("offering__classroom", "activity_record").order_by(
            "-date", "starts_at", "offering__kind", "offering__name", "pk"
        )
    )
    return sessions, counts


# Teachers' attendance on one day ---------------------------------------------------------------


@dataclass
class TeacherRow:
    teacher: object
    attendance: TeacherAttendance | None


@dataclass
class DaySession:
    session: Session
    record_state: str
    rows: list[TeacherRow] = field(default_factory=list)

    @property
    def record_state_label(self) -> str:
        return RecordState.label(self.record_state)


def inspection_day(school: School, day: date, *, now: datetime) -> list[DaySession]:
    """The day's sessions, each teacher with the attendance recorded so far: four queries."""
    sessions = with_teachers(
        Session.objects.filter(school=school, date=day)
        .annotate(record_state=_state_expression(now))
        .select_related("offering__classroom", "activity_record")
        .prefetch_related("teacher_attendance")
        .order_by("starts_at", "offering__kind", "offering__name", "pk")
    )
    result = []
    for session in sessions:
        recorded = {row.teacher_id: row for row in session.teacher_attendance.all()}
        result.append(
            DaySession(
                session=session,
                record_state=session.record_state,
                rows=[TeacherRow(teacher, recorded.get(teacher.pk)) for teacher in teachers_of(session)],
            )
        )
    return result


def sessions_matching(sessions: list[DaySession], query: str) -> list[DaySession]:
    """The day's sessions whose course, place, class or a teacher's name contains ``query``."""

    def matches(item: DaySession) -> bool:
        offering = item.session.offering
        names = [offering.name, offering.place, offering.classroom.name if offering.classroom else ""]
        names += [row.teacher.display_name for row in item.rows]
        return any(query in name for name in names if name)

    return [item for item in sessions if matches(item)]


# Inspections ----------------------------------------------------------------------------------


def inspections_in(
    school: School, *, start: date, end: date, offering=None, teacher=None, with_findings=False
):
    rounds = Inspection.objects.filter(school=school, session__date__gte=start, session__date__lte=end)
    if offering is not None:
        rounds = rounds.filter(session__offering=offering)
    if teacher is not None:
        rounds = rounds.filter(
            session__in=Session.objects.filter(school=school, date__gte=start, date__lte=end).filter(
                _taught_by(teacher)
            )
        )
    if with_findings:
        rounds = rounds.exclude(findings=[])
    return rounds.select_related("session__offering__classroom", "inspector").order_by("-inspected_at", "-pk")


def with_finding_labels(inspections) -> list[Inspection]:
    """The rounds, each with ``finding_labels`` for display (in the list's order)."""
    inspections = list(inspections)
    for inspection in inspections:
        inspection.finding_labels = [Finding(value).label for value in inspection.findings]
    return inspections


@dataclass
class FindingTally:
    """Counts of each finding kind for one teacher or one course."""

    pk: int
    name: str
    rounds: int = 0
    counts: Counter = field(default_factory=Counter)

    @property
    def cells(self) -> list[int]:
        return [self.counts[value] for value in Finding.values]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def finding_summary(
    school: School, *, start: date, end: date
) -> tuple[list[FindingTally], list[FindingTally]]:
    """The findings of the range grouped per teacher and per course, most findings first: three
    queries (the rounds with findings, the offerings' teachers, their provider staff)."""
    rounds = list(
        Inspection.objects.filter(school=school, session__date__gte=start, session__date__lte=end)
        .exclude(findings=[])
        .values_list("session__offering_id", "session__offering__name", "findings")
    )
    offering_ids = {offering_id for offering_id, _name, _findings in rounds}
    teachers_by_offering: dict[int, dict[int, str]] = defaultdict(dict)
    teacher_links = Offering.teachers.through.objects.filter(offering_id__in=offering_ids).values_list(
        "offering_id", "user_id", "user__full_name", "user__username"
    )
    for offering_id, user_id, full_name, username in teacher_links:
        teachers_by_offering[offering_id][user_id] = full_name or username
    staff_links = ProviderStaffMember.objects.filter(
        offerings__in=offering_ids, user__isnull=False
    ).values_list("offerings", "user_id", "user__full_name", "user__username")
    for offering_id, user_id, full_name, username in staff_links:
        teachers_by_offering[offering_id].setdefault(user_id, full_name or username)

    per_course: dict[int, FindingTally] = {}
    per_teacher: dict[int, FindingTally] = {}
    for offering_id, offering_name, findings in rounds:
        tallies = [per_course.setdefault(offering_id, FindingTally(offering_id, offering_name))]
        for user_id, name in teachers_by_offering[offering_id].items():
            tallies.append(per_teacher.setdefault(user_id, FindingTally(user_id, name)))
        for tally in tallies:
            tally.rounds += 1
            tally.counts.update(findings)

    def ordered(tallies):
        return sorted(tallies.values(), key=lambda t: (-t.total, t.name, t.pk))

    return ordered(per_teacher), ordered(per_course)


# Ethics breaches ------------------------------------------------------------------------------


def staff_teachers(school: School):
    """The school's active staff, for the teacher of an ethics breach."""
    return (
        get_user_model()
        .objects.filter(staff_records__school=school, staff_records__is_active=True)
        .distinct()
        .order_by("full_name", "username")
    )


def ethics_breaches(school: School) -> list[EthicsBreach]:
    """The school's breaches, newest first; a withdrawn one carries the reason from its history."""
    breaches = list(
        EthicsBreach.objects.filter(school=school)
        .select_related("teacher", "term", "recorded_by")
        .order_by("-date", "-pk")
    )
    withdrawn = [b.pk for b in breaches if b.is_withdrawn]
    reasons: dict[int, tuple] = {}
    if withdrawn:
        history = (
            EthicsBreach.history.filter(id__in=withdrawn, is_withdrawn=True)
            .select_related("history_user")
            .order_by("history_date")
        )
        for entry in history:
            reasons.setdefault(
                entry.id, (entry.history_change_reason, entry.history_user, entry.history_date)
            )
    for breach in breaches:
        breach.withdrawal = reasons.get(breach.pk)
    return breaches


# A teacher's own term ---------------------------------------------------------------------------


@dataclass
class MyRecord:
    term: Term | None
    sessions: list = field(default_factory=list)
    attendance: list = field(default_factory=list)
    inspections: list = field(default_factory=list)
    breaches: list = field(default_factory=list)
    state_counts: Counter = field(default_factory=Counter)

    @property
    def late_count(self) -> int:
        return sum(1 for row in self.attendance if row.presence == "late")

    @property
    def late_minutes(self) -> int:
        return sum(row.late_minutes for row in self.attendance)

    @property
    def state_rows(self) -> list[tuple[str, int]]:
        return [(RecordState.label(state), self.state_counts[state]) for state in RecordState.LABELS]


def my_record(teacher, term: Term | None, *, now: datetime) -> MyRecord:
    """The teacher's own sessions of the term up to today, with their records, attendance,
    inspections and ethics breaches: five queries. Nobody else's rows."""
    if term is None:
        return MyRecord(term=None)
    sessions = list(
        Session.objects.filter(term=term, date__lte=now.date())
        .filter(pk__in=Session.objects.filter(_taught_by(teacher)).values("pk"))
        .annotate(record_state=_state_expression(now))
        .select_related("offering", "activity_record")
        .order_by("-date", "starts_at", "pk")
    )
    for session in sessions:
        session.record_state_label = RecordState.label(session.record_state)
    held = [s for s in sessions if s.status != SessionStatus.CANCELLED]
    attendance = list(
        TeacherAttendance.objects.filter(teacher=teacher, session__term=term)
        .select_related("session__offering")
        .order_by("-session__date", "session__starts_at")
    )
    inspections = with_finding_labels(
        Inspection.objects.filter(session__in=[s.pk for s in sessions])
        .select_related("session__offering", "inspector")
        .order_by("-inspected_at")
    )
    breaches = list(
        EthicsBreach.objects.filter(teacher=teacher, term=term, is_withdrawn=False).order_by("-date")
    )
    return MyRecord(
        term=term,
        sessions=sessions,
        attendance=attendance,
        inspections=inspections,
        breaches=breaches,
        state_counts=Counter(s.record_state for s in held),
    )
