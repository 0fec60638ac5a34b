"""The family's side of the day: leave (请假) and early pick-up, the people allowed to collect a
child, and what a guardian reads about their children (leave, attendance, hand-overs, open cases).
The school reads the leave of its children here too (``school_leaves``).

Leave takes effect when submitted, like a note handed to the teacher (篇三, 篇九): the homeroom
teacher and the teachers of the sessions already prepared on those days are told at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time, timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftercare.models import Guardian, Student, phone_validator
from aftercare.notifications import notify
from aftercare.selectors import current_term
from catalogue.models import Offering
from catalogue.selectors import sessions_on
from enrollment.models import Enrollment

from .models import (
    AbsenceCase,
    CaseStatus,
    ChildAttendance,
    HandOver,
    LeaveKind,
    LeaveRequest,
    LeaveStatus,
    PickupArrangement,
    PickupPerson,
    Session,
    SessionStatus,
)
from .permissions import taught_by

MAX_LEAVE_DAYS = 31
MAX_PICKUP_PEOPLE = 6
RECENT_DAYS = 30

LEAVE_KIND_UNKNOWN = gettext_lazy("请选择请假类型。")
LEAVE_START_REQUIRED = gettext_lazy("请选择日期。")
LEAVE_ENDS_BEFORE_START = gettext_lazy("结束日期不能早于开始日期。")
LEAVE_IN_THE_PAST = gettext_lazy("不能为已经过去的日期请假。")
LEAVE_NO_TERM = gettext_lazy("学校目前没有课后服务学期，无法请假。")
LEAVE_OUTSIDE_TERM = gettext_lazy("请假日期须在本学期（%(starts)s 至 %(ends)s）之内。")
LEAVE_TOO_LONG = gettext_lazy("一次请假最长 31 天，更长的请假请分次提交。")
LEAVE_NOT_ENROLLED = gettext_lazy("%(name)s 本学期没有参加课后服务，无需请假。")
LEAVE_REASON_REQUIRED = gettext_lazy("请填写请假事由。")
EARLY_PICKUP_ONE_DAY = gettext_lazy("提前接走只能选择一天。")
EARLY_PICKUP_TIME_REQUIRED = gettext_lazy("提前接走请填写接走时间。")
EARLY_PICKUP_NO_SERVICE = gettext_lazy("%(name)s 当天没有课后服务，无需提前接走。")
EARLY_PICKUP_OUTSIDE_BAND = gettext_lazy("接走时间须在当天课后服务时段（%(starts)s–%(ends)s）之内。")
LEAVE_OVERLAPS = gettext_lazy("%(dates)s 已有%(kind)s，如需修改，请先撤销原来的请假。")
LEAVE_ALREADY_CANCELLED = gettext_lazy("这次请假已经撤销。")
LEAVE_ALREADY_ENDED = gettext_lazy("这次请假已经结束，不能撤销。")

PICKUP_NAME_REQUIRED = gettext_lazy("请填写接送人姓名。")
PICKUP_RELATION_REQUIRED = gettext_lazy("请填写与孩子的关系。")
PICKUP_PHONE_INVALID = gettext_lazy("请输入11位手机号码。")
PICKUP_TOO_MANY = gettext_lazy("最多只能添加 6 位授权接送人，请先移除一位。")
PICKUP_PHONE_TAKEN = gettext_lazy("手机号码 %(phone)s 已在授权接送人名单中。")
PICKUP_ALREADY_REMOVED = gettext_lazy("%(name)s 已经不在授权接送人名单中。")


def dates_label(starts_on: date, ends_on: date) -> str:
    """10月13日, or 10月13日–10月15日 (Oct. 13–Oct. 15 in English)."""
    if starts_on == ends_on:
        return date_format(starts_on, "MONTH_DAY_FORMAT")
    return f"{date_format(starts_on, 'MONTH_DAY_FORMAT')}–{date_format(ends_on, 'MONTH_DAY_FORMAT')}"


def leave_label(leave: LeaveRequest) -> str:
    """What a teacher reads: 请假 10月13日–10月15日, or 提前接走 10月12日 16:30."""
    when = dates_label(leave.starts_on, leave.ends_on)
    if leave.kind == LeaveKind.EARLY_PICKUP and leave.pickup_at is not None:
        return _("提前接走 %(when)s %(time)s") % {"when": when, "time": f"{leave.pickup_at:%H:%M}"}
    return _("请假 %(when)s") % {"when": when}


# Leave: writes ---------------------------------------------------------------------------------


def _enrolled_offering_ids(student: Student, day: date) -> set[int]:
    return set(
        Enrollment.objects.filter(student=student, joined_on__lte=day)
        .filter(Q(left_on__isnull=True) | Q(left_on__gt=day))
        .values_list("offering_id", flat=True)
    )


def _day_band(student: Student, day: date) -> tuple[time | None, time | None] | None:
    """The child's service on ``day``, from the first start to the last end of the sessions of the
    offerings the child is in; None when the child has no service that day."""
    enrolled = _enrolled_offering_ids(student, day)
    planned = [
        p
        for p in sessions_on(day, school=student.school, classroom=student.classroom)
        if p.offering.pk in enrolled
    ]
    if not planned:
        return None
    starts = [p.starts_at for p in planned if p.starts_at is not None]
    ends = [p.ends_at for p in planned if p.ends_at is not None]
    return (min(starts) if starts else None, max(ends) if ends else None)


def _validate_leave(*, student, kind, starts_on, ends_on, pickup_at, reason) -> tuple[date, date]:
    """The leave's days, or a ValidationError with every problem found on its field."""
    errors: dict[str, list[str]] = {}

    def add(name: str, message) -> None:
        errors.setdefault(name, []).append(str(message))

    if kind not in LeaveKind.values:
        add("kind", LEAVE_KIND_UNKNOWN)
    if not reason:
        add("reason", LEAVE_REASON_REQUIRED)
    if starts_on is None:
        add("starts_on", LEAVE_START_REQUIRED)
        raise ValidationError(errors)
    if ends_on is None:
        ends_on = starts_on
    if kind == LeaveKind.EARLY_PICKUP:
        if ends_on != starts_on:
            add("ends_on", EARLY_PICKUP_ONE_DAY)
        if pickup_at is None:
            add("pickup_at", EARLY_PICKUP_TIME_REQUIRED)
    if ends_on < starts_on:
        add("ends_on", LEAVE_ENDS_BEFORE_START)
    today = timezone.localdate()
    if starts_on < today:
        add("starts_on", LEAVE_IN_THE_PAST)
    if (ends_on - starts_on).days + 1 > MAX_LEAVE_DAYS:
        add("ends_on", LEAVE_TOO_LONG)
    if errors:
        raise ValidationError(errors)

    term = current_term(student.school)
    if term is None:
        raise ValidationError({"starts_on": [str(LEAVE_NO_TERM)]})
    if starts_on < term.starts_on or ends_on > term.ends_on:
        raise ValidationError(
            {"starts_on": [str(LEAVE_OUTSIDE_TERM % {"starts": term.starts_on, "ends": term.ends_on})]}
        )
    enrolled = (
        Enrollment.objects.filter(student=student, term=term, joined_on__lte=ends_on)
        .filter(Q(left_on__isnull=True) | Q(left_on__gt=starts_on))
        .exists()
    )
    if not enrolled:
        raise ValidationError(str(LEAVE_NOT_ENROLLED % {"name": student.name}))
    if kind == LeaveKind.EARLY_PICKUP:
        band = _day_band(student, starts_on)
        if band is None:
            raise ValidationError({"starts_on": [str(EARLY_PICKUP_NO_SERVICE % {"name": student.name})]})
        band_starts, band_ends = band
        # Collecting the child at the end of the band is no early pick-up: strictly before it.
        if band_starts is not None and band_ends is not None and not band_starts <= pickup_at < band_ends:
            raise ValidationError(
                {
                    "pickup_at": [
                        str(
                            EARLY_PICKUP_OUTSIDE_BAND
                            % {"starts": f"{band_starts:%H:%M}", "ends": f"{band_ends:%H:%M}"}
                        )
                    ]
                }
            )
    return starts_on, ends_on


def _teachers_to_tell(student: Student, first_day: date, last_day: date) -> list:
    """The child's homeroom teacher and the teachers of the child's sessions already prepared
    between the two days (each once, in id order)."""
    enrolled = Enrollment.objects.filter(
        student=student, offering_id=OuterRef("offering_id"), joined_on__lte=OuterRef("date")
    ).filter(Q(left_on__isnull=True) | Q(left_on__gt=OuterRef("date")))
    offering_ids = set(
        Session.objects.filter(date__gte=first_day, date__lte=last_day, status=SessionStatus.PLANNED)
        .filter(Exists(enrolled))
        .values_list("offering_id", flat=True)
    )
    teacher_filter = (
        Q(pk=student.classroom.homeroom_teacher_id) if student.classroom.homeroom_teacher_id else Q()
    )
    if offering_ids:
        teacher_filter |= Q(taught_offerings__in=offering_ids) | Q(provider_seats__offerings__in=offering_ids)
    if not teacher_filter:
        return []
    return list(get_user_model().objects.filter(teacher_filter, is_active=True).distinct().order_by("pk"))


def leave_request_create(
    *,
    actor,
    student: Student,
    kind: str,
    starts_on: date | None,
    ends_on: date | None,
    pickup_at: time | None,
    reason: str,
) -> LeaveRequest:
    """A guardian's leave for ``student``: one day or a range (请假), or collecting the child early on
    one day at ``pickup_at`` (提前接走). Refused when it overlaps an active leave of the child."""
    reason = (reason or "").strip()
    if kind != LeaveKind.EARLY_PICKUP:
        pickup_at = None
    starts_on, ends_on = _validate_leave(
        student=student, kind=kind, starts_on=starts_on, ends_on=ends_on, pickup_at=pickup_at, reason=reason
    )
    with transaction.atomic():
        # Two submissions at once (a double tap, both parents) must not both pass the overlap check.
        Student.objects.select_for_update().filter(pk=student.pk).first()
        overlapping = (
            LeaveRequest.objects.filter(
                student=student, status=LeaveStatus.ACTIVE, starts_on__lte=ends_on, ends_on__gte=starts_on
            )
            .order_by("starts_on")
            .first()
        )
        if overlapping is not None:
            raise ValidationError(
                str(
                    LEAVE_OVERLAPS
                    % {
                        "dates": dates_label(overlapping.starts_on, overlapping.ends_on),
                        "kind": overlapping.get_kind_display(),
                    }
                )
            )
        leave = LeaveRequest(
            school_id=student.school_id,
            student=student,
            kind=kind,
            starts_on=starts_on,
            ends_on=ends_on,
            pickup_at=pickup_at,
            reason=reason,
            requested_by=actor,
        )
        leave._history_user = actor
        leave.save()
        notify(
            users=_teachers_to_tell(student, starts_on, ends_on),
            title=_("%(name)s %(leave)s") % {"name": student.name, "leave": leave_label(leave)},
            body=_("%(classroom)s %(name)s：%(leave)s。事由：%(reason)s。")
            % {
                "classroom": student.classroom.name,
                "name": student.name,
                "leave": leave_label(leave),
                "reason": reason,
            },
            url=f"{reverse('attendance:leave-list')}?date={starts_on.isoformat()}",
            school=student.school,
        )
    return leave


def leave_request_cancel(*, actor, leave: LeaveRequest) -> LeaveRequest:
    """Withdraw a leave that has not ended; the teachers told of it are told again."""
    today = timezone.localdate()
    with transaction.atomic():
        leave = (
            LeaveRequest.objects.select_for_update(of=("self",))
            .select_related("student__classroom", "student__school")
            .get(pk=leave.pk)
        )
        if leave.status == LeaveStatus.CANCELLED:
            raise ValidationError(str(LEAVE_ALREADY_CANCELLED))
        if leave.ends_on < today:
            raise ValidationError(str(LEAVE_ALREADY_ENDED))
        leave.status = LeaveStatus.CANCELLED
        leave._history_user = actor
        leave.save(update_fields=["status"])
        student = leave.student
        notify(
            users=_teachers_to_tell(student, max(leave.starts_on, today), leave.ends_on),
            title=_("%(name)s 已撤销%(leave)s") % {"name": student.name, "leave": leave_label(leave)},
            body=_("%(classroom)s %(name)s 的家长撤销了%(leave)s，孩子按时参加课后服务。")
            % {"classroom": student.classroom.name, "name": student.name, "leave": leave_label(leave)},
            school=student.school,
        )
    return leave


# Pick-up people: writes ------------------------------------------------------------------------


def pickup_person_add(*, actor, student: Student, name: str, relation: str, phone: str) -> PickupPerson:
    """Authorise someone besides the guardians to collect the child (at most six at a time)."""
    name, relation, phone = (name or "").strip(), (relation or "").strip(), (phone or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [str(PICKUP_NAME_REQUIRED)]
    if not relation:
        errors["relation"] = [str(PICKUP_RELATION_REQUIRED)]
    try:
        phone_validator(phone)
    except ValidationError:
        errors["phone"] = [str(PICKUP_PHONE_INVALID)]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        Student.objects.select_for_update().filter(pk=student.pk).first()
        active = list(PickupPerson.objects.filter(student=student, is_active=True))
        if any(person.phone == phone for person in active):
            raise ValidationError({"phone": [str(PICKUP_PHONE_TAKEN % {"phone": phone})]})
        if len(active) >= MAX_PICKUP_PEOPLE:
            raise ValidationError(str(PICKUP_TOO_MANY))
        person = PickupPerson(student=student, name=name, relation=relation, phone=phone, added_by=actor)
        person._history_user = actor
        person.save()
    return person


def pickup_person_remove(*, actor, person: PickupPerson) -> PickupPerson:
    """No longer allowed to collect the child; the row stays so past hand-overs keep their name."""
    with transaction.atomic():
        person = PickupPerson.objects.select_for_update().get(pk=person.pk)
        if not person.is_active:
            raise ValidationError(str(PICKUP_ALREADY_REMOVED % {"name": person.name}))
        person.is_active = False
        person._history_user = actor
        person.save(update_fields=["is_active"])
    return person


def pickup_arrangement_update(*, actor, student: Student, may_go_home_alone: bool) -> PickupArrangement:
    """Whether the child may go home alone at the end of the day (允许孩子自行回家)."""
    with transaction.atomic():
        Student.objects.select_for_update().filter(pk=student.pk).first()
        arrangement = PickupArrangement.objects.filter(student=student).first() or PickupArrangement(
            student=student
        )
        arrangement.may_go_home_alone = bool(may_go_home_alone)
        arrangement.updated_by = actor
        arrangement._history_user = actor
        arrangement.save()
    return arrangement


# Reads -----------------------------------------------------------------------------------------


@dataclass
class AttendanceLine:
    """One session of a child: the mark, and who collected the child and when."""

    mark: ChildAttendance
    hand_over: HandOver | None = None


@dataclass
class ChildRecords:
    student: Student
    leaves: list[LeaveRequest] = field(default_factory=list)
    attendance: list[AttendanceLine] = field(default_factory=list)
    open_cases: list[AbsenceCase] = field(default_factory=list)
    guardians: list[Guardian] = field(default_factory=list)
    pickup_people: list[PickupPerson] = field(default_factory=list)
    may_go_home_alone: bool = False


def current_leaves(student_ids, *, today: date):
    """Active leave not yet over (today's and later), soonest first."""
    return (
        LeaveRequest.objects.filter(
            student_id__in=list(student_ids), status=LeaveStatus.ACTIVE, ends_on__gte=today
        )
        .select_related("student")
        .order_by("starts_on", "pickup_at", "pk")
    )


def family_records(child_ids, *, today: date | None = None) -> list[ChildRecords]:
    """Everything a guardian reads about their children, in eight queries whatever the number of
    children and days."""
    today = today or timezone.localdate()
    students = list(
        Student.objects.filter(pk__in=list(child_ids), is_active=True)
        .select_related("classroom", "school")
        .order_by("classroom__grade", "classroom__number", "name", "pk")
    )
    records = {s.pk: ChildRecords(student=s) for s in students}
    if not records:
        return []
    ids = list(records)
    for leave in current_leaves(ids, today=today):
        records[leave.student_id].leaves.append(leave)
    since = today - timedelta(days=RECENT_DAYS)
    marks = (
        ChildAttendance.objects.filter(student_id__in=ids, session__date__gt=since, session__date__lte=today)
        .select_related("session__offering")
        .order_by("-session__date", "-session__starts_at", "session__offering__name")
    )
    hand_overs = {
        (h.session_id, h.student_id): h
        for h in HandOver.objects.filter(
            student_id__in=ids, session__date__gt=since, session__date__lte=today
        ).select_related("guardian", "pickup_person")
    }
    for mark in marks:
        records[mark.student_id].attendance.append(
            AttendanceLine(mark=mark, hand_over=hand_overs.get((mark.session_id, mark.student_id)))
        )
    for case in (
        AbsenceCase.objects.filter(student_id__in=ids, status=CaseStatus.OPEN)
        .select_related("session__offering")
        .order_by("-opened_at")
    ):
        records[case.student_id].open_cases.append(case)
    for guardian in Guardian.objects.filter(student_id__in=ids).order_by("student", "pk"):
        records[guardian.student_id].guardians.append(guardian)
    for person in PickupPerson.objects.filter(student_id__in=ids, is_active=True).order_by("student", "pk"):
        records[person.student_id].pickup_people.append(person)
    for student_id in PickupArrangement.objects.filter(
        student_id__in=ids, may_go_home_alone=True
    ).values_list("student_id", flat=True):
        records[student_id].may_go_home_alone = True
    return list(records.values())


def school_leaves(
    *,
    school,
    today: date,
    day: date | None = None,
    whole_school: bool = False,
    classroom_ids=(),
    teacher=None,
):
    """Active leave at ``school`` on ``day`` (or from today on): the whole school for its leaders and
    inspectors; else the children of the homeroom teacher's classes and of the offerings ``teacher``
    teaches."""
    leaves = LeaveRequest.objects.filter(school=school, status=LeaveStatus.ACTIVE)
    if day is not None:
        leaves = leaves.filter(starts_on__lte=day, ends_on__gte=day)
    else:
        leaves = leaves.filter(ends_on__gte=today)
    if not whole_school:
        scope = Q(student__classroom_id__in=list(classroom_ids))
        if teacher is not None:
            on = day or today
            taught = Offering.objects.filter(taught_by(teacher)).values("pk")
            students = (
                Enrollment.objects.filter(offering__in=taught)
                .filter(Q(left_on__isnull=True) | Q(left_on__gt=on))
                .values("student_id")
            )
            scope |= Q(student_id__in=students)
        leaves = leaves.filter(scope)
    return leaves.select_related("student__classroom", "requested_by").order_by(
        "starts_on",
        "pickup_at",
        "student__classroom__grade",
        "student__classroom__number",
        "student__student_number",
        "pk",
    )
