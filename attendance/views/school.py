"""Attendance pages: school. The leaders' day overview, cancelling a session, the printable roll sheet
(考勤表) and its PDF, and the Excel exports of children's and teachers' attendance."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from aftercare.jobs import job_start
from aftercare.models import Classroom, Term
from aftercare.permissions import access_for, require_school_role
from aftercare.roles import Role
from aftercare.selectors import current_term
from aftercare.views import add_service_errors
from catalogue.calendar_rules import WEEKDAY_NAMES
from catalogue.models import Offering

from .. import selectors
from ..export_jobs import EXPORT_CHILDREN, EXPORT_TEACHERS, ROLL_SHEET_PDF
from ..permissions import (
    CANCELLING_ROLES,
    SCOPE_CLASS,
    SCOPE_OFFERING,
    SCOPE_SCHOOL,
    ChildrenExportScope,
    children_export_rights,
    get_session_for_user,
    may_export_children,
    may_export_teachers,
    session_allows,
    taught_by,
)
from ..sessions import CANCEL_REASON_REQUIRED, session_cancel, sessions_ensure_for_day

OVERVIEW_ROLES = (Role.PRINCIPAL, Role.ADMINISTRATOR, Role.INSPECTOR)
EXPORT_PAGE_ROLES = (
    Role.PRINCIPAL,
    Role.ADMINISTRATOR,
    Role.INSPECTOR,
    Role.HOMEROOM_TEACHER,
    Role.SERVICE_TEACHER,
    Role.PROVIDER_STAFF,
)

CANCELLED_MESSAGE = _("已取消%(date)s的%(name)s，家长和任课教师会收到通知。")
NO_TERM_MESSAGE = _("当前没有学期，无法导出。")
CLASS_REQUIRED = _("请选择班级。")
OFFERING_REQUIRED = _("请选择项目。")
DATES_REVERSED = _("开始日期不能晚于结束日期。")
DATES_OUTSIDE_TERM = _("日期须在本学期内（%(starts)s 至 %(ends)s）。")
DAY_INVALID = _("日期格式不正确，请按 2026-10-12 的格式填写。")


# Forms -----------------------------------------------------------------------------------------


class DayForm(forms.Form):
    date = forms.DateField(label=_("日期"), required=False, error_messages={"invalid": DAY_INVALID})


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("取消原因（家长和任课教师会收到这条说明）"),
        max_length=200,
        error_messages={"required": CANCEL_REASON_REQUIRED},
    )


SCOPE_LABELS = {
    SCOPE_CLASS: _("一个班级（基础托管和本班学生参加的特色课程）"),
    SCOPE_OFFERING: _("一个项目"),
    SCOPE_SCHOOL: _("全校"),
}


class ChildrenExportForm(forms.Form):
    """Any class or offering of the school's term parses; the page asks the policy afterwards, so a
    scope the person may not export is refused (403) rather than mistaken for a typo."""

    scope = forms.ChoiceField(label=_("范围"), choices=list(SCOPE_LABELS.items()), widget=forms.RadioSelect)
    classroom = forms.ModelChoiceField(label=_("班级"), queryset=Classroom.objects.none(), required=False)
    offering = forms.ModelChoiceField(label=_("项目"), queryset=Offering.objects.none(), required=False)
    date_from = forms.DateField(label=_("开始日期"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("结束日期"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, term: Term, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.term = term
        classrooms = Classroom.objects.filter(school_id=term.school_id).order_by("grade", "number")
        offerings = (
            Offering.objects.filter(term=term)
            .select_related("classroom")
            .order_by("kind", "classroom__grade", "classroom__number", "name")
        )
        self.fields["classroom"].queryset = classrooms
        self.fields["offering"].queryset = offerings
        # What is offered to choose from is what the person may export (the policy decides).
        rights = children_export_rights(user, school_id=term.school_id)
        own_classrooms = [c for c in classrooms if rights.allows_classroom(c.pk)]
        own_offerings = list(
            offerings if rights.any_offering else offerings.filter(taught_by(user)).distinct()
        )
        self.fields["classroom"].widget.choices = [("", "---------")] + [
            (c.pk, c.name) for c in own_classrooms
        ]
        self.fields["offering"].widget.choices = [("", "---------")] + [(o.pk, o.name) for o in own_offerings]
        scopes = []
        if own_classrooms:
            scopes.append(SCOPE_CLASS)
        if own_offerings:
            scopes.append(SCOPE_OFFERING)
        if rights.whole_school:
            scopes.append(SCOPE_SCHOOL)
        self.fields["scope"].widget.choices = [(scope, SCOPE_LABELS[scope]) for scope in scopes]
        self.offered_scopes = scopes

    def clean(self):
        data = super().clean()
        scope = data.get("scope")
        if scope == SCOPE_CLASS and not data.get("classroom"):
            self.add_error("classroom", CLASS_REQUIRED)
        if scope == SCOPE_OFFERING and not data.get("offering"):
            self.add_error("offering", OFFERING_REQUIRED)
        date_from, date_to = data.get("date_from"), data.get("date_to")
        if date_from and date_to:
            if date_from > date_to:
                self.add_error("date_to", DATES_REVERSED)
            elif date_from < self.term.starts_on or date_to > self.term.ends_on:
                self.add_error(
                    None,
                    DATES_OUTSIDE_TERM
                    % {"starts": self.term.starts_on.isoformat(), "ends": self.term.ends_on.isoformat()},
                )
        return data

    def export_scope(self) -> ChildrenExportScope:
        data = self.cleaned_data
        kind = data["scope"]
        return ChildrenExportScope(
            kind=kind,
            classroom=data["classroom"] if kind == SCOPE_CLASS else None,
            offering=data["offering"] if kind == SCOPE_OFFERING else None,
        )


class TeachersExportForm(forms.Form):
    term = forms.ModelChoiceField(label=_("学期"), queryset=Term.objects.none(), required=False)

    def __init__(self, *args, school, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["term"].queryset = Term.objects.filter(school=school).order_by("-starts_on")


# The day overview ------------------------------------------------------------------------------


@login_required
@require_GET
def day_overview(request):
    school = require_school_role(request, *OVERVIEW_ROLES)
    today = timezone.localdate()
    form = DayForm(request.GET or None)
    day, status = today, 200
    if form.is_bound:
        if form.is_valid():
            day = form.cleaned_data["date"] or today
        else:
            status = 400
    sessions_ensure_for_day(school=school, day=day)
    overview = selectors.day_overview(school=school, day=day)
    attention_only = request.GET.get("show") == "attention"
    rows = overview.rows_needing_attention if attention_only else overview.rows
    roles = access_for(request.user).roles_at(school.pk)
    return render(
        request,
        "attendance/school_day.html",
        {
            "school": school,
            "form": form,
            "overview": overview,
            "rows": rows,
            "attention_only": attention_only,
            "attention_count": len(overview.rows_needing_attention),
            "day": day,
            "weekday": WEEKDAY_NAMES[day.weekday()],
            "today": today,
            "previous_day": day - timedelta(days=1),
            "next_day": day + timedelta(days=1),
            "may_cancel": bool(roles & CANCELLING_ROLES),
            "may_export_teachers": may_export_teachers(request.user, school=school),
        },
        status=status,
    )


def _day_url(day) -> str:
    return f"{reverse('attendance:day-overview')}?{urlencode({'date': day.isoformat()})}"


# Cancelling ------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def session_cancel_view(request, pk):
    session = get_session_for_user(request.user, pk, action="cancel")
    form = CancelForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                session_cancel(actor=request.user, session=session, reason=form.cleaned_data["reason"])
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(
                    request,
                    CANCELLED_MESSAGE % {"date": f"{session.date:%m月%d日}", "name": session.offering.name},
                )
                return redirect(_day_url(session.date))
        status = 400
    return render(
        request,
        "attendance/school_cancel.html",
        {"session": session, "form": form, "day_url": _day_url(session.date)},
        status=status,
    )


# The roll sheet --------------------------------------------------------------------------------


@login_required
@require_GET
def roll_sheet(request, pk):
    session = get_session_for_user(request.user, pk, action="view")
    return render(
        request,
        "attendance/school_roll_sheet.html",
        {
            "sheet": selectors.roll_sheet(session),
            "printed_at": timezone.localtime(),
            "may_see_day": session_allows(request.user, session, "inspect"),
            "day_url": _day_url(session.date),
        },
    )


@login_required
@require_POST
def roll_sheet_pdf(request, pk):
    session = get_session_for_user(request.user, pk, action="view")
    job = job_start(
        actor=request.user, school=session.school, kind=ROLL_SHEET_PDF, params={"session_id": session.pk}
    )
    return redirect("core:job-detail", pk=job.pk)


# Exports ---------------------------------------------------------------------------------------


def _render_exports(request, school, term, *, form=None, teachers_form=None, status=200):
    may_teachers = may_export_teachers(request.user, school=school)
    if term is not None and form is None:
        form = ChildrenExportForm(
            term=term,
            user=request.user,
            initial={"date_from": term.starts_on, "date_to": min(timezone.localdate(), term.ends_on)},
        )
    if may_teachers and teachers_form is None:
        teachers_form = TeachersExportForm(school=school, initial={"term": term})
    return render(
        request,
        "attendance/school_exports.html",
        {
            "school": school,
            "term": term,
            "form": form,
            "teachers_form": teachers_form if may_teachers else None,
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def export_children(request):
    school = require_school_role(request, *EXPORT_PAGE_ROLES)
    term = current_term(school)
    if request.method == "GET":
        return _render_exports(request, school, term)
    if term is None:
        messages.error(request, NO_TERM_MESSAGE)
        return redirect("attendance:export-children")
    form = ChildrenExportForm(request.POST, term=term, user=request.user)
    if not form.is_valid():
        return _render_exports(request, school, term, form=form, status=400)
    scope = form.export_scope()
    if not may_export_children(request.user, school=school, scope=scope):
        raise PermissionDenied
    data = form.cleaned_data
    job = job_start(
        actor=request.user,
        school=school,
        kind=EXPORT_CHILDREN,
        params={
            "term_id": term.pk,
            "scope": scope.kind,
            "classroom_id": scope.classroom.pk if scope.classroom else None,
            "offering_id": scope.offering.pk if scope.offering else None,
            "date_from": data["date_from"].isoformat(),
            "date_to": data["date_to"].isoformat(),
        },
    )
    return redirect("core:job-detail", pk=job.pk)


@login_required
@require_POST
def export_teachers(request):
    school = require_school_role(request, *OVERVIEW_ROLES)
    form = TeachersExportForm(request.POST, school=school)
    if not form.is_valid():
        return _render_exports(request, school, current_term(school), teachers_form=form, status=400)
    term = form.cleaned_data["term"] or current_term(school)
    if term is None:
        messages.error(request, NO_TERM_MESSAGE)
        return redirect("attendance:export-children")
    job = job_start(
        actor=request.user,
        school=school,
        kind=EXPORT_TEACHERS,
        params={"term_id": term.pk, "date_to": min(timezone.localdate(), term.ends_on).isoformat()},
    )
    return redirect("core:job-detail", pk=job.pk)


urlpatterns = [
    path("day/", day_overview, name="day-overview"),
    path("sessions/<int:pk>/cancel/", session_cancel_view, name="session-cancel"),
    path("sessions/<int:pk>/sheet/", roll_sheet, name="roll-sheet"),
    path("sessions/<int:pk>/sheet.pdf", roll_sheet_pdf, name="roll-sheet-pdf"),
    path("exports/children/", export_children, name="export-children"),
    path("exports/teachers/", export_teachers, name="export-teachers"),
]
