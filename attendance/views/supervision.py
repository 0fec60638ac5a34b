"""Attendance pages: supervision. The teacher's activity record (活动记录表) and its rating, the
records list, the inspector's day with the teachers' attendance, ethics breaches (师德失范),
inspection rounds (巡查) and a teacher's own record of the term.

Inline forms on list pages (rate a record, a teacher's attendance, withdraw a breach, remove a
photo) post to their own URL and come back to the page they were on: with a success message, or
with the error and nothing changed."""

from __future__ import annotations

from datetime import date, datetime

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from aftercare.permissions import require_school_role
from aftercare.roles import TEACHING_ROLES, Role
from aftercare.selectors import current_term
from aftercare.views import add_service_errors

from .. import supervision
from ..models import ActivityRecord, Finding, IncidentKind, Inspection, RecordRating, TeacherPresence
from ..permissions import (
    ETHICS_ROLES,
    INSPECTING_ROLES,
    get_activity_photo_for_user,
    get_ethics_breach_for_user,
    get_inspection_photo_for_user,
    get_session_for_user,
    session_allows,
    session_teacher_ids,
)
from ..sessions import sessions_ensure_for_day
from ..supervision_forms import (
    ActivityRecordForm,
    EthicsBreachForm,
    InspectionFilterForm,
    InspectionForm,
    RateForm,
    ReasonForm,
    RecordFilterForm,
    TeacherAttendanceForm,
)
from ..supervision_selectors import (
    RecordState,
    ethics_breaches,
    finding_summary,
    inspection_day,
    inspections_in,
    my_record,
    record_sessions,
    sessions_matching,
    staff_teachers,
    teachers_of,
    with_finding_labels,
)

PAGE_SIZE = 50
# Anyone on a school's staff has a record of their own (most have none to show unless they teach).
MY_RECORD_ROLES = TEACHING_ROLES | INSPECTING_ROLES | {Role.FINANCE}

RECORD_SAVED = gettext_lazy("活动记录已保存。")
RECORD_SAVED_WITH_PHOTOS = gettext_lazy("活动记录已保存，新增 %(count)d 张照片。")
PHOTO_REMOVED = gettext_lazy("照片已删除。")
RECORD_RATED = gettext_lazy("已将 %(name)s（%(date)s）的活动记录评为“%(rating)s”。")
ATTENDANCE_SAVED = gettext_lazy("已记录 %(teacher)s（%(name)s）：%(presence)s。")
ATTENDANCE_SAVED_LATE = gettext_lazy("已记录 %(teacher)s（%(name)s）：迟到 %(minutes)d 分钟。")
ETHICS_RECORDED = gettext_lazy("已记录 %(teacher)s %(date)s 的师德失范，当月课后服务酬金不予发放。")
ETHICS_WITHDRAWN = gettext_lazy("已撤销 %(teacher)s %(date)s 的师德失范记录。")
INSPECTION_SAVED = gettext_lazy("已记录对 %(name)s 的巡查。")
IMAGE_TYPES = {"jpg": "image/jpeg", "png": "image/png"}


def _error_text(error) -> str:
    """One line from a service's ValidationError or a form's errors, for a flash message."""
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return " ".join(str(message) for messages_ in error.values() for message in messages_)


def _back(request, default: str):
    """Back to the page the inline form was on (``next``, same site only), else ``default``."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(default)


def _image_response(field_file):
    extension = field_file.name.rsplit(".", 1)[-1].lower()
    try:
        handle = field_file.open("rb")
    except FileNotFoundError as error:
        raise Http404 from error
    response = FileResponse(handle, content_type=IMAGE_TYPES.get(extension, "application/octet-stream"))
    # Children's photos: never kept by a shared cache.
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _teachers(session) -> list:
    return list(
        get_user_model().objects.filter(pk__in=session_teacher_ids(session)).order_by("full_name", "username")
    )


def _closed_reason(session) -> str:
    if session.is_cancelled:
        return str(supervision.SESSION_CANCELLED)
    if session.date > timezone.localdate():
        return str(supervision.SESSION_IN_FUTURE)
    return ""


# Activity record ------------------------------------------------------------------------------


def _render_record(request, session, *, form=None, status=200):
    record = ActivityRecord.objects.filter(session=session).select_related("written_by", "rated_by").first()
    closed_reason = _closed_reason(session)
    may_write = not closed_reason and session_allows(request.user, session, "teach")
    may_rate = (
        record is not None and not session.is_cancelled and session_allows(request.user, session, "inspect")
    )
    if form is None and may_write:
        initial = {}
        if record is not None:
            initial = {
                "content": record.content,
                "homework_progress": record.homework_progress,
                "notes": record.notes,
            }
        form = ActivityRecordForm(initial=initial, session=session)
    return render(
        request,
        "attendance/supervision_record.html",
        {
            "session": session,
            "teachers": _teachers(session),
            "record": record,
            "photos": list(record.photos.all()) if record is not None else [],
            "photo_limit": supervision.PHOTOS_PER_RECORD,
            "form": form if may_write else None,
            "closed_reason": closed_reason,
            "may_rate": may_rate,
            "rate_form": RateForm(initial={"rating": record.rating if record else None})
            if may_rate
            else None,
            "RecordRating": RecordRating,
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def record_edit(request, pk):
    if request.method == "GET":
        return _render_record(request, get_session_for_user(request.user, pk, action="view"))
    session = get_session_for_user(request.user, pk, action="teach")
    form = ActivityRecordForm(request.POST, request.FILES, session=session)
    if form.is_valid():
        try:
            supervision.activity_record_write(actor=request.user, session=session, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            photos = len(form.cleaned_data["photos"])
            message = RECORD_SAVED_WITH_PHOTOS % {"count": photos} if photos else RECORD_SAVED
            messages.success(request, message)
            return redirect("attendance:record-edit", pk=session.pk)
    return _render_record(request, session, form=form, status=400)


@login_required
@require_GET
def record_photo(request, pk):
    photo = get_activity_photo_for_user(request.user, pk)
    return _image_response(photo.image)


@login_required
@require_POST
def record_photo_remove(request, pk):
    photo = get_activity_photo_for_user(request.user, pk, action="teach")
    session = photo.record.session
    try:
        supervision.activity_photo_remove(actor=request.user, photo=photo)
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, PHOTO_REMOVED)
    return redirect("attendance:record-edit", pk=session.pk)


@login_required
@require_POST
def record_rate(request, pk):
    session = get_session_for_user(request.user, pk, action="inspect")
    default = reverse("attendance:record-edit", kwargs={"pk": session.pk})
    record = ActivityRecord.objects.filter(session=session).first()
    if record is None:
        messages.error(request, supervision.NO_RECORD_TO_RATE)
        return _back(request, default)
    form = RateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _error_text(form.errors))
        return _back(request, default)
    try:
        record = supervision.activity_record_rate(actor=request.user, record=record, **form.cleaned_data)
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(
            request,
            RECORD_RATED
            % {
                "name": session.offering.name,
                "date": f"{session.date:%m-%d}",
                "rating": record.get_rating_display(),
            },
        )
    return _back(request, default)


@login_required
@require_GET
def record_list(request):
    school = require_school_role(request, *INSPECTING_ROLES)
    filters = RecordFilterForm(request.GET, school=school, today=timezone.localdate())
    start, end = filters.date_range()
    sessions, counts = record_sessions(
        school,
        start=start,
        end=end,
        now=timezone.localtime(),
        state=filters.chosen("state") or "",
        offering=filters.chosen("offering"),
        teacher=filters.chosen("teacher"),
    )
    page = Paginator(sessions, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "attendance/supervision_record_list.html",
        {
            "school": school,
            "filters": filters,
            "start": start,
            "end": end,
            "page": page,
            "rows": [
                {"session": s, "teachers": teachers_of(s), "state_label": RecordState.label(s.record_state)}
                for s in page.object_list
            ],
            "state_counts": [
                {"value": state, "label": RecordState.label(state), "count": counts.get(state, 0)}
                for state in RecordState.LABELS
            ],
            "query": query.urlencode(),
            "here": request.get_full_path(),
            "RecordRating": RecordRating,
        },
    )


# Teachers' attendance ------------------------------------------------------------------------


def _day_from(value: str | None) -> date:
    try:
        return date.fromisoformat(value) if value else timezone.localdate()
    except ValueError:
        return timezone.localdate()


@login_required
@require_GET
def inspection_day_view(request):
    school = require_school_role(request, *INSPECTING_ROLES)
    day = _day_from(request.GET.get("date"))
    sessions_ensure_for_day(school=school, day=day)
    today = timezone.localdate()
    sessions = inspection_day(school, day, now=timezone.localtime())
    # On a phone the day is a long page: the inspector narrows it to a teacher, a course or a class.
    query = (request.GET.get("q") or "").strip()
    if query:
        sessions = sessions_matching(sessions, query)
    return render(
        request,
        "attendance/supervision_day.html",
        {
            "school": school,
            "day": day,
            "today": today,
            "is_future": day > today,
            "previous_day": date.fromordinal(day.toordinal() - 1),
            "next_day": date.fromordinal(day.toordinal() + 1),
            "query": query,
            "sessions": sessions,
            "presences": TeacherPresence.choices,
            "incidents": [choice for choice in IncidentKind.choices if choice[0]],
            "LATE": TeacherPresence.LATE,
        },
    )


@login_required
@require_POST
def teacher_attendance_record(request, pk, teacher_pk):
    session = get_session_for_user(request.user, pk, action="inspect")
    teacher = get_object_or_404(get_user_model(), pk=teacher_pk)
    default = f"{reverse('attendance:inspection-day')}?date={session.date.isoformat()}#session-{session.pk}"
    form = TeacherAttendanceForm(request.POST)
    if not form.is_valid():
        messages.error(request, _error_text(form.errors))
        return _back(request, default)
    try:
        row = supervision.teacher_attendance_record(
            actor=request.user, session=session, teacher=teacher, **form.cleaned_data
        )
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        names = {"teacher": teacher.display_name, "name": session.offering.name}
        if row.presence == TeacherPresence.LATE:
            messages.success(request, ATTENDANCE_SAVED_LATE % {**names, "minutes": row.late_minutes})
        else:
            messages.success(request, ATTENDANCE_SAVED % {**names, "presence": row.get_presence_display()})
    return _back(request, default)


# Ethics breaches ------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def ethics_list(request):
    school = require_school_role(request, *ETHICS_ROLES)
    form = EthicsBreachForm(request.POST or None, teachers=staff_teachers(school))
    if request.method == "POST" and form.is_valid():
        try:
            breach = supervision.ethics_breach_record(actor=request.user, school=school, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                ETHICS_RECORDED % {"teacher": breach.teacher.display_name, "date": breach.date.isoformat()},
            )
            return redirect("attendance:ethics-list")
    return render(
        request,
        "attendance/supervision_ethics.html",
        {"school": school, "form": form, "breaches": ethics_breaches(school)},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def ethics_withdraw(request, pk):
    breach = get_ethics_breach_for_user(request.user, pk)
    form = ReasonForm(request.POST)
    back = f"{reverse('attendance:ethics-list')}#breach-{breach.pk}"
    if not form.is_valid():
        messages.error(request, _error_text(form.errors))
        return redirect(back)
    try:
        supervision.ethics_breach_withdraw(
            actor=request.user, breach=breach, reason=form.cleaned_data["reason"]
        )
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(
            request,
            ETHICS_WITHDRAWN % {"teacher": breach.teacher.display_name, "date": breach.date.isoformat()},
        )
    return redirect(back)


# Inspections ----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def inspection_create(request, pk):
    session = get_session_for_user(request.user, pk, action="inspect")
    form = InspectionForm(request.POST or None, request.FILES or None, session=session)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        inspected_at = timezone.make_aware(datetime.combine(session.date, data["inspected_at"]))
        try:
            supervision.inspection_record(
                actor=request.user,
                session=session,
                inspected_at=inspected_at,
                findings=data["findings"],
                description=data["description"],
                photo=data["photo"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, INSPECTION_SAVED % {"name": session.offering.name})
            return redirect(f"{reverse('attendance:inspection-day')}?date={session.date.isoformat()}")
    return render(
        request,
        "attendance/supervision_inspection_form.html",
        {
            "session": session,
            "teachers": _teachers(session),
            "record": ActivityRecord.objects.filter(session=session).first(),
            "closed_reason": str(supervision.SESSION_CANCELLED) if session.is_cancelled else "",
            "inspections": with_finding_labels(
                Inspection.objects.filter(session=session)
                .select_related("inspector")
                .order_by("-inspected_at")
            ),
            "form": form,
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_GET
def inspection_list(request):
    school = require_school_role(request, *INSPECTING_ROLES)
    filters = InspectionFilterForm(request.GET, school=school, today=timezone.localdate())
    start, end = filters.date_range()
    rounds = inspections_in(
        school,
        start=start,
        end=end,
        offering=filters.chosen("offering"),
        teacher=filters.chosen("teacher"),
        with_findings=bool(filters.chosen("with_findings")),
    )
    page = Paginator(rounds, PAGE_SIZE).get_page(request.GET.get("page"))
    per_teacher, per_course = finding_summary(school, start=start, end=end)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "attendance/supervision_inspection_list.html",
        {
            "school": school,
            "filters": filters,
            "start": start,
            "end": end,
            "page": page,
            "rounds": with_finding_labels(page.object_list),
            "per_teacher": per_teacher,
            "per_course": per_course,
            "finding_labels": Finding.labels,
            "query": query.urlencode(),
            "range_query": f"start={start.isoformat()}&end={end.isoformat()}&with_findings=on",
        },
    )


@login_required
@require_GET
def inspection_photo(request, pk):
    inspection = get_inspection_photo_for_user(request.user, pk)
    return _image_response(inspection.photo)


# My record --------------------------------------------------------------------------------------


@login_required
@require_GET
def my_record_view(request):
    school = require_school_role(request, *MY_RECORD_ROLES)
    return render(
        request,
        "attendance/supervision_mine.html",
        {
            "school": school,
            "mine": my_record(request.user, current_term(school), now=timezone.localtime()),
            "RecordState": RecordState,
        },
    )


urlpatterns = [
    path("sessions/<int:pk>/record/", record_edit, name="record-edit"),
    path("sessions/<int:pk>/record/rate/", record_rate, name="record-rate"),
    path("record-photos/<int:pk>/", record_photo, name="record-photo"),
    path("record-photos/<int:pk>/remove/", record_photo_remove, name="record-photo-remove"),
    path("records/", record_list, name="record-list"),
    path("inspection/", inspection_day_view, name="inspection-day"),
    path(
        "sessions/<int:pk>/teachers/<int:teacher_pk>/attendance/",
        teacher_attendance_record,
        name="teacher-attendance-record",
    ),
    path("ethics/", ethics_list, name="ethics-list"),
    path("ethics/<int:pk>/withdraw/", ethics_withdraw, name="ethics-withdraw"),
    path("sessions/<int:pk>/inspect/", inspection_create, name="inspection-create"),
    path("inspections/", inspection_list, name="inspection-list"),
    path("inspections/<int:pk>/photo/", inspection_photo, name="inspection-photo"),
    path("mine/", my_record_view, name="my-record"),
]
