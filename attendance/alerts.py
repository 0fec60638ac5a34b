"""Alerts of the day: a child missing without leave (无故脱管, 篇九: reported and followed up; 篇七: in
an emergency the guardian is told at once), and a session whose roll-call is not taken 15 minutes
after it began.

A child newly marked absent without leave opens a follow-up case (one per session and child): the
guardians get a notification (in the portal and by email) and a text message, the homeroom teacher
a notification, and the school's dashboard lists the case until someone records what happened. A
correction of the mark closes the case as "marked wrongly".

Everything here writes in one constant number of queries, whatever the number of children or
sessions: one absent child or the whole class, one school or the district's.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from aftercare.models import Guardian, Notification, Staff, Student
from aftercare.notifications import notify_each
from aftercare.roles import Role
from catalogue.models import ProviderStaffMember

from .models import AbsenceCase, CaseOutcome, CaseStatus, LeaveKind, Session, SessionStatus
from .sessions import active_leaves_on

CASE_ALREADY_CLOSED = gettext_lazy("这条跟踪已经处理过了，不能重复处理。")
UNKNOWN_OUTCOME = gettext_lazy("请选择处理结果。")
NOTE_REQUIRED_FOR_OTHER = gettext_lazy("选择“其他”时，请写明处理情况。")
NOTE_TOO_LONG = gettext_lazy("处理说明最多 300 个字。")
CORRECTED_NOTE = gettext_lazy("点名已更正")
SMS_TEXT = gettext_lazy("【课后服务】%(name)s %(day)s %(time)s 课后服务点名缺勤，未请假，请尽快与学校联系。")
GUARDIAN_TITLE = gettext_lazy("%(name)s 课后服务点名缺勤")
GUARDIAN_BODY = gettext_lazy(
    "%(name)s %(day)s %(time)s 在“%(offering)s”点名时缺勤，学校没有收到请假。请尽快与班主任或学校联系。"
)
HOMEROOM_TITLE = gettext_lazy("%(name)s（%(classroom)s）点名缺勤，未请假")
HOMEROOM_BODY = gettext_lazy("“%(offering)s”%(day)s %(time)s，点名人：%(teacher)s。请跟进并记录处理结果。")
UNMARKED_TITLE = gettext_lazy("%(offering)s 尚未点名")
UNMARKED_BODY = gettext_lazy(
    "“%(offering)s”%(time)s 开始，已过 15 分钟仍未点名。请尽快点名，或安排他人代为点名。"
)
UNMARKED_AFTER = timedelta(minutes=15)
OUTCOME_NOTE_MAX_LENGTH = 300


def _day_words(day) -> str:
    if day == timezone.localdate():
        return _("今天")
    return date_format(day, "MONTH_DAY_FORMAT")


def _time_words(session: Session) -> str:
    return session.starts_at.strftime("%H:%M") if session.starts_at else ""


# Absence cases --------------------------------------------------------------------------------


def absence_cases_open(
    *,
    actor,
    session: Session,
    student_ids,
    now: datetime | None = None,
    excused: set[int] | None = None,
    may_have_cases: bool = True,
) -> list[AbsenceCase]:
    """Open a case for each of ``student_ids`` (just marked absent in ``session``) who has no leave
    for the day, and alert. A case closed earlier (the mark was corrected) is opened again. Runs in
    the roll-call's transaction, so the case exists as soon as the mark does; the alerts (who the
    guardians are, their notices and texts) are sent by a task once it commits. ``excused`` and
    ``may_have_cases`` let the roll-call pass what it already knows and save two queries."""
    now = now or timezone.now()
    student_ids = set(student_ids)
    if excused is None:
        excused = set(
            active_leaves_on(session.date)
            .filter(kind=LeaveKind.ABSENT, student_id__in=student_ids)
            .values_list("student_id", flat=True)
        )
    unexcused = student_ids - excused
    if not unexcused:
        return []
    existing = {}
    if may_have_cases:
        existing = {
            case.student_id: case
            for case in AbsenceCase.objects.filter(session=session, student_id__in=unexcused)
        }
    new = [
        AbsenceCase(
            school_id=session.school_id,
            session=session,
            student_id=student_id,
            opened_at=now,
            opened_by=actor,
        )
        for student_id in sorted(unexcused - set(existing))
    ]
    reopened = [case for case in existing.values() if not case.is_open]
    for case in reopened:
        case.status = CaseStatus.OPEN
        case.opened_at, case.opened_by = now, actor
        case.outcome, case.outcome_note = "", ""
        case.closed_at, case.closed_by = None, None
    cases = []
    if new:
        cases += bulk_create_with_history(new, AbsenceCase, default_user=actor, default_date=now)
    if reopened:
        bulk_update_with_history(
            reopened,
            AbsenceCase,
            ["status", "opened_at", "opened_by", "outcome", "outcome_note", "closed_at", "closed_by"],
            default_user=actor,
            default_date=now,
        )
        cases += reopened
    case_ids = [case.pk for case in cases]
    from .tasks import alert_absences_task

    transaction.on_commit(lambda: alert_absences_task.delay(case_ids, actor.pk))
    return cases


def absence_alerts_send(case_ids: list[int], actor_id: int) -> int:
    """Tell the guardians (in the app, by email and by text) and the homeroom teacher about the
    cases still open; run by a task after the roll-call commits. Returns how many were told about."""
    cases = list(
        AbsenceCase.objects.filter(pk__in=case_ids, status=CaseStatus.OPEN).select_related(
            "session__offering", "session__school"
        )
    )
    if not cases:
        return 0
    actor = get_user_model().objects.get(pk=actor_id)
    session = cases[0].session
    _alert_absences(actor=actor, session=session, cases=cases)
    return len(cases)


def _alert_absences(*, actor, session: Session, cases: list[AbsenceCase]) -> None:
    student_ids = [case.student_id for case in cases]
    students = {s.pk: s for s in Student.objects.filter(pk__in=student_ids).select_related("classroom")}
    guardians = defaultdict(list)
    for guardian in Guardian.objects.filter(student_id__in=student_ids).select_related("user").order_by("pk"):
        guardians[guardian.student_id].append(guardian)
    words = {
        "day": _day_words(session.date),
        "time": _time_words(session),
        "offering": session.offering.name,
        "teacher": actor.display_name,
    }
    notifications = []
    texts = []
    for case in cases:
        student = students[case.student_id]
        url = reverse("attendance:case-detail", args=[case.pk])
        family_words = {**words, "name": student.name}
        users = {g.user_id: g.user for g in guardians[student.pk] if g.user is not None and g.user.is_active}
        notifications += [
            Notification(
                user=user,
                school_id=session.school_id,
                title=GUARDIAN_TITLE % family_words,
                body=GUARDIAN_BODY % family_words,
                url=url,
            )
            for user in users.values()
        ]
        homeroom_id = student.classroom.homeroom_teacher_id
        # The teacher who marked the absence knows already; everyone else is told.
        if homeroom_id is not None and homeroom_id != actor.pk:
            notifications.append(
                Notification(
                    user_id=homeroom_id,
                    school_id=session.school_id,
                    title=HOMEROOM_TITLE % {"name": student.name, "classroom": student.classroom.name},
                    body=HOMEROOM_BODY % words,
                    url=url,
                )
            )
        phones = list(dict.fromkeys(g.phone for g in guardians[student.pk] if g.phone))
        # A text a week late helps nobody: the guardians are texted for today's sessions only.
        if phones and session.date == timezone.localdate():
            texts.append((phones, str(SMS_TEXT % family_words)))
    notify_each(notifications)
    if texts:
        from aftercare.tasks import send_sms_task

        def send():
            for phones, text in texts:
                send_sms_task.delay(phones, text)

        transaction.on_commit(send)


def absence_cases_close_corrected(
    *, actor, session: Session, student_ids, now: datetime | None = None
) -> int:
    """Close the open cases of children whose absent mark was corrected: "marked wrongly"."""
    now = now or timezone.now()
    cases = list(
        AbsenceCase.objects.filter(session=session, student_id__in=list(student_ids), status=CaseStatus.OPEN)
    )
    for case in cases:
        case.status = CaseStatus.CLOSED
        case.outcome = CaseOutcome.MARKED_WRONGLY
        case.outcome_note = str(CORRECTED_NOTE)
        case.closed_at, case.closed_by = now, actor
    if cases:
        bulk_update_with_history(
            cases,
            AbsenceCase,
            ["status", "outcome", "outcome_note", "closed_at", "closed_by"],
            default_user=actor,
            default_date=now,
        )
    return len(cases)


def absence_case_close(*, actor, case: AbsenceCase, outcome: str, note: str = "") -> AbsenceCase:
    """Record what happened to a child reported missing, which closes the case."""
    note = (note or "").strip()
    if outcome not in CaseOutcome.values:
        raise ValidationError({"outcome": [str(UNKNOWN_OUTCOME)]})
    if outcome == CaseOutcome.OTHER and not note:
        raise ValidationError({"note": [str(NOTE_REQUIRED_FOR_OTHER)]})
    if len(note) > OUTCOME_NOTE_MAX_LENGTH:
        raise ValidationError({"note": [str(NOTE_TOO_LONG)]})
    with transaction.atomic():
        case = AbsenceCase.objects.select_for_update().get(pk=case.pk)
        if not case.is_open:
            raise ValidationError(str(CASE_ALREADY_CLOSED))
        case.status = CaseStatus.CLOSED
        case.outcome = outcome
        case.outcome_note = note
        case.closed_at = timezone.now()
        case.closed_by = actor
        case._history_user = actor
        case.save(update_fields=["status", "outcome", "outcome_note", "closed_at", "closed_by"])
    return case


# Sessions without roll-call -------------------------------------------------------------------


def alert_unmarked_sessions(now: datetime | None = None) -> int:
    """Tell the teachers and the school's administrators about each of today's sessions that began
    15 minutes ago or more and has no roll-call yet; each session once. Returns how many."""
    local_now = timezone.localtime(now or timezone.now())
    cutoff = local_now - UNMARKED_AFTER
    if cutoff.date() != local_now.date():
        return 0  # just after midnight: nothing of today has begun 15 minutes ago
    User = get_user_model()
    with transaction.atomic():
        # Locked and skipped when locked: two beat workers never alert the same session twice.
        sessions = list(
            Session.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                date=local_now.date(),
                status=SessionStatus.PLANNED,
                roll_taken_at__isnull=True,
                unmarked_alerted_at__isnull=True,
                starts_at__isnull=False,
                starts_at__lte=cutoff.time(),
            )
            .select_related("offering")
            .prefetch_related(
                Prefetch("offering__teachers", queryset=User.objects.filter(is_active=True)),
                Prefetch(
                    "offering__provider_staff",
                    queryset=ProviderStaffMember.objects.filter(user__is_active=True).select_related("user"),
                ),
            )
            .order_by("school_id", "starts_at", "pk")
        )
        if not sessions:
            return 0
        administrators = defaultdict(list)
        for staff in Staff.objects.filter(
            school_id__in={s.school_id for s in sessions},
            is_active=True,
            user__is_active=True,
            roles__role=Role.ADMINISTRATOR,
        ).select_related("user"):
            administrators[staff.school_id].append(staff.user)
        notifications = []
        for session in sessions:
            recipients = {u.pk: u for u in session.offering.teachers.all()}
            recipients.update({m.user.pk: m.user for m in session.offering.provider_staff.all()})
            recipients.update({u.pk: u for u in administrators[session.school_id]})
            words = {"offering": session.offering.name, "time": _time_words(session)}
            url = reverse("attendance:roll-call", args=[session.pk])
            notifications += [
                Notification(
                    user=user,
                    school_id=session.school_id,
                    title=UNMARKED_TITLE % words,
                    body=UNMARKED_BODY % words,
                    url=url,
                )
                for user in recipients.values()
            ]
        Session.objects.filter(pk__in=[s.pk for s in sessions]).update(unmarked_alerted_at=local_now)
        notify_each(notifications)
    return len(sessions)
