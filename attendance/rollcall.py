"""Roll-call (点名): the day's attendance sheet of the children in care (篇三), saved by the session's
teacher at 16:10 on a phone, corrected later by them or an administrator.

Every save is one short transaction that holds the session row (see ``_record``). A save made from an older version
of the sheet that would overwrite what someone else stored is refused as a conflict; the same save
sent twice (a double tap, a retry on a bad connection) changes nothing the second time. Each
change is a history row of the mark (who, when, before and after).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, F, FilteredRelation, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from aftercare.models import Student
from enrollment.models import Enrollment

from . import alerts
from .models import ChildAttendance, LeaveKind, LeaveRequest, LeaveStatus, Mark, Session, SessionStatus
from .sessions import active_leaves_on, enrolled_on

NO_MARKS = gettext_lazy("没有收到任何点名结果，请为每个孩子选择一项后再保存。")
UNKNOWN_MARK = gettext_lazy("无法识别的点名结果：请在出勤、迟到、请假、缺勤中选择。")
NOTE_TOO_LONG = gettext_lazy("备注最多 200 个字。")
NOT_ON_ROSTER = gettext_lazy("有孩子不在这一场次的名单上，请刷新页面后重新点名。")
SESSION_CANCELLED = gettext_lazy("这一场次已经取消，不能点名。")
SESSION_IN_FUTURE = gettext_lazy("这一场次还没到，不能提前点名。")
CONFLICT = gettext_lazy(
    "其他人已在 %(time)s 保存了这次点名（%(name)s）。下面显示的是已保存的结果，"
    "与您的选择不同的孩子已标出；核对后再保存一次即可。"
)
NOTE_MAX_LENGTH = 200


@dataclass(frozen=True)
class RollCallResult:
    changed: int  # children whose mark or note changed
    version: int  # the sheet's version after the save


@dataclass(frozen=True)
class MarkDifference:
    """A child on which a stale save disagrees with what is stored."""

    student: Student
    stored_mark: str
    stored_note: str
    marked_by: object  # the user who stored it (None if the account is gone)
    marked_at: datetime
    submitted_mark: str
    submitted_note: str | None  # None: the save did not touch the note

    @property
    def stored_label(self) -> str:
        return Mark(self.stored_mark).label

    @property
    def submitted_label(self) -> str:
        return Mark(self.submitted_mark).label


class RollCallConflict(Exception):
    """Someone saved the sheet since this form was opened, with different marks."""

    def __init__(self, *, differences: list[MarkDifference], saved_at, saved_by, version: int):
        self.differences = differences
        self.saved_at = saved_at
        self.saved_by = saved_by
        self.version = version
        super().__init__(self.message)

    @property
    def message(self) -> str:
        saved_at = timezone.localtime(self.saved_at).strftime("%H:%M") if self.saved_at else "—"
        name = self.saved_by.display_name if self.saved_by else "—"
        return str(CONFLICT % {"time": saved_at, "name": name})


# Recording ------------------------------------------------------------------------------------


def roll_call_record(
    *,
    actor,
    session: Session,
    marks: dict[int, str],
    notes: dict[int, str] | None = None,
    version: int,
) -> RollCallResult:
    """Record the marks (student id -> ``Mark``) and, when given, the notes of the children named.

    ``version`` is the sheet's ``roll_version`` the form was rendered from. Children newly marked
    absent without leave get a follow-up case and their families an alert; a child corrected from
    absent closes their open case.
    """
    marks = {int(student_id): mark for student_id, mark in marks.items()}
    if not marks:
        raise ValidationError(str(NO_MARKS))
    if any(mark not in Mark.values for mark in marks.values()):
        raise ValidationError(str(UNKNOWN_MARK))
    if notes is not None:
        # A note belongs to a mark: notes of children not being marked are not part of this save.
        notes = {
            int(student_id): (note or "").strip()
            for student_id, note in notes.items()
            if int(student_id) in marks
        }
        if any(len(note) > NOTE_MAX_LENGTH for note in notes.values()):
            raise ValidationError(str(NOTE_TOO_LONG))
    # savepoint=False: inside a caller's transaction (a test's, a job's) no SAVEPOINT and RELEASE round
    # trips, which keeps a save within its query budget. The price: an exception inside the block
    # would doom the caller's transaction, so refusals are returned out of it and raised here.
    with transaction.atomic(savepoint=False):
        outcome = _record(actor=actor, session=session, marks=marks, notes=notes, version=version)
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def _record(*, actor, session: Session, marks, notes, version) -> RollCallResult | Exception:
    """The usual save claims the sheet in one statement: the version moves from the one the form was
    rendered from to the next, and that UPDATE holds the session row until commit. It succeeds only
    if nobody saved in between, so the sheet read just before it is still what is stored. When the
    claim fails (someone saved, or the session was cancelled) the save goes the careful way: lock
    the row, read again, and refuse what would overwrite another's marks."""
    if session.is_cancelled:
        return ValidationError(str(SESSION_CANCELLED))
    if session.date > timezone.localdate():
        return ValidationError(str(SESSION_IN_FUTURE))
    sheet, excused = _sheet(session)
    if set(marks) - set(sheet):
        return ValidationError(str(NOT_ON_ROSTER))
    changes = _changes(sheet, marks, notes)
    if not changes:
        # Nothing to write (a double tap, a retry): answer with the sheet's current version.
        current = Session.objects.filter(pk=session.pk).values_list("roll_version", flat=True).first()
        return RollCallResult(changed=0, version=current)
    now = timezone.now()
    claimed = Session.objects.filter(
        pk=session.pk, roll_version=version, status=SessionStatus.PLANNED, date__lte=timezone.localdate()
    ).update(roll_version=F("roll_version") + 1, roll_taken_at=now, roll_taken_by=actor)
    if not claimed:
        return _record_locked(actor=actor, session_pk=session.pk, marks=marks, notes=notes, version=version)
    _write(actor=actor, session=session, sheet=sheet, excused=excused, changes=changes, now=now)
    return RollCallResult(changed=len(changes), version=version + 1)


def _changes(sheet, marks, notes) -> dict[int, tuple[str, str | None]]:
    changes = {}
    for student_id, mark in marks.items():
        stored = sheet[student_id]
        note = notes.get(student_id) if notes is not None else None
        if stored is None or stored.mark != mark or (note is not None and note != stored.note):
            changes[student_id] = (mark, note)
    return changes


def _record_locked(*, actor, session_pk, marks, notes, version) -> RollCallResult | Exception:
    locked = (
        Session.objects.select_for_update(of=("self",))
        .select_related("offering__classroom", "school", "roll_taken_by")
        .get(pk=session_pk)
    )
    if locked.is_cancelled:
        return ValidationError(str(SESSION_CANCELLED))
    if locked.date > timezone.localdate():
        return ValidationError(str(SESSION_IN_FUTURE))
    sheet, excused = _sheet(locked)
    if set(marks) - set(sheet):
        return ValidationError(str(NOT_ON_ROSTER))
    changes = _changes(sheet, marks, notes)
    if locked.roll_version != version:
        differing = [student_id for student_id in changes if sheet[student_id] is not None]
        if differing:
            return _conflict(locked, differing, marks, notes)
    if not changes:
        return RollCallResult(changed=0, version=locked.roll_version)
    now = timezone.now()
    # The marks' own history records who changed what; the session keeps when and by whom the
    # sheet was last saved (an update, not a history row of the session, to stay within budget).
    Session.objects.filter(pk=locked.pk).update(
        roll_version=F("roll_version") + 1, roll_taken_at=now, roll_taken_by=actor
    )
    _write(actor=actor, session=locked, sheet=sheet, excused=excused, changes=changes, now=now)
    return RollCallResult(changed=len(changes), version=locked.roll_version + 1)


def _write(*, actor, session: Session, sheet, excused, changes, now) -> None:
    new, corrected, newly_absent, no_longer_absent = [], [], [], []
    for student_id, (mark, note) in changes.items():
        stored = sheet[student_id]
        was_absent = stored is not None and stored.mark == Mark.ABSENT
        if mark == Mark.ABSENT and not was_absent:
            newly_absent.append(student_id)
        elif was_absent and mark != Mark.ABSENT:
            no_longer_absent.append(student_id)
        if stored is None:
            new.append(
                ChildAttendance(
                    session=session,
                    student_id=student_id,
                    mark=mark,
                    note=note or "",
                    marked_by=actor,
                    marked_at=now,
                )
            )
        else:
            stored.mark = mark
            if note is not None:
                stored.note = note
            stored.marked_by = actor
            stored.marked_at = now
            corrected.append(stored)
    if new:
        bulk_create_with_history(new, ChildAttendance, default_user=actor, default_date=now)
    if corrected:
        bulk_update_with_history(
            corrected,
            ChildAttendance,
            ["mark", "note", "marked_by", "marked_at"],
            default_user=actor,
            default_date=now,
        )
    if newly_absent:
        alerts.absence_cases_open(
            actor=actor,
            session=session,
            student_ids=newly_absent,
            now=now,
            excused={student_id for student_id in newly_absent if student_id in excused},
            # A case exists only for a child once marked absent here: a first mark needs no lookup.
            may_have_cases=any(sheet[student_id] is not None for student_id in newly_absent),
        )
    if no_longer_absent:
        alerts.absence_cases_close_corrected(
            actor=actor, session=session, student_ids=no_longer_absent, now=now
        )


def _sheet(session: Session) -> tuple[dict[int, ChildAttendance | None], set[int]]:
    """Who may be marked in ``session``, with their stored mark, and who of them has a day's leave,
    in one query: the children enrolled on its day, and any child already marked (a mark stays on the
    sheet after the child leaves)."""
    enrolled = Enrollment.objects.filter(enrolled_on(session.offering_id, session.date)).values("student_id")
    on_leave = active_leaves_on(session.date).filter(kind=LeaveKind.ABSENT, student_id=OuterRef("pk"))
    rows = (
        Student.objects.annotate(
            here=FilteredRelation("attendance_marks", condition=Q(attendance_marks__session=session.pk)),
            on_leave=Exists(on_leave),
        )
        .filter(Q(pk__in=enrolled) | Q(here__id__isnull=False))
        .values_list(
            "pk", "here__id", "here__mark", "here__note", "here__marked_by", "here__marked_at", "on_leave"
        )
    )
    sheet: dict[int, ChildAttendance | None] = {}
    excused: set[int] = set()
    for student_id, mark_pk, mark, note, marked_by_id, marked_at, is_on_leave in rows:
        if is_on_leave:
            excused.add(student_id)
        sheet[student_id] = (
            None
            if mark_pk is None
            else ChildAttendance(
                pk=mark_pk,
                session=session,
                student_id=student_id,
                mark=mark,
                note=note,
                marked_by_id=marked_by_id,
                marked_at=marked_at,
            )
        )
    return sheet, excused


def _conflict(locked: Session, differing: list[int], marks, notes) -> RollCallConflict:
    stored_marks = ChildAttendance.objects.filter(session=locked, student_id__in=differing).select_related(
        "student__classroom", "marked_by"
    )
    differences = [
        MarkDifference(
            student=stored.student,
            stored_mark=stored.mark,
            stored_note=stored.note,
            marked_by=stored.marked_by,
            marked_at=stored.marked_at,
            submitted_mark=marks[stored.student_id],
            submitted_note=notes.get(stored.student_id) if notes is not None else None,
        )
        for stored in stored_marks.order_by(
            "student__classroom__grade", "student__classroom__number", "student__pk"
        )
    ]
    return RollCallConflict(
        differences=differences,
        saved_at=locked.roll_taken_at,
        saved_by=locked.roll_taken_by,
        version=locked.roll_version,
    )


# Reads ----------------------------------------------------------------------------------------


class SubqueryCount(Subquery):
    """The number of rows of a subquery (portable: no GROUP BY on the outer query)."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) _rows)"
    output_field = IntegerField()


def with_roll_counts(sessions: QuerySet) -> QuerySet:
    """Sessions annotated with their day's numbers, in the same single query whatever the size:
    ``enrolled_count``, ``leave_on_file_count`` (children with a leave for the day), and the marks
    saved so far: ``present_count`` (present or late), ``leave_count``, ``absent_count``."""
    enrolled_here = Enrollment.objects.filter(enrolled_on(OuterRef("offering_id"), OuterRef("date")))
    enrolled_in_outer = Enrollment.objects.filter(
        enrolled_on(OuterRef(OuterRef("offering_id")), OuterRef(OuterRef("date")))
    ).values("student_id")
    leaves = LeaveRequest.objects.filter(
        status=LeaveStatus.ACTIVE,
        kind=LeaveKind.ABSENT,
        starts_on__lte=OuterRef("date"),
        ends_on__gte=OuterRef("date"),
        student_id__in=enrolled_in_outer,
    )

    def marks(*values):
        return SubqueryCount(
            ChildAttendance.objects.filter(session=OuterRef("pk"), mark__in=values).values("pk")
        )

    return sessions.select_related("roll_taken_by").annotate(
        enrolled_count=SubqueryCount(enrolled_here.values("student_id").distinct()),
        leave_on_file_count=SubqueryCount(leaves.values("student_id").distinct()),
        present_count=marks(Mark.PRESENT, Mark.LATE),
        leave_count=marks(Mark.LEAVE),
        absent_count=marks(Mark.ABSENT),
    )


def roll_counts(selected_marks) -> dict[str, int]:
    """How many of each mark a sheet shows (the sticky bar's numbers before any script runs)."""
    counts = dict.fromkeys(Mark.values, 0)
    for mark in selected_marks:
        counts[mark] += 1
    return counts
