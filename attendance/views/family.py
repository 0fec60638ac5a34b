"""Attendance pages: the family's side (a guardian's children: leave, attendance, hand-overs, open
cases, pick-up people) and the school's list of leave."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from aftercare.permissions import access_for, active_school_id, require_school_role, shown_phone
from aftercare.roles import Role
from aftercare.views import add_service_errors

from .. import family
from ..models import LeaveKind, PickupArrangement, PickupPerson
from ..permissions import get_leave_for_user, get_own_child, sees_whole_school

LEAVE_CREATED = gettext_lazy("已提交：%(name)s %(leave)s。班主任和任课老师会收到通知。")
LEAVE_CANCELLED = gettext_lazy("已撤销：%(name)s %(leave)s。")
PERSON_ADDED = gettext_lazy("已添加授权接送人 %(person)s。")
PERSON_REMOVED = gettext_lazy("已移除授权接送人 %(person)s。")
ALONE_ALLOWED = gettext_lazy("已允许 %(name)s 自行回家。")
ALONE_NOT_ALLOWED = gettext_lazy("%(name)s 须由家长或授权接送人接走。")
DATE_INVALID = gettext_lazy("请输入正确的日期。")
TIME_INVALID = gettext_lazy("请输入正确的时间。")
UNKNOWN_ACTION = gettext_lazy("请重新操作。")

LEAVE_LIST_ROLES = (
    Role.HOMEROOM_TEACHER,
    Role.SERVICE_TEACHER,
    Role.PROVIDER_STAFF,
    Role.INSPECTOR,
    Role.PRINCIPAL,
    Role.ADMINISTRATOR,
)


# Forms -----------------------------------------------------------------------------------------


class LeaveForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("类型"),
        choices=LeaveKind.choices,
        error_messages={"required": family.LEAVE_KIND_UNKNOWN, "invalid_choice": family.LEAVE_KIND_UNKNOWN},
    )
    starts_on = forms.DateField(
        label=gettext_lazy("日期"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": family.LEAVE_START_REQUIRED, "invalid": DATE_INVALID},
    )
    ends_on = forms.DateField(
        label=gettext_lazy("结束日期（请假多天时填写）"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": DATE_INVALID},
    )
    pickup_at = forms.TimeField(
        label=gettext_lazy("接走时间"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"invalid": TIME_INVALID},
    )
    reason = forms.CharField(
        label=gettext_lazy("事由"),
        max_length=200,
        error_messages={"required": family.LEAVE_REASON_REQUIRED},
    )


class LeaveFilterForm(forms.Form):
    date = forms.DateField(
        label=gettext_lazy("日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": DATE_INVALID},
    )


class PickupPersonForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("姓名"), max_length=50, error_messages={"required": family.PICKUP_NAME_REQUIRED}
    )
    relation = forms.CharField(
        label=gettext_lazy("与孩子的关系"),
        max_length=20,
        help_text=gettext_lazy("如：外婆、姑姑、邻居"),
        error_messages={"required": family.PICKUP_RELATION_REQUIRED},
    )
    phone = forms.CharField(
        label=gettext_lazy("手机号码"),
        max_length=11,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "numeric", "autocomplete": "off"}),
        error_messages={"required": family.PICKUP_PHONE_INVALID},
    )


class PickupRemoveForm(forms.Form):
    person = forms.IntegerField(min_value=1)


class ArrangementForm(forms.Form):
    may_go_home_alone = forms.BooleanField(label=gettext_lazy("允许孩子自行回家"), required=False)


# Family home -----------------------------------------------------------------------------------


def _family_child_ids(request) -> frozenset[int]:
    """The guardian's children at the school they act for; a guardian acting for a school where
    they are staff only still sees all their children. Nobody else reaches the page."""
    access = access_for(request.user)
    school_access = access.schools.get(active_school_id(request))
    if school_access is not None and Role.PARENT in school_access.roles:
        return school_access.child_ids
    if access.child_ids:
        return access.child_ids
    raise PermissionDenied


def _with_shown_phones(user, records) -> list:
    for record in records:
        for person in [*record.guardians, *record.pickup_people]:
            person.shown_phone = shown_phone(user, record.student, person.phone)
    return records


@login_required
@require_GET
def family_home(request):
    records = family.family_records(_family_child_ids(request))
    return render(
        request,
        "attendance/family_home.html",
        {"records": _with_shown_phones(request.user, records), "recent_days": family.RECENT_DAYS},
    )


# Leave -----------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def leave_create(request, student_pk):
    student = get_own_child(request.user, student_pk)
    form = LeaveForm(
        request.POST if request.method == "POST" else None,
        initial={"kind": LeaveKind.ABSENT, "starts_on": timezone.localdate()},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        early = data["kind"] == LeaveKind.EARLY_PICKUP
        try:
            leave = family.leave_request_create(
                actor=request.user,
                student=student,
                kind=data["kind"],
                starts_on=data["starts_on"],
                # The page hides the fields of the other kind; a value left in them does not count.
                ends_on=None if early else data["ends_on"],
                pickup_at=data["pickup_at"] if early else None,
                reason=data["reason"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request, LEAVE_CREATED % {"name": student.name, "leave": family.leave_label(leave)}
            )
            return redirect("attendance:family-home")
    return render(
        request,
        "attendance/family_leave_form.html",
        {
            "student": student,
            "form": form,
            "kinds": LeaveKind.choices,
            "leaves": list(family.current_leaves([student.pk], today=timezone.localdate())),
        },
        status=400 if form.is_bound else 200,
    )


@login_required
@require_POST
def leave_cancel(request, pk):
    leave = get_leave_for_user(request.user, pk)
    try:
        family.leave_request_cancel(actor=request.user, leave=leave)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, LEAVE_CANCELLED % {"name": leave.student.name, "leave": family.leave_label(leave)}
        )
    return redirect("attendance:family-home")


@login_required
@require_GET
def leave_list(request):
    school = require_school_role(request, *LEAVE_LIST_ROLES)
    school_access = access_for(request.user).schools[school.pk]
    today = timezone.localdate()
    form = LeaveFilterForm(request.GET or None)
    day = form.cleaned_data["date"] if form.is_valid() else None
    leaves = family.school_leaves(
        school=school,
        today=today,
        day=day,
        whole_school=sees_whole_school(request.user, school.pk),
        classroom_ids=school_access.homeroom_classroom_ids,
        teacher=request.user,
    )
    return render(
        request,
        "attendance/family_leave_list.html",
        {"school": school, "form": form, "day": day, "today": today, "leaves": list(leaves)},
        status=400 if form.is_bound and not form.is_valid() else 200,
    )


# Pick-up people --------------------------------------------------------------------------------


def _render_pickup(request, student, *, add_form=None, arrangement_form=None, remove_error=None, status=200):
    arrangement = PickupArrangement.objects.filter(student=student).first()
    people = list(PickupPerson.objects.filter(student=student, is_active=True).order_by("pk"))
    guardians = list(student.guardians.order_by("pk"))
    for person in [*guardians, *people]:
        person.shown_phone = shown_phone(request.user, student, person.phone)
    may_go_home_alone = arrangement is not None and arrangement.may_go_home_alone
    return render(
        request,
        "attendance/family_pickup.html",
        {
            "student": student,
            "guardians": guardians,
            "people": people,
            "may_add": len(people) < family.MAX_PICKUP_PEOPLE,
            "max_people": family.MAX_PICKUP_PEOPLE,
            "add_form": add_form or PickupPersonForm(),
            "arrangement_form": arrangement_form
            or ArrangementForm(initial={"may_go_home_alone": may_go_home_alone}),
            "may_go_home_alone": may_go_home_alone,
            "remove_error": remove_error,
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def pickup_edit(request, student_pk):
    student = get_own_child(request.user, student_pk)
    if request.method == "GET":
        return _render_pickup(request, student)
    action = request.POST.get("action")
    if action == "add":
        form = PickupPersonForm(request.POST)
        if form.is_valid():
            try:
                person = family.pickup_person_add(actor=request.user, student=student, **form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, PERSON_ADDED % {"person": person})
                return redirect("attendance:pickup-edit", student_pk=student.pk)
        return _render_pickup(request, student, add_form=form, status=400)
    if action == "remove":
        form = PickupRemoveForm(request.POST)
        if not form.is_valid():
            return _render_pickup(request, student, remove_error=str(UNKNOWN_ACTION), status=400)
        person = PickupPerson.objects.filter(pk=form.cleaned_data["person"], student=student).first()
        if person is None:
            raise Http404
        try:
            family.pickup_person_remove(actor=request.user, person=person)
        except ValidationError as error:
            return _render_pickup(request, student, remove_error=" ".join(error.messages), status=400)
        messages.success(request, PERSON_REMOVED % {"person": person})
        return redirect("attendance:pickup-edit", student_pk=student.pk)
    if action == "alone":
        form = ArrangementForm(request.POST)
        # A checkbox: left out of the POST means "not allowed"; the form cannot be invalid.
        allowed = form.is_valid() and form.cleaned_data["may_go_home_alone"]
        family.pickup_arrangement_update(actor=request.user, student=student, may_go_home_alone=allowed)
        messages.success(request, (ALONE_ALLOWED if allowed else ALONE_NOT_ALLOWED) % {"name": student.name})
        return redirect("attendance:pickup-edit", student_pk=student.pk)
    return _render_pickup(request, student, remove_error=str(UNKNOWN_ACTION), status=400)


urlpatterns = [
    path("family/", family_home, name="family-home"),
    path("family/children/<int:student_pk>/leave/new/", leave_create, name="leave-create"),
    path("family/children/<int:student_pk>/pickup/", pickup_edit, name="pickup-edit"),
    path("leave/", leave_list, name="leave-list"),
    path("leave/<int:pk>/cancel/", leave_cancel, name="leave-cancel"),
]
