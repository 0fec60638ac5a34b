"""Hand-over (交接) at the end of a session: who collected each child present, and when, or that the
child went home alone with the guardians' permission (篇三: 进出登记). A child present and not handed
over after the session's end is flagged on the page and, once, to the teachers and administrators.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftercare.models import Guardian, Notification, StaffRole, Student
from aftercare.notifications import notify_each
from aftercare.permissions import shown_phone
from aftercare.roles import Role
from catalogue.models import Offering

from .models import (
    ChildAttendance,
    HandOver,
    Mark,
    PickupArrangement,
    PickupPerson,
    Session,
    SessionStatus,
)
from .sessions import RosterRow, session_roster

PRESENT_MARKS = (Mark.PRESENT, Mark.LATE)
ALONE = "alone"

ONE_COLLECTOR = gettext_lazy("请选择一位接走人。")
HAND_OVER_SESSION_CANCELLED = gettext_lazy("这一场次已经取消，不能记录交接。")
HAND_OVER_NOT_PRESENT = gettext_lazy("%(name)s 在本场次没有点名为出勤或迟到，不能交接。")
HAND_OVER_WRONG_PERSON = gettext_lazy("所选接走人不是 %(name)s 的监护人或授权接送人。")
HAND_OVER_ALONE_NOT_ALLOWED = gettext_lazy("%(name)s 的家长没有允许孩子自行回家。")
ALREADY_HANDED_OVER = gettext_lazy("已交接给 %(collector)s（%(time)s）。")
ALREADY_WENT_HOME_ALONE = gettext_lazy("已登记自行回家（%(time)s）。")
HAND_OVER_UNDO_TOO_LATE = gettext_lazy("只能在场次当天撤销交接记录。")
HAND_OVER_ALREADY_UNDONE = gettext_lazy("这条交接记录已经撤销。")


def _hh_mm(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%H:%M}"


def already_handed_over_message(hand_over: HandOver) -> str:
    if hand_over.went_home_alone:
        return str(ALREADY_WENT_HOME_ALONE % {"time": _hh_mm(hand_over.handed_over_at)})
    return str(
        ALREADY_HANDED_OVER
        % {"collector": hand_over.collected_by_name, "time": _hh_mm(hand_over.handed_over_at)}
    )


# Writes ----------------------------------------------------------------------------------------


def hand_over_record(
    *,
    actor,
    session: Session,
    student: Student,
    guardian: Guardian | None = None,
    pickup_person: PickupPerson | None = None,
    went_home_alone: bool = False,
    at: datetime | None = None,
) -> HandOver:
    """Record that ``student`` left ``session`` with a guardian, an authorised person, or alone."""
    if [guardian is not None, pickup_person is not None, bool(went_home_alone)].count(True) != 1:
        raise ValidationError(str(ONE_COLLECTOR))
    name = student.name
    if guardian is not None and guardian.student_id != student.pk:
        raise ValidationError(str(HAND_OVER_WRONG_PERSON % {"name": name}))
    if pickup_person is not None and (pickup_person.student_id != student.pk or not pickup_person.is_active):
        raise ValidationError(str(HAND_OVER_WRONG_PERSON % {"name": name}))
    with transaction.atomic():
        # One hand-over per child: two teachers tapping at once wait here and the second is refused.
        session = Session.objects.select_for_update().get(pk=session.pk)
        if session.status == SessionStatus.CANCELLED:
            raise ValidationError(str(HAND_OVER_SESSION_CANCELLED))
        existing = HandOver.objects.filter(session=session, student=student).first()
        if existing is not None:
            raise ValidationError(already_handed_over_message(existing))
        is_present = ChildAttendance.objects.filter(
            session=session, student=student, mark__in=PRESENT_MARKS
        ).exists()
        if not is_present:
            raise ValidationError(str(HAND_OVER_NOT_PRESENT % {"name": name}))
        if (
            went_home_alone
            and not PickupArrangement.objects.filter(student=student, may_go_home_alone=True).exists()
        ):
            raise ValidationError(str(HAND_OVER_ALONE_NOT_ALLOWED % {"name": name}))
        collector = guardian or pickup_person
        hand_over = HandOver(
            session=session,
            student=student,
            guardian=guardian,
            pickup_person=pickup_person,
            went_home_alone=bool(went_home_alone),
            collected_by_name=str(collector) if collector is not None else "",
            handed_over_at=at or timezone.now(),
            recorded_by=actor,
        )
        hand_over._history_user = actor
        hand_over.save()
    return hand_over


def hand_over_undo(*, actor, hand_over: HandOver) -> None:
    """Take back a hand-over recorded by mistake, on the session's day only. The history keeps the
    row and who removed it."""
    with transaction.atomic():
        hand_over = (
            HandOver.objects.select_for_update().select_related("session").filter(pk=hand_over.pk).first()
        )
        if hand_over is None:
            raise ValidationError(str(HAND_OVER_ALREADY_UNDONE))
        if hand_over.session.date != timezone.localdate():
            raise ValidationError(str(HAND_OVER_UNDO_TOO_LATE))
        hand_over._history_user = actor
        hand_over.delete()


# The page --------------------------------------------------------------------------------------


@dataclass
class Collector:
    """One button: a guardian, an authorised person, or going home alone."""

    value: str  # "g-<pk>", "p-<pk>" or "alone"
    label: str
    phone: str = ""  # as the viewer may see it


@dataclass
class HandOverRow:
    roster: RosterRow
    collectors: list[Collector] = field(default_factory=list)

    @property
    def student(self) -> Student:
        return self.roster.student


@dataclass
class HandOverSheet:
    session: Session
    pending: list[HandOverRow]  # present or late, not handed over: early pick-ups first
    done: list[HandOverRow]
    on_leave: list[RosterRow]
    absent: list[RosterRow]
    unmarked: list[RosterRow]
    is_over: bool

    @property
    def missing(self) -> list[HandOverRow]:
        """Children flagged 未交接: the session has ended and they are still here."""
        return self.pending if self.is_over else []


def session_has_ended(session: Session, now: datetime | None = None) -> bool:
    """Local time is past the session's end on its day (a session without a time band never ends)."""
    if session.ends_at is None:
        return False
    local = timezone.localtime(now or timezone.now())
    return local.replace(tzinfo=None) > datetime.combine(session.date, session.ends_at)


def _early_pickups_first(row: HandOverRow) -> tuple[bool, time]:
    """Early pick-ups by their time, then everyone else (a stable sort keeps the roster's order)."""
    early = row.roster.early_pickup
    if early is None:
        return (True, time.max)
    return (False, early.pickup_at or time.max)


def hand_over_sheet(session: Session, *, viewer, now: datetime | None = None) -> HandOverSheet:
    """The hand-over page's rows in seven queries whatever the class size: the roster (four), the
    guardians, the authorised people and the go-home-alone permissions of the children present."""
    roster = session_roster(session)
    present = [row for row in roster if row.mark is not None and row.mark.mark in PRESENT_MARKS]
    student_ids = [row.student.pk for row in present]
    guardians: dict[int, list[Guardian]] = {}
    people: dict[int, list[PickupPerson]] = {}
    alone: set[int] = set()
    if student_ids:
        for guardian in Guardian.objects.filter(student_id__in=student_ids).order_by("pk"):
            guardians.setdefault(guardian.student_id, []).append(guardian)
        for person in PickupPerson.objects.filter(student_id__in=student_ids, is_active=True).order_by("pk"):
            people.setdefault(person.student_id, []).append(person)
        alone = set(
            PickupArrangement.objects.filter(student_id__in=student_ids, may_go_home_alone=True).values_list(
                "student_id", flat=True
            )
        )

    def collectors(student: Student) -> list[Collector]:
        choices = [
            Collector(value=f"g-{g.pk}", label=str(g), phone=shown_phone(viewer, student, g.phone))
            for g in guardians.get(student.pk, [])
        ]
        choices += [
            Collector(value=f"p-{p.pk}", label=str(p), phone=shown_phone(viewer, student, p.phone))
            for p in people.get(student.pk, [])
        ]
        if student.pk in alone:
            choices.append(Collector(value=ALONE, label=_("自行回家")))
        return choices

    pending, done = [], []
    for row in present:
        sheet_row = HandOverRow(roster=row, collectors=collectors(row.student))
        (done if row.hand_over is not None else pending).append(sheet_row)
    # Early pick-ups first, by their time; the rest keep the roster's order (class, number).
    pending.sort(key=_early_pickups_first)
    done.sort(key=lambda r: r.roster.hand_over.handed_over_at)
    return HandOverSheet(
        session=session,
        pending=pending,
        done=done,
        on_leave=[row for row in roster if row.leave is not None and row.mark is None],
        absent=[row for row in roster if row.mark is not None and row.mark.mark not in PRESENT_MARKS],
        unmarked=[row for row in roster if row.mark is None and row.leave is None],
        is_over=session_has_ended(session, now),
    )


# The alert -------------------------------------------------------------------------------------


def _not_handed_over():
    """Marks of children present or late in a session and not handed over."""
    handed_over = HandOver.objects.filter(
        session_id=OuterRef("session_id"), student_id=OuterRef("student_id")
    )
    return ChildAttendance.objects.filter(mark__in=PRESENT_MARKS).filter(~Exists(handed_over))


def alert_missing_hand_overs(now: datetime | None = None) -> int:
    """Today's sessions that have ended with roll taken and a child present or late not handed over:
    tell the session's teachers and the school's administrators, once per session. Returns how many
    sessions were alerted. Eight queries whatever the number of sessions and children."""
    now = now or timezone.now()
    local = timezone.localtime(now)
    with transaction.atomic():
        due = (
            Session.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                date=local.date(),
                status=SessionStatus.PLANNED,
                ends_at__lt=local.time(),
                roll_taken_at__isnull=False,
                handover_alerted_at__isnull=True,
            )
            .filter(Exists(_not_handed_over().filter(session_id=OuterRef("pk"))))
            .select_related("offering", "school")
            .order_by("pk")
        )
        sessions = list(due)
        if not sessions:
            return 0
        ids = [s.pk for s in sessions]
        names: dict[int, list[str]] = {}
        for session_id, name in (
            _not_handed_over()
            .filter(session_id__in=ids)
            .order_by(
                "session_id",
                "student__classroom__grade",
                "student__classroom__number",
                "student__student_number",
            )
            .values_list("session_id", "student__name")
        ):
            names.setdefault(session_id, []).append(name)
        offering_ids = {s.offering_id for s in sessions}
        teachers: dict[int, set[int]] = {}
        for offering_id, user_id in Offering.teachers.through.objects.filter(
            offering_id__in=offering_ids
        ).values_list("offering_id", "user_id"):
            teachers.setdefault(offering_id, set()).add(user_id)
        for offering_id, user_id in Offering.provider_staff.through.objects.filter(
            offering_id__in=offering_ids, providerstaffmember__user__isnull=False
        ).values_list("offering_id", "providerstaffmember__user_id"):
            teachers.setdefault(offering_id, set()).add(user_id)
        administrators: dict[int, set[int]] = {}
        for school_id, user_id in StaffRole.objects.filter(
            role=Role.ADMINISTRATOR,
            staff__is_active=True,
            staff__school_id__in={s.school_id for s in sessions},
        ).values_list("staff__school_id", "staff__user_id"):
            administrators.setdefault(school_id, set()).add(user_id)
        recipient_ids = set().union(*teachers.values(), *administrators.values())
        active_ids = set(
            get_user_model().objects.filter(pk__in=recipient_ids, is_active=True).values_list("pk", flat=True)
        )

        # ``notify`` writes one message for many people; here each session has its own, so the rows
        # are made together to keep the query count flat, and emailed after commit as notify does.
        notifications = []
        for session in sessions:
            children = names[session.pk]
            title = _("未交接：%(name)s") % {"name": session.offering.name}
            body = _(
                "%(name)s（%(end)s 结束）还有 %(count)d 名学生未登记交接：%(children)s。请确认孩子已安全离校。"
            ) % {
                "name": session.offering.name,
                "end": f"{session.ends_at:%H:%M}",
                "count": len(children),
                "children": "、".join(children),
            }
            url = reverse("attendance:hand-over", args=[session.pk])
            users = (
                teachers.get(session.offering_id, set()) | administrators.get(session.school_id, set())
            ) & active_ids
            notifications += [
                Notification(user_id=user_id, school_id=session.school_id, title=title, body=body, url=url)
                for user_id in sorted(users)
            ]
        notify_each(notifications)
        Session.objects.filter(pk__in=ids).update(handover_alerted_at=now)
    return len(sessions)
