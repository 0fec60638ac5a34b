"""Sessions: prepared from the calendar, listed per teacher and day, cancelled by the school; and
each session's roster (who is expected, who is on leave, the marks and hand-overs so far).

Preparation is idempotent (one row per offering and day, by a constraint) so the nightly task, a
teacher opening "today" and an administrator's "prepare" button may all run it at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftercare.models import School, Student
from aftercare.notifications import notify
from catalogue.models import Offering
from catalogue.selectors import sessions_on
from enrollment.models import Enrollment

from .models import (
    ChildAttendance,
    HandOver,
    LeaveKind,
    LeaveRequest,
    LeaveStatus,
    Mark,
    Session,
    SessionStatus,
)
from .permissions import taught_by

ALREADY_CANCELLED = gettext_lazy("这一场次已经取消。")
CANCEL_REASON_REQUIRED = gettext_lazy("请填写取消原因，家长会收到这条说明。")
PREPARE_DAYS_AHEAD = 7


# Preparation ----------------------------------------------------------------------------------


def sessions_prepare(*, school: School, day: date) -> int:
    """Create the sessions of ``day`` that do not exist yet; returns how many were created.
    Creation is the system's, not a person's: no history rows for it."""
    planned = sessions_on(day, school=school)
    if not planned:
        return 0
    existing = set(Session.objects.filter(school=school, date=day).values_list("offering_id", flat=True))
    new = [
        Session(
            school=school,
            term=p.offering.term,
            offering=p.offering,
            date=day,
            starts_at=p.starts_at,
            ends_at=p.ends_at,
            place=p.place,
        )
        for p in planned
        if p.offering.pk not in existing
    ]
    Session.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def sessions_prepare_ahead(*, today: date | None = None, days: int = PREPARE_DAYS_AHEAD) -> int:
    """Every school's sessions for today and the next ``days`` days (the nightly beat task)."""
    today = today or timezone.localdate()
    created = 0
    for school in School.objects.all():
        for offset in range(days + 1):
            created += sessions_prepare(school=school, day=today + timedelta(days=offset))
    return created


def sessions_ensure_for_day(*, school: School, day: date) -> None:
    """On demand: when nothing has been prepared for the day yet (the nightly task did not run)."""
    if not Session.objects.filter(school=school, date=day).exists():
        sessions_prepare(school=school, day=day)


# Reads ----------------------------------------------------------------------------------------


def session_queryset():
    return Session.objects.select_related("offering__classroom", "offering__provider", "term", "school")


def teacher_sessions(user, *, school: School, day: date):
    """The sessions ``user`` teaches at ``school`` on ``day``, with the offering's teachers."""
    return (
        session_queryset()
        .filter(school=school, date=day)
        .filter(offering__in=Offering.objects.filter(taught_by(user)))
        .distinct()
        .order_by("starts_at", "offering__kind", "offering__name")
    )


def school_sessions(*, school: School, day: date):
    return (
        session_queryset()
        .filter(school=school, date=day)
        .order_by("starts_at", "offering__kind", "offering__name")
    )


def enrolled_on(offering_id_or_ref, day) -> Q:
    """Enrollments of an offering that are running on ``day`` (joined, not yet left)."""
    return Q(offering_id=offering_id_or_ref, joined_on__lte=day) & (
        Q(left_on__isnull=True) | Q(left_on__gt=day)
    )


def active_leaves_on(day: date):
    return LeaveRequest.objects.filter(status=LeaveStatus.ACTIVE, starts_on__lte=day, ends_on__gte=day)


@dataclass
class RosterRow:
    student: Student
    leave: LeaveRequest | None = None  # a day's leave (not expected)
    early_pickup: LeaveRequest | None = None  # expected, collected early at a time
    mark: ChildAttendance | None = None
    hand_over: HandOver | None = None

    @property
    def is_expected(self) -> bool:
        return self.leave is None

    @property
    def current_mark(self) -> str:
        """What the roll-call screen shows selected: the saved mark, else leave or present."""
        if self.mark is not None:
            return self.mark.mark
        return Mark.LEAVE if self.leave is not None else Mark.PRESENT

    @property
    def needs_hand_over(self) -> bool:
        """Present or late and not yet handed over."""
        return (
            self.mark is not None and self.mark.mark in (Mark.PRESENT, Mark.LATE) and self.hand_over is None
        )


def session_roster(session: Session) -> list[RosterRow]:
    """Every child enrolled in the session's offering on its day, in four queries whatever the size."""
    enrollments = (
        Enrollment.objects.filter(enrolled_on(session.offering_id, session.date))
        .select_related("student__classroom")
        .order_by(
            "student__classroom__grade",
            "student__classroom__number",
            "student__student_number",
            "student__pk",
        )
    )
    rows = {e.student_id: RosterRow(student=e.student) for e in enrollments}
    enrolled = Enrollment.objects.filter(enrolled_on(session.offering_id, session.date)).values("student_id")
    for leave in active_leaves_on(session.date).filter(student_id__in=enrolled).order_by("created_at"):
        row = rows.get(leave.student_id)
        if row is None:
            continue
        if leave.kind == LeaveKind.ABSENT:
            row.leave = leave
        else:
            row.early_pickup = leave
    for mark in ChildAttendance.objects.filter(session=session).select_related("marked_by"):
        if mark.student_id in rows:
            rows[mark.student_id].mark = mark
        else:
            # Marked before the child left the offering: the mark stays on the sheet.
            rows[mark.student_id] = RosterRow(student=mark.student, mark=mark)
    for hand_over in HandOver.objects.filter(session=session):
        if hand_over.student_id in rows:
            rows[hand_over.student_id].hand_over = hand_over
    return list(rows.values())


def guardian_users_of(student_ids) -> list:
    """Users who are guardians of these children (joined the portal), each once."""
    from django.contrib.auth import get_user_model

    return list(
        get_user_model()
        .objects.filter(guardianships__student_id__in=list(student_ids), is_active=True)
        .distinct()
        .order_by("pk")
    )


# Cancelling -----------------------------------------------------------------------------------


def session_cancel(*, actor, session: Session, reason: str) -> Session:
    """Cancel a session (weather, a school event) and tell the enrolled children's guardians and
    the session's teachers."""
    from django.core.exceptions import ValidationError

    from .permissions import session_teacher_ids

    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(str(CANCEL_REASON_REQUIRED))
    with transaction.atomic():
        session = (
            Session.objects.select_for_update(of=("self",)).select_related("offering").get(pk=session.pk)
        )
        if session.is_cancelled:
            raise ValidationError(str(ALREADY_CANCELLED))
        session.status = SessionStatus.CANCELLED
        session.cancel_reason = reason
        session.cancelled_by = actor
        session.cancelled_at = timezone.now()
        session._history_user = actor
        session.save(update_fields=["status", "cancel_reason", "cancelled_by", "cancelled_at"])
        from compensation.services import records_corrected

        records_corrected(session.term_id)  # a cancelled session no longer counts for pay
        student_ids = Enrollment.objects.filter(enrolled_on(session.offering_id, session.date)).values_list(
            "student_id", flat=True
        )
        from django.contrib.auth import get_user_model

        recipients = guardian_users_of(student_ids) + list(
            get_user_model().objects.filter(pk__in=session_teacher_ids(session)).order_by("pk")
        )
        title = _("%(date)s %(name)s 取消") % {
            "date": f"{session.date:%m月%d日}",
            "name": session.offering.name,
        }
        notify(
            users=list({u.pk: u for u in recipients}.values()),
            title=title,
            body=_("原因：%(reason)s。当天这项课后服务不开展，请按放学时间接孩子。") % {"reason": reason},
            school=session.school,
        )
    return session
