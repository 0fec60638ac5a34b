"""Pages: the family's side. Children and this term's applications, the application form with its
fee summary, the agreement signature, withdrawal with the refund, and the signed agreement PDF."""

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from aftercare.jobs import job_start
from aftercare.models import School
from aftercare.permissions import access_for, active_school_id
from aftercare.roles import Role
from aftercare.selectors import current_term
from aftercare.views import add_service_errors
from catalogue.models import OfferingKind

from .. import selectors, services
from ..forms_family import ApplicationForm, SignForm, WithdrawForm
from ..job_kinds import AGREEMENT_PDF
from ..models import ApplicationStatus, ChoiceStatus, Signature, WaiverStatus
from ..permissions import get_application_for_user, get_child_for_guardian


def _is_family(user, application) -> bool:
    return application.student_id in access_for(user).child_ids


@login_required
@require_GET
def family_home(request):
    school_id = active_school_id(request)
    school_access = access_for(request.user).schools.get(school_id)
    if school_access is None or Role.PARENT not in school_access.roles:
        raise PermissionDenied
    school = School.objects.get(pk=school_id)
    term = current_term(school)
    rows = selectors.family_children(school_access.child_ids, term)
    return render(request, "enrollment/family_home.html", {"school": school, "term": term, "rows": rows})


def _chosen_offerings(options, wants_basic_care: bool, course_ids) -> list:
    """The offerings a (possibly invalid) form names, for the fee summary shown beside it."""
    chosen = []
    if wants_basic_care and options.basic_care:
        chosen.append(options.basic_care.offering)
    by_pk = options.by_pk
    chosen += [by_pk[pk] for pk in course_ids if pk in by_pk and by_pk[pk].kind == OfferingKind.COURSE]
    return chosen


@login_required
@require_http_methods(["GET", "POST"])
def apply(request, student_pk):
    student = get_child_for_guardian(request.user, student_pk)
    term = current_term(student.school)
    if term is None:
        return render(request, "enrollment/family_apply.html", {"student": student, "term": None})
    application = selectors.application_queryset().filter(term=term, student=student).first()
    options = selectors.apply_options(student, term)
    course_choices = [(o.offering.pk, o.offering.name) for o in options.courses]
    if application is not None:
        initial = {
            "wants_basic_care": application.wants_basic_care,
            "course_ids": [
                c.offering_id
                for c in application.choices.all()
                if c.offering.kind == OfferingKind.COURSE and c.status != ChoiceStatus.CANCELLED
            ],
            "waiver_requested": application.waiver_status != WaiverStatus.NONE,
            "waiver_reason": application.waiver_reason,
        }
    else:
        initial = {"wants_basic_care": options.basic_care is not None}
    form = ApplicationForm(request.POST or None, initial=initial, course_choices=course_choices)
    # "重新计算费用" only recomputes the summary (no script on the page: CSP).
    previewing = "preview" in request.POST
    if request.method == "POST" and not previewing and form.is_valid():
        data = form.cleaned_data
        try:
            application = services.application_submit(
                actor=request.user,
                student=student,
                term=term,
                wants_basic_care=data["wants_basic_care"],
                course_ids=data["course_ids"],
                waiver_requested=data["waiver_requested"],
                waiver_reason=data["waiver_reason"].strip(),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("报名已提交，等待班主任审核。"))
            return redirect("enrollment:application-detail", pk=application.pk)
    if form.is_bound:
        chosen = _chosen_offerings(
            options,
            form.data.get("wants_basic_care") in ("on", "true", "1"),
            [int(v) for v in form.data.getlist("course_ids") if v.isdigit()],
        )
    else:
        chosen = _chosen_offerings(options, initial["wants_basic_care"], initial.get("course_ids", []))
    selected = {int(v) for v in form["course_ids"].value() or [] if str(v).isdigit()}
    return render(
        request,
        "enrollment/family_apply.html",
        {
            "student": student,
            "term": term,
            "application": application,
            "is_editable": application is None or application.is_editable,
            "already_decided": services.ALREADY_DECIDED,
            "options": options,
            "selected": selected,
            "form": form,
            "fees": services.fee_summary(term, chosen),
        },
    )


@login_required
@require_GET
def application_detail(request, pk):
    get_application_for_user(request.user, pk)
    application = selectors.application_queryset().get(pk=pk)
    choices = [c for c in application.choices.all()]
    active = [c.offering for c in choices if c.status != ChoiceStatus.CANCELLED]
    agreement = services.current_agreement(application.school)
    signatures = list(application.signatures.all())
    is_family = _is_family(request.user, application)
    return render(
        request,
        "enrollment/family_application_detail.html",
        {
            "application": application,
            "choices": choices,
            "fees": services.fee_summary(application.term, active) if active else None,
            "signatures": signatures,
            "agreement": agreement,
            "needs_signature": agreement is not None
            and application.status != ApplicationStatus.WITHDRAWN
            and all(s.agreement_id != agreement.pk for s in signatures),
            "refunds": selectors.application_refunds(application),
            "is_family": is_family,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def application_sign(request, pk):
    application = get_application_for_user(request.user, pk, action="family")
    agreement = services.current_agreement(application.school)
    shown_hash = services.agreement_text_hash(agreement) if agreement else ""
    signed = agreement is not None and application.signatures.filter(agreement=agreement).exists()
    withdrawn = application.status == ApplicationStatus.WITHDRAWN
    form = SignForm(request.POST or None, initial={"text_hash": shown_hash})
    if request.method == "POST" and form.is_valid():
        if agreement is None:
            raise Http404
        try:
            if withdrawn:
                raise ValidationError(str(services.ALREADY_WITHDRAWN))
            services.agreement_sign(
                actor=request.user,
                application=application,
                agreement=agreement,
                typed_name=form.cleaned_data["typed_name"],
                consent=form.cleaned_data["consent"],
                shown_text_sha256=form.cleaned_data["text_hash"],
                ip_address=request.META.get("REMOTE_ADDR") or None,
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
            )
        except ValidationError as error:
            add_service_errors(form, error)
            # After a text change the page shows the new text: its hash is the one to sign.
            form.data = form.data.copy()
            form.data["text_hash"] = shown_hash
        else:
            messages.success(request, _("已签署服务协议。"))
            return redirect("enrollment:application-detail", pk=application.pk)
    return render(
        request,
        "enrollment/family_sign.html",
        {
            "application": application,
            "agreement": agreement,
            "form": form,
            "signed": signed,
            "withdrawn": withdrawn,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def application_withdraw(request, pk):
    application = get_application_for_user(request.user, pk, action="family")
    form = WithdrawForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            refunds = services.application_withdraw(
                actor=request.user, application=application, reason=form.cleaned_data["reason"].strip()
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            total = sum((r.amount for r in refunds), Decimal("0.00"))
            if refunds:
                messages.success(request, _("报名已撤回，应退 %(amount)s 元。") % {"amount": total})
            else:
                messages.success(request, _("报名已撤回。"))
            return redirect("enrollment:application-detail", pk=application.pk)
    today = timezone.localdate()
    enrollments = list(
        application.enrollments.filter(left_on__isnull=True).select_related("offering", "term", "student")
    )
    refunds = [(e, services.refund_for(e, today)) for e in enrollments]
    return render(
        request,
        "enrollment/family_withdraw.html",
        {
            "application": application,
            "form": form,
            "refunds": refunds,
            "refund_total": sum((r.amount for _e, r in refunds), Decimal("0.00")),
            "today": today,
            "withdrawn": application.status == ApplicationStatus.WITHDRAWN,
        },
    )


@login_required
@require_POST
def signature_pdf(request, pk):
    signature = Signature.objects.filter(pk=pk).only("pk", "application_id").first()
    if signature is None:
        raise Http404
    application = get_application_for_user(request.user, signature.application_id)
    job = job_start(
        actor=request.user,
        school=application.school,
        kind=AGREEMENT_PDF,
        params={"signature_id": signature.pk},
    )
    return redirect("core:job-detail", pk=job.pk)


urlpatterns = [
    path("family/", family_home, name="family-home"),
    path("family/children/<int:student_pk>/apply/", apply, name="apply"),
    path("applications/<int:pk>/", application_detail, name="application-detail"),
    path("applications/<int:pk>/sign/", application_sign, name="application-sign"),
    path("applications/<int:pk>/withdraw/", application_withdraw, name="application-withdraw"),
    path("signatures/<int:pk>/pdf/", signature_pdf, name="signature-pdf"),
]
