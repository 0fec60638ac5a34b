"""Attendance pages: cases. The follow-up of children missing without leave (无故脱管, 篇九: reported
and followed up): the school's dashboard of open cases and one case with what happened."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from aftercare.models import Guardian
from aftercare.permissions import access_for, require_school_role, shown_phone
from aftercare.roles import Role
from aftercare.views import add_service_errors

from ..alerts import absence_case_close
from ..models import AbsenceCase, CaseOutcome, CaseStatus, ChildAttendance
from ..permissions import INSPECTING_ROLES, get_case_for_user, sees_whole_school

CLOSED_MESSAGE = gettext_lazy("已记录%(name)s的处理结果：%(outcome)s。")
CLOSED_PER_PAGE = 50


class CaseCloseForm(forms.Form):
    outcome = forms.ChoiceField(
        label=gettext_lazy("处理结果"), choices=CaseOutcome.choices, widget=forms.RadioSelect
    )
    note = forms.CharField(
        label=gettext_lazy("处理说明"),
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("选择“其他”时必填。"),
    )


@dataclass
class GuardianLine:
    guardian: Guardian
    phone: str
    may_call: bool  # the number is shown in full


def _guardian_lines(user, student) -> list[GuardianLine]:
    lines = []
    for guardian in student.guardians.all():
        phone = shown_phone(user, student, guardian.phone)
        lines.append(GuardianLine(guardian=guardian, phone=phone, may_call=phone == guardian.phone))
    return lines


def _cases_with_families():
    return AbsenceCase.objects.select_related(
        "session__offering", "student__classroom", "closed_by"
    ).prefetch_related(Prefetch("student__guardians", queryset=Guardian.objects.order_by("pk")))


# The dashboard --------------------------------------------------------------------------------


@login_required
@require_GET
def case_list(request):
    school = require_school_role(request, *INSPECTING_ROLES, Role.HOMEROOM_TEACHER)
    cases = _cases_with_families().filter(school=school)
    if not sees_whole_school(request.user, school.pk):
        # A homeroom teacher follows up the children of their own classes.
        classroom_ids = access_for(request.user).schools[school.pk].homeroom_classroom_ids
        cases = cases.filter(student__classroom_id__in=classroom_ids)
    showing_closed = request.GET.get("status") == CaseStatus.CLOSED
    today = timezone.localdate()
    page = None
    if showing_closed:
        page = Paginator(
            cases.filter(status=CaseStatus.CLOSED).order_by("-closed_at", "-pk"), CLOSED_PER_PAGE
        ).get_page(request.GET.get("page"))
        groups = [(_("已处理"), list(page.object_list))]
    else:
        open_cases = list(
            cases.filter(status=CaseStatus.OPEN).order_by("-session__date", "-opened_at", "-pk")
        )
        groups = [
            (_("今天"), [case for case in open_cases if case.session.date == today]),
            (_("更早"), [case for case in open_cases if case.session.date != today]),
        ]
    for _title, rows in groups:
        for case in rows:
            case.guardian_lines = _guardian_lines(request.user, case.student)
    return render(
        request,
        "attendance/cases_list.html",
        {
            "school": school,
            "groups": groups,
            "showing_closed": showing_closed,
            "page": page,
            "now": timezone.now(),
        },
    )


# One case -------------------------------------------------------------------------------------


@dataclass
class HistoryLine:
    at: datetime
    by: object
    text: str


def _history_lines(case: AbsenceCase) -> list[HistoryLine]:
    lines = []
    previous = None
    for record in case.history.select_related("history_user").order_by("history_date", "history_id"):
        if record.status == CaseStatus.OPEN:
            text = _("发现缺勤，开始跟踪") if previous is None else _("再次点名缺勤，重新跟踪")
        else:
            text = _("处理结果：%(outcome)s") % {
                "outcome": CaseOutcome(record.outcome).label if record.outcome else "—"
            }
            if record.outcome_note:
                text += _("（%(note)s）") % {"note": record.outcome_note}
        lines.append(HistoryLine(at=record.history_date, by=record.history_user, text=text))
        previous = record
    return lines


def _case_for_detail(user, pk) -> tuple[AbsenceCase, bool]:
    """The case, and whether ``user`` may record what happened (the school: yes; a guardian: reads)."""
    try:
        return get_case_for_user(user, pk, for_write=True), True
    except PermissionDenied:
        return get_case_for_user(user, pk), False


def _render_case(request, case: AbsenceCase, *, may_record: bool, form, status=200):
    case = _cases_with_families().get(pk=case.pk)
    mark = (
        ChildAttendance.objects.filter(session_id=case.session_id, student_id=case.student_id)
        .select_related("marked_by")
        .first()
    )
    return render(
        request,
        "attendance/cases_detail.html",
        {
            "case": case,
            "mark": mark,
            "guardian_lines": _guardian_lines(request.user, case.student),
            "history": _history_lines(case),
            "may_record": may_record and case.is_open,
            "form": form,
            "now": timezone.now(),
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def case_detail(request, pk):
    if request.method == "GET":
        case, may_record = _case_for_detail(request.user, pk)
        return _render_case(request, case, may_record=may_record, form=CaseCloseForm())

    case = get_case_for_user(request.user, pk, for_write=True)
    form = CaseCloseForm(request.POST)
    if form.is_valid():
        try:
            closed = absence_case_close(actor=request.user, case=case, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request, CLOSED_MESSAGE % {"name": case.student.name, "outcome": closed.get_outcome_display()}
            )
            return redirect("attendance:case-list")
    return _render_case(request, case, may_record=True, form=form, status=400)


urlpatterns = [
    path("cases/", case_list, name="case-list"),
    path("cases/<int:pk>/", case_detail, name="case-detail"),
]
