"""Pages: school. The term's applications with filters and counts, participation per class, course
rosters, their Excel exports, and the bills: what each child owes, payments and refunds."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from aftercare.jobs import job_start
from aftercare.permissions import require_school_role, shown_phone
from aftercare.roles import Role
from aftercare.selectors import current_term
from aftercare.views import add_service_errors

from .. import permissions, selectors, services
from ..export_jobs import EXPORT_APPLICATIONS, EXPORT_ROSTER
from ..forms_school import ApplicationFilterForm, BillFilterForm, PaymentForm
from ..models import ApplicationStatus
from ..payments import ManualPayments, PaymentProvider

APPLICATION_LIST_ROLES = (Role.PRINCIPAL, Role.ADMINISTRATOR, Role.FINANCE)
PARTICIPATION_ROLES = (Role.PRINCIPAL, Role.ADMINISTRATOR)
MONEY_ROLES = (Role.FINANCE, Role.PRINCIPAL)

# Finance types in money already received; an online provider would be chosen here later.
payment_provider: PaymentProvider = ManualPayments()


# Applications ----------------------------------------------------------------------------------


@login_required
@require_GET
def application_list(request):
    school = require_school_role(request, *APPLICATION_LIST_ROLES)
    term = current_term(school)
    context = {"school": school, "term": term}
    if term is not None:
        filters = ApplicationFilterForm(request.GET or None, term=term)
        chosen = filters.filters()
        # The counts follow the class, grade and course filters, not the status one: they are the
        # tabs to move between statuses.
        counted = selectors.school_applications(term, **{**chosen, "status": ""})
        counts = selectors.application_status_counts(counted)
        context |= {
            "filters": filters,
            "applications": selectors.school_applications(term, **chosen),
            "status_counts": [
                {"value": value, "label": label, "count": counts[value]}
                for value, label in ApplicationStatus.choices
            ],
            "total": sum(counts.values()),
            "query": request.GET.urlencode(),
        }
    return render(request, "enrollment/school_application_list.html", context)


@login_required
@require_POST
def export_applications(request):
    school = require_school_role(request, *APPLICATION_LIST_ROLES)
    term = current_term(school)
    if term is None:
        messages.error(request, _("当前没有学期，无法导出。"))
        return redirect("enrollment:application-list")
    chosen = ApplicationFilterForm(request.POST, term=term).filters()
    params = {
        "term_id": term.pk,
        "classroom_id": chosen["classroom"].pk if chosen.get("classroom") else None,
        "grade": chosen.get("grade"),
        "offering_id": chosen["offering"].pk if chosen.get("offering") else None,
        "status": chosen.get("status", ""),
    }
    job = job_start(actor=request.user, school=school, kind=EXPORT_APPLICATIONS, params=params)
    return redirect("core:job-detail", pk=job.pk)


# Participation ---------------------------------------------------------------------------------


@login_required
@require_GET
def participation(request):
    school = require_school_role(request, *PARTICIPATION_ROLES)
    term = current_term(school)
    context = {"school": school, "term": term}
    if term is not None:
        context |= {
            "classes": selectors.class_participation(school, term),
            "courses": list(selectors.course_places(term)),
        }
    return render(request, "enrollment/school_participation.html", context)


# Course rosters --------------------------------------------------------------------------------


@login_required
@require_GET
def course_roster(request, offering_pk):
    offering = permissions.get_roster_offering_for_user(request.user, offering_pk)
    enrollments = selectors.course_roster(offering)
    rows = [
        {
            "enrollment": enrollment,
            "guardians": [
                {"name": g.name, "phone": shown_phone(request.user, enrollment.student, g.phone)}
                for g in enrollment.student.guardians.all()
            ],
        }
        for enrollment in enrollments
    ]
    return render(
        request,
        "enrollment/school_course_roster.html",
        {"offering": offering, "rows": rows, "waiting": selectors.course_waiting_list(offering)},
    )


@login_required
@require_POST
def export_roster(request, offering_pk):
    offering = permissions.get_roster_offering_for_user(request.user, offering_pk)
    job = job_start(
        actor=request.user, school=offering.school, kind=EXPORT_ROSTER, params={"offering_id": offering.pk}
    )
    return redirect("core:job-detail", pk=job.pk)


# Bills, payments and refunds -------------------------------------------------------------------


@login_required
@require_GET
def bills(request):
    school = require_school_role(request, *MONEY_ROLES)
    term = current_term(school)
    filters = BillFilterForm(request.GET or None)
    unpaid_only = filters.is_valid() and filters.cleaned_data["unpaid"]
    context = {"school": school, "term": term, "filters": filters}
    if term is not None:
        context |= {
            "bills": list(selectors.term_bills(term, unpaid_only=unpaid_only)),
            "refunds_to_pay": list(selectors.term_refunds_to_pay(term)),
        }
    return render(request, "enrollment/school_bills.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def payment_create(request, student_pk):
    student = permissions.get_student_for_finance(request.user, student_pk)
    term = current_term(student.school)
    form = PaymentForm(request.POST or None, school=student.school, current_term=term)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            payment = payment_provider.record(
                actor=request.user,
                student=student,
                term=data["term"],
                amount=data["amount"],
                method=data["method"],
                paid_by=data["paid_by"],
                paid_on=data["paid_on"],
                reference=data["reference"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("已记录%(name)s缴费 %(amount)s 元。") % {"name": student.name, "amount": payment.amount},
            )
            return redirect("enrollment:bills")
    return render(request, "enrollment/school_payment_form.html", {"student": student, "form": form})


@login_required
@require_POST
def refund_paid(request, pk):
    refund = permissions.get_refund_for_finance(request.user, pk)
    try:
        services.refund_mark_paid(actor=request.user, refund=refund)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("已标记退还%(name)s %(amount)s 元。")
            % {"name": refund.enrollment.student.name, "amount": refund.amount},
        )
    return redirect("enrollment:bills")


urlpatterns = [
    path("school/applications/", application_list, name="application-list"),
    path("school/applications/export/", export_applications, name="export-applications"),
    path("school/participation/", participation, name="participation"),
    path("school/offerings/<int:offering_pk>/roster/", course_roster, name="course-roster"),
    path("school/offerings/<int:offering_pk>/roster/export/", export_roster, name="export-roster"),
    path("school/bills/", bills, name="bills"),
    path("school/bills/<int:student_pk>/pay/", payment_create, name="payment-create"),
    path("school/refunds/<int:pk>/paid/", refund_paid, name="refund-paid"),
]
