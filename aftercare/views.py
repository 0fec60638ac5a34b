from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import selectors, services
from .forms import JoinAnotherChildForm, JoinForm, StaffCreateForm, StaffEditForm
from .job_kinds import INVITATION_LETTERS
from .jobs import job_start
from .models import Guardian, Notification, School
from .notifications import notifications_mark_read
from .permissions import (
    ACTIVE_SCHOOL_SESSION_KEY,
    access_for,
    active_school_id,
    get_classroom_for_user,
    get_job_for_user,
    get_staff_for_user,
    get_student_for_user,
    may_manage_classroom,
    may_see_full_phone,
    require_district_role,
    require_school_role,
    shown_phone,
)
from .roles import SCHOOL_LEADERS, Role


def add_service_errors(form, error: ValidationError) -> None:
    """Show a service's validation error on the form it came from."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


# Home ------------------------------------------------------------------------------------------


@login_required
@require_GET
def home(request):
    access = access_for(request.user)
    school_id = active_school_id(request)
    roles = access.roles_at(school_id)
    school = School.objects.select_related("district").filter(pk=school_id).first() if school_id else None
    context = {
        "school": school,
        "roles": roles,
        "Role": Role,
        "unread_count": Notification.objects.filter(user=request.user, read_at__isnull=True).count(),
    }
    if school is not None:
        context["term"] = selectors.current_term(school)
        if roles & SCHOOL_LEADERS:
            context["counts"] = selectors.school_counts(school)
        homeroom_ids = access.schools[school_id].homeroom_classroom_ids
        if homeroom_ids:
            context["homeroom_classrooms"] = list(
                selectors.classrooms_with_counts(school, only_ids=homeroom_ids)
            )
        from attendance.selectors import home_day

        context["day"] = home_day(request.user, school=school, roles=roles)
        committee_ids = access.schools[school_id].committee_classroom_ids
        if committee_ids:
            context["committee_classrooms"] = list(
                selectors.classrooms_with_counts(school, only_ids=committee_ids)
            )
    if access.child_ids:
        context["children"] = list(selectors.children_of(request.user))
    if access.district_ids:
        context["district_schools"] = list(selectors.district_schools(access.district_ids))
    return render(request, "aftercare/home.html", context)


@login_required
@require_POST
def switch_school(request):
    try:
        school_id = int(request.POST.get("school", ""))
    except ValueError:
        school_id = None
    if school_id not in access_for(request.user).schools:
        raise Http404
    request.session[ACTIVE_SCHOOL_SESSION_KEY] = school_id
    return redirect("home")


# Joining as a guardian -------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def join(request):
    signed_in = request.user.is_authenticated
    form_class = JoinAnotherChildForm if signed_in else JoinForm
    form = form_class(request.POST or None, initial={"code": request.GET.get("code", "")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if signed_in:
                guardian = services.guardian_join(
                    code=data["code"], relation=data["relation"], user=request.user
                )
            else:
                guardian = services.guardian_join(
                    code=data["code"],
                    relation=data["relation"],
                    username=data["username"],
                    full_name=data["full_name"],
                    phone=data["phone"],
                    password=data["password1"],
                )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if not signed_in:
                login(request, guardian.user, backend="aftercare.auth_backends.UsernameOrPhoneBackend")
            request.session[ACTIVE_SCHOOL_SESSION_KEY] = guardian.student.school_id
            messages.success(request, _("已关联学生 %(name)s。") % {"name": guardian.student.name})
            return redirect("home")
    return render(request, "aftercare/join.html", {"form": form, "signed_in": signed_in})


# Classes and students --------------------------------------------------------------------------


@login_required
@require_GET
def classroom_list(request):
    school = require_school_role(request, Role.PRINCIPAL, Role.ADMINISTRATOR, Role.HOMEROOM_TEACHER)
    roles = access_for(request.user).roles_at(school.pk)
    only_ids = None
    if not roles & SCHOOL_LEADERS:
        only_ids = access_for(request.user).schools[school.pk].homeroom_classroom_ids
    classrooms = selectors.classrooms_with_counts(school, only_ids=only_ids)
    return render(request, "aftercare/classroom_list.html", {"school": school, "classrooms": classrooms})


@login_required
@require_GET
def classroom_detail(request, pk):
    classroom = get_classroom_for_user(request.user, pk)
    students = list(selectors.classroom_roster(classroom))
    for student in students:
        student.guardian_rows = [
            {"guardian": g, "phone": shown_phone(request.user, student, g.phone)}
            for g in student.guardians.all()
        ]
    may_manage = may_manage_classroom(request.user, classroom)
    return render(
        request,
        "aftercare/classroom_detail.html",
        {"classroom": classroom, "students": students, "may_manage": may_manage},
    )


@login_required
@require_POST
def classroom_invitation_letters(request, pk):
    classroom = get_classroom_for_user(request.user, pk, for_write=True)
    job = job_start(
        actor=request.user,
        school=classroom.school,
        kind=INVITATION_LETTERS,
        params={"classroom_id": classroom.pk, "join_url": request.build_absolute_uri(reverse("join"))},
    )
    return redirect("core:job-detail", pk=job.pk)


@login_required
@require_GET
def student_detail(request, pk):
    student = get_student_for_user(request.user, pk)
    guardians = [
        {"guardian": g, "phone": shown_phone(request.user, student, g.phone)}
        for g in Guardian.objects.filter(student=student).select_related("user").order_by("pk")
    ]
    open_code = student.invitation_codes.filter(used_at__isnull=True, revoked_at__isnull=True).first()
    may_manage = may_manage_classroom(request.user, student.classroom)
    return render(
        request,
        "aftercare/student_detail.html",
        {
            "student": student,
            "guardians": guardians,
            "open_code": open_code if may_manage else None,
            "may_manage": may_manage,
            "full_phones": may_see_full_phone(request.user, student),
        },
    )


@login_required
@require_POST
def student_invitation_reissue(request, pk):
    student = get_student_for_user(request.user, pk, for_write=True)
    code = services.invitation_issue(actor=request.user, student=student)
    messages.success(request, _("新的邀请码：%(code)s（旧的邀请码已作废）。") % {"code": code.code})
    return redirect("core:student-detail", pk=student.pk)


# Staff -----------------------------------------------------------------------------------------


@login_required
@require_GET
def staff_list(request):
    school = require_school_role(request, Role.PRINCIPAL, Role.ADMINISTRATOR)
    may_manage = Role.ADMINISTRATOR in access_for(request.user).roles_at(school.pk)
    return render(
        request,
        "aftercare/staff_list.html",
        {"school": school, "staff_members": selectors.staff_of(school), "may_manage": may_manage},
    )


@login_required
@require_http_methods(["GET", "POST"])
def staff_create(request):
    school = require_school_role(request, Role.ADMINISTRATOR)
    form = StaffCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            staff = services.staff_create(actor=request.user, school=school, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("已创建教职工账户 %(name)s。") % {"name": staff.user.display_name})
            return redirect("core:staff-list")
    return render(request, "aftercare/staff_form.html", {"form": form, "school": school, "creating": True})


@login_required
@require_http_methods(["GET", "POST"])
def staff_edit(request, pk):
    staff = get_staff_for_user(request.user, pk, for_write=True)
    initial = {
        "full_name": staff.user.full_name,
        "phone": staff.user.phone or "",
        "title": staff.title,
        "roles": list(staff.roles.values_list("role", flat=True)),
        "is_active": staff.is_active,
    }
    form = StaffEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.staff_update(actor=request.user, staff=staff, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("已保存。"))
            return redirect("core:staff-list")
    return render(
        request, "aftercare/staff_form.html", {"form": form, "school": staff.school, "staff": staff}
    )


@login_required
@require_GET
def audit_log(request):
    school = require_school_role(request, Role.PRINCIPAL, Role.ADMINISTRATOR)
    return render(
        request, "aftercare/audit_log.html", {"school": school, "entries": selectors.audit_entries(school)}
    )


# District --------------------------------------------------------------------------------------


@login_required
@require_GET
def district_school_list(request):
    district_ids = require_district_role(request)
    return render(
        request, "aftercare/district_school_list.html", {"schools": selectors.district_schools(district_ids)}
    )


# Long jobs -------------------------------------------------------------------------------------


@login_required
@require_GET
def job_detail(request, pk):
    job = get_job_for_user(request.user, pk)
    return render(request, "aftercare/job_detail.html", {"job": job})


@login_required
@require_GET
def job_status(request, pk):
    job = get_job_for_user(request.user, pk)
    return render(request, "aftercare/job_detail.html#job-status", {"job": job})


@login_required
@require_GET
def job_download(request, pk):
    job = get_job_for_user(request.user, pk)
    if not job.result_file:
        raise Http404
    return FileResponse(job.result_file.open("rb"), as_attachment=True, filename=job.result_name)


# Notifications ---------------------------------------------------------------------------------


@login_required
@require_GET
def notification_list(request):
    """The signed-in person's own notifications: nobody else's can be addressed here."""
    notifications = list(Notification.objects.filter(user=request.user)[:100])
    return render(request, "aftercare/notification_list.html", {"notifications": notifications})


@login_required
@require_POST
def notifications_read(request):
    notifications_mark_read(user=request.user)
    return redirect("core:notification-list")
