"""Attendance pages: today. A teacher's sessions of the day (今日课后服务) and the roll-call (点名), the
page teachers open on their phones every afternoon at 16:10."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from aftercare.permissions import access_for, require_school_role
from aftercare.roles import TEACHING_ROLES, Role
from aftercare.selectors import current_term

from ..models import AbsenceCase, CaseStatus, Mark, Session
from ..permissions import get_session_for_user
from ..rollcall import RollCallConflict, roll_call_record, roll_counts, with_roll_counts
from ..sessions import RosterRow, session_roster, sessions_ensure_for_day, teacher_sessions

SAVED_MESSAGE = gettext_lazy("已保存点名：出勤 %(present)d，迟到 %(late)d，请假 %(leave)d，缺勤 %(absent)d。")
UNCHANGED_MESSAGE = gettext_lazy("点名结果与已保存的一致，没有改动。")
FUTURE_DAY = gettext_lazy("不能打开以后的日子。")
OUTSIDE_TERM = gettext_lazy("只能打开本学期已经过去的日子。")
BAD_FORM = gettext_lazy("点名表不完整，请刷新页面后重新点名。")


# Today ----------------------------------------------------------------------------------------


class DayForm(forms.Form):
    """``?date=`` opens a past day of the current term, to correct its roll-call."""

    date = forms.DateField(label=gettext_lazy("日期"), required=False, input_formats=["%Y-%m-%d"])

    def __init__(self, *args, school, **kwargs):
        super().__init__(*args, **kwargs)
        self.school = school

    def clean_date(self):
        day = self.cleaned_data["date"]
        today = timezone.localdate()
        if day is None or day == today:
            return None
        if day > today:
            raise ValidationError(FUTURE_DAY)
        term = current_term(self.school)
        if term is None or not term.starts_on <= day <= term.ends_on:
            raise ValidationError(OUTSIDE_TERM)
        return day


@login_required
@require_GET
def today(request):
    school = require_school_role(request, *TEACHING_ROLES, Role.ADMINISTRATOR)
    form = DayForm(request.GET or None, school=school)
    status = 200
    day = timezone.localdate()
    if form.is_bound:
        if form.is_valid():
            day = form.cleaned_data["date"] or day
        else:
            status = 400
    sessions_ensure_for_day(school=school, day=day)
    sessions = list(with_roll_counts(teacher_sessions(request.user, school=school, day=day)))
    for session in sessions:
        session.expected_count = session.enrolled_count - session.leave_on_file_count
        # Before the roll-call, the leave on file; after it, what the teacher marked.
        session.shown_leave_count = (
            session.leave_count if session.roll_taken_at else session.leave_on_file_count
        )
    open_cases_today = None
    if Role.ADMINISTRATOR in access_for(request.user).roles_at(school.pk):
        open_cases_today = AbsenceCase.objects.filter(
            school=school, status=CaseStatus.OPEN, session__date=timezone.localdate()
        ).count()
    return render(
        request,
        "attendance/today_list.html",
        {
            "school": school,
            "form": form,
            "day": day,
            "is_today": day == timezone.localdate(),
            "today": timezone.localdate(),
            "sessions": sessions,
            "open_cases_today": open_cases_today,
        },
        status=status,
    )


# Roll-call ------------------------------------------------------------------------------------


class RollCallForm(forms.Form):
    """The sheet as posted: ``version``, and ``mark-<student id>`` / ``note-<student id>`` per child.
    Which children belong on the sheet, and which marks exist, is the service's to check."""

    version = forms.IntegerField(min_value=0)

    def clean(self):
        cleaned = super().clean()
        marks, notes = {}, {}
        for key in self.data:
            prefix, _, student_id = key.partition("-")
            if not student_id.isdigit():
                continue
            if prefix == "mark":
                marks[int(student_id)] = self.data[key]
            elif prefix == "note":
                notes[int(student_id)] = self.data[key]
        cleaned["marks"], cleaned["notes"] = marks, notes
        return cleaned


@dataclass
class SheetRow:
    """One child's line on the roll-call screen."""

    roster: RosterRow
    selected: str
    note: str
    difference: object = None  # a ``MarkDifference`` after a conflicting save

    @property
    def student(self):
        return self.roster.student


def _session_for_roll_call(user, pk) -> tuple[Session, bool]:
    """The session, and whether ``user`` may mark it. Asked as "teach" first, the case at 16:10, so
    a teacher's page costs one access check; inspectors and leaders fall back to reading it."""
    try:
        return get_session_for_user(user, pk, action="teach"), True
    except PermissionDenied:
        return get_session_for_user(user, pk, action="view"), False


def _render_roll_call(
    request, session, *, may_teach, conflict=None, submitted=None, version=None, status=200
):
    roster = session_roster(session)
    submitted_marks, submitted_notes = submitted or ({}, {})
    differences = {d.student.pk: d for d in conflict.differences} if conflict else {}
    rows = []
    for row in roster:
        pk = row.student.pk
        chosen = submitted_marks.get(pk)
        rows.append(
            SheetRow(
                roster=row,
                selected=chosen if chosen in Mark.values else row.current_mark,
                note=submitted_notes.get(pk, row.mark.note if row.mark else ""),
                difference=differences.get(pk),
            )
        )
    counts = roll_counts(r.selected for r in rows)
    last_mark = max((r.mark for r in roster if r.mark), key=lambda m: m.marked_at, default=None)
    if conflict is not None:
        version = conflict.version
    elif version is None:
        version = session.roll_version
    return render(
        request,
        "attendance/rollcall_sheet.html",
        {
            "session": session,
            "rows": rows,
            "marks": Mark.choices,
            "tallies": [(value, label, counts[value]) for value, label in Mark.choices],
            "may_mark": may_teach and not session.is_cancelled and session.date <= timezone.localdate(),
            "may_teach": may_teach,
            "is_future": session.date > timezone.localdate(),
            "is_course": session.offering.is_course,
            "version": version,
            "conflict": conflict,
            "last_mark": last_mark,
            "today_url": _today_url(session),
        },
        status=status,
    )


def _today_url(session: Session) -> str:
    url = reverse("attendance:today")
    if session.date != timezone.localdate():
        url += f"?date={session.date.isoformat()}"
    return url


@login_required
@require_http_methods(["GET", "POST"])
def roll_call(request, pk):
    if request.method == "GET":
        session, may_teach = _session_for_roll_call(request.user, pk)
        return _render_roll_call(request, session, may_teach=may_teach)

    session = get_session_for_user(request.user, pk, action="teach")
    form = RollCallForm(request.POST)
    if not form.is_valid():
        messages.error(request, BAD_FORM)
        return _render_roll_call(request, session, may_teach=True, status=400)
    marks, notes = form.cleaned_data["marks"], form.cleaned_data["notes"]
    try:
        result = roll_call_record(
            actor=request.user,
            session=session,
            marks=marks,
            notes=notes,
            version=form.cleaned_data["version"],
        )
    except RollCallConflict as conflict:
        return _render_roll_call(request, session, may_teach=True, conflict=conflict, status=409)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return _render_roll_call(
            request,
            session,
            may_teach=True,
            submitted=(marks, notes),
            version=form.cleaned_data["version"],
            status=400,
        )
    if result.changed:
        counts = roll_counts(marks.values())
        messages.success(request, SAVED_MESSAGE % counts)
    else:
        messages.success(request, UNCHANGED_MESSAGE)
    return redirect(_today_url(session))


urlpatterns = [
    path("today/", today, name="today"),
    path("sessions/<int:pk>/roll-call/", roll_call, name="roll-call"),
]
