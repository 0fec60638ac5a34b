"""Pages: review. The homeroom teacher's class review (班级审核), the principal's approval (校长审定),
waiver decisions (减免) and the school's agreement versions (协议书)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from aftercare.permissions import access_for, require_school_role
from aftercare.roles import Role
from aftercare.selectors import current_term
from aftercare.views import add_service_errors

from .. import selectors, services
from ..forms_review import AgreementForm, BulkApproveForm, ReasonForm, WaiverDecideForm
from ..models import AgreementVersion, Application, ApplicationStatus
from ..permissions import get_application_for_user

APPROVE_RESULT = gettext_lazy(
    "已审定 %(approved)d 份报名：录取 %(enrolled)d 项，名额已满进入候补 %(waitlisted)d 项。"
)
CLASS_APPROVED_MESSAGE = gettext_lazy("已通过%(name)s的报名，提交校长审定。")
RETURNED_MESSAGE = gettext_lazy("已退回%(name)s的报名，家长会收到通知。")
REJECTED_MESSAGE = gettext_lazy("已不通过%(name)s的报名，家长会收到通知。")
WAIVER_GRANTED_MESSAGE = gettext_lazy("已批准%(name)s减免 %(amount)s 元。")
WAIVER_REFUSED_MESSAGE = gettext_lazy("已不批准%(name)s的减免申请。")
AGREEMENT_PUBLISHED_MESSAGE = gettext_lazy("已发布第 %(version)d 版协议，%(date)s 起生效。")


# Class review ----------------------------------------------------------------------------------


def _render_class_review(request, *, failed_pk=None, failed_form=None, status=200):
    school = require_school_role(request, Role.HOMEROOM_TEACHER)
    classroom_ids = access_for(request.user).schools[school.pk].homeroom_classroom_ids
    term = current_term(school)
    groups = selectors.class_review_groups(term, classroom_ids) if term else []
    return render(
        request,
        "enrollment/review_class.html",
        {
            "school": school,
            "term": term,
            "groups": groups,
            "current_agreement": services.current_agreement(school),
            "failed_pk": failed_pk,
            "failed_form": failed_form,
            "SUBMITTED": ApplicationStatus.SUBMITTED,
        },
        status=status,
    )


@login_required
@require_GET
def class_review(request):
    return _render_class_review(request)


@login_required
@require_POST
def application_class_approve(request, pk):
    application = get_application_for_user(request.user, pk, action="class_review")
    try:
        services.application_class_approve(actor=request.user, application=application)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, CLASS_APPROVED_MESSAGE % {"name": application.student.name})
    return redirect("enrollment:class-review")


@login_required
@require_POST
def application_return(request, pk):
    application = get_application_for_user(request.user, pk, action="class_review")
    form = ReasonForm(request.POST)
    if form.is_valid():
        try:
            services.application_return(
                actor=request.user, application=application, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, RETURNED_MESSAGE % {"name": application.student.name})
            return redirect("enrollment:class-review")
    return _render_class_review(request, failed_pk=application.pk, failed_form=form)


# Principal's approval --------------------------------------------------------------------------


def _render_principal_review(request, school, *, failed_pk=None, failed_form=None, approve_form=None):
    term = current_term(school)
    classrooms = selectors.class_status_counts(term) if term else []
    with_applications = [c for c in classrooms if any(c.counts)]
    return render(
        request,
        "enrollment/review_principal.html",
        {
            "school": school,
            "term": term,
            "statuses": selectors.counted_statuses(),
            "classrooms_with_applications": with_applications,
            "classrooms_without_applications": len(classrooms) - len(with_applications),
            "applications": selectors.class_approved_applications(term) if term else [],
            "current_agreement": services.current_agreement(school),
            "failed_pk": failed_pk,
            "failed_form": failed_form,
            "approve_form": approve_form,
        },
    )


@login_required
@require_GET
def principal_review(request):
    school = require_school_role(request, Role.PRINCIPAL)
    return _render_principal_review(request, school)


@login_required
@require_POST
def applications_approve(request):
    school = require_school_role(request, Role.PRINCIPAL)
    form = BulkApproveForm(request.POST)
    if not form.is_valid():
        return _render_principal_review(request, school, approve_form=form)
    ids = form.cleaned_data["ids"]
    applications = list(Application.objects.filter(pk__in=ids, school=school))
    # An id of another school's (or a missing) application: 404 for the whole request, nothing done.
    if len(applications) != len(ids):
        raise Http404
    try:
        result = services.applications_approve(actor=request.user, applications=applications)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, APPROVE_RESULT % result)
    return redirect("enrollment:principal-review")


@login_required
@require_POST
def application_reject(request, pk):
    application = get_application_for_user(request.user, pk, action="decide")
    form = ReasonForm(request.POST)
    if form.is_valid():
        try:
            services.application_reject(
                actor=request.user, application=application, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, REJECTED_MESSAGE % {"name": application.student.name})
            return redirect("enrollment:principal-review")
    return _render_principal_review(request, application.school, failed_pk=application.pk, failed_form=form)


# Waivers ---------------------------------------------------------------------------------------


def _render_waivers(request, school, *, failed_pk=None, failed_form=None):
    applications = selectors.pending_waivers(school)
    for application in applications:
        # The form that came back with errors keeps its input on its own row.
        application.failed_form = failed_form if application.pk == failed_pk else None
    return render(request, "enrollment/review_waivers.html", {"school": school, "applications": applications})


@login_required
@require_GET
def waiver_list(request):
    school = require_school_role(request, Role.PRINCIPAL, Role.FINANCE)
    return _render_waivers(request, school)


@login_required
@require_POST
def waiver_decide(request, pk):
    application = get_application_for_user(request.user, pk, action="waiver")
    form = WaiverDecideForm(request.POST)
    if form.is_valid():
        granted = form.cleaned_data["decision"] == WaiverDecideForm.GRANT
        try:
            decided = services.waiver_decide(
                actor=request.user,
                application=application,
                granted=granted,
                **({"amount": form.cleaned_data["amount"]} if granted else {}),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            name = application.student.name
            if granted:
                messages.success(
                    request, WAIVER_GRANTED_MESSAGE % {"name": name, "amount": decided.waiver_amount}
                )
            else:
                messages.success(request, WAIVER_REFUSED_MESSAGE % {"name": name})
            return redirect("enrollment:waiver-list")
    return _render_waivers(request, application.school, failed_pk=application.pk, failed_form=form)


# Agreement versions ----------------------------------------------------------------------------


def _may_publish_agreements(user, school) -> bool:
    return Role.ADMINISTRATOR in access_for(user).roles_at(school.pk)


@login_required
@require_GET
def agreement_list(request):
    school = require_school_role(request, Role.ADMINISTRATOR, Role.PRINCIPAL)
    return render(
        request,
        "enrollment/agreement_list.html",
        {
            "school": school,
            "versions": selectors.agreement_versions(school),
            "current": services.current_agreement(school),
            "may_publish": _may_publish_agreements(request.user, school),
        },
    )


@login_required
@require_GET
def agreement_detail(request, pk):
    school = require_school_role(request, Role.ADMINISTRATOR, Role.PRINCIPAL)
    # Only the acting school's versions: another school's id is 404, as for a missing one.
    agreement = AgreementVersion.objects.filter(pk=pk, school=school).select_related("created_by").first()
    if agreement is None:
        raise Http404
    return render(
        request,
        "enrollment/agreement_detail.html",
        {
            "school": school,
            "agreement": agreement,
            "current": services.current_agreement(school),
            "signature_count": agreement.signatures.count(),
            "text_sha256": services.agreement_text_hash(agreement),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def agreement_create(request):
    school = require_school_role(request, Role.ADMINISTRATOR, Role.PRINCIPAL)
    if not _may_publish_agreements(request.user, school):
        raise PermissionDenied
    latest = AgreementVersion.objects.filter(school=school).order_by("-version").first()
    # A new version starts from the latest text: most changes are small edits of it.
    initial = {"effective_from": timezone.localdate()}
    if latest is not None:
        initial.update(title=latest.title, body=latest.body)
    form = AgreementForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            agreement = services.agreement_publish(actor=request.user, school=school, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                AGREEMENT_PUBLISHED_MESSAGE
                % {"version": agreement.version, "date": agreement.effective_from.isoformat()},
            )
            return redirect("enrollment:agreement-list")
    return render(
        request, "enrollment/agreement_form.html", {"school": school, "form": form, "latest": latest}
    )


urlpatterns = [
    path("review/class/", class_review, name="class-review"),
    path("applications/<int:pk>/class-approve/", application_class_approve, name="application-class-approve"),
    path("applications/<int:pk>/return/", application_return, name="application-return"),
    path("review/principal/", principal_review, name="principal-review"),
    path("review/principal/approve/", applications_approve, name="applications-approve"),
    path("applications/<int:pk>/reject/", application_reject, name="application-reject"),
    path("review/waivers/", waiver_list, name="waiver-list"),
    path("applications/<int:pk>/waiver/", waiver_decide, name="waiver-decide"),
    path("agreements/", agreement_list, name="agreement-list"),
    path("agreements/new/", agreement_create, name="agreement-create"),
    path("agreements/<int:pk>/", agreement_detail, name="agreement-detail"),
]
