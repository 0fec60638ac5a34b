"""Pages: terms, their calendar and time bands, fee standards; the district's caps and pay band."""

from dataclasses import asdict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from aftercare.models import District
from aftercare.permissions import access_for, require_district_role, require_school_role
from aftercare.roles import Role
from aftercare.views import add_service_errors

from .. import selectors, services
from ..calendar_rules import DEFAULT_SLOTS
from ..forms_calendar import (
    CalendarForm,
    DistrictPolicyForm,
    FeeStandardForm,
    TermCreateForm,
    TimeSlotFormSet,
    format_date_lines,
    weekday_text,
)
from ..permissions import get_term_for_user

SLOTS_PREFIX = "slots"


# Terms -----------------------------------------------------------------------------------------


@login_required
@require_GET
def term_list(request):
    school = require_school_role(request, Role.PRINCIPAL, Role.ADMINISTRATOR)
    terms = selectors.terms_with_calendar(school)
    for term in terms:
        term.weekday_text = weekday_text(term.service_weekdays)
    return render(
        request,
        "catalogue/term_list.html",
        {
            "school": school,
            "terms": terms,
            "may_manage": Role.ADMINISTRATOR in access_for(request.user).roles_at(school.pk),
            "today": timezone.localdate(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def term_create(request):
    school = require_school_role(request, Role.ADMINISTRATOR)
    form = TermCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            term = services.term_create(actor=request.user, school=school, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("已创建学期“%(name)s”，并填入了默认的课后服务时段。请设置节假日和调休日。")
                % {"name": term.name},
            )
            return redirect("catalogue:calendar-edit", pk=term.pk)
    return render(request, "catalogue/term_form.html", {"form": form, "school": school})


# Calendar --------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def calendar_edit(request, pk):
    term = get_term_for_user(request.user, pk, for_write=True)
    calendar = selectors.term_calendar(term)
    # Computed before any save: the summary always shows what is stored.
    summary = selectors.term_calendar_summary(calendar)
    if request.method == "POST":
        form = CalendarForm(request.POST)
        slot_formset = TimeSlotFormSet(request.POST, prefix=SLOTS_PREFIX)
        if all([form.is_valid(), slot_formset.is_valid()]):
            try:
                services.term_calendar_save(
                    actor=request.user, term=term, slots=slot_formset.slots(), **form.cleaned_data
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("校历和服务时段已保存。"))
                return redirect("catalogue:calendar-edit", pk=term.pk)
    else:
        form = CalendarForm(
            initial={
                "service_weekdays": term.service_weekdays,
                "winter_starts_on": term.winter_starts_on,
                "winter_ends_on": term.winter_ends_on,
                "excluded": format_date_lines(calendar.excluded),
                "makeup": format_date_lines(calendar.makeup),
            }
        )
        # A term without bands (one made outside these pages) starts from the seeds' defaults,
        # shown as unsaved rows.
        slot_formset = TimeSlotFormSet(
            initial=[asdict(slot) for slot in calendar.slots or DEFAULT_SLOTS], prefix=SLOTS_PREFIX
        )
    return render(
        request,
        "catalogue/calendar_form.html",
        {
            "term": term,
            "form": form,
            "slot_formset": slot_formset,
            "summary": summary,
            "slots_saved": bool(calendar.slots),
            "weekday_text": weekday_text(term.service_weekdays),
        },
    )


# Fees ------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def fee_standard_edit(request, pk):
    term = get_term_for_user(request.user, pk, for_write=True)
    standard = selectors.fee_standard(term)
    charged_count = selectors.charged_offering_count(term)
    form = FeeStandardForm(
        request.POST or None,
        initial={
            "is_free": standard.is_free,
            "legal_basis": standard.legal_basis,
            "complaint_phone": standard.complaint_phone,
            "refund_rule": standard.refund_rule,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.fee_standard_update(actor=request.user, term=term, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if form.cleaned_data["is_free"] and charged_count:
                messages.success(
                    request,
                    _("收费标准已保存。本学期 %(count)d 个收费项目已改为免费。") % {"count": charged_count},
                )
            else:
                messages.success(request, _("收费标准已保存。"))
            return redirect("catalogue:fee-standard-edit", pk=term.pk)
    return render(
        request,
        "catalogue/fee_standard_form.html",
        {
            "term": term,
            "form": form,
            "policy": selectors.district_policy(term.school.district),
            "charged_count": charged_count,
        },
    )


# District --------------------------------------------------------------------------------------


def _district_for(request, district_ids: frozenset[int]) -> tuple[District, list[District]]:
    """The district the page acts on: ``?district=`` among the officer's own (404 for any other),
    else the first by name."""
    districts = list(District.objects.filter(pk__in=district_ids).order_by("name"))
    chosen = request.GET.get("district")
    if chosen is None:
        return districts[0], districts
    district = next((d for d in districts if str(d.pk) == chosen), None)
    if district is None:
        raise Http404
    return district, districts


@login_required
@require_http_methods(["GET", "POST"])
def district_policy_edit(request):
    district, districts = _district_for(request, require_district_role(request))
    policy = selectors.district_policy(district)
    form = DistrictPolicyForm(
        request.POST or None,
        initial={
            "basic_care_cap": policy.basic_care_cap,
            "course_cap": policy.course_cap,
            "hourly_pay_min": policy.hourly_pay_min,
            "hourly_pay_max": policy.hourly_pay_max,
            "low_satisfaction_percent": policy.low_satisfaction_percent,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.district_policy_update(actor=request.user, district=district, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request, _("%(district)s的收费上限和酬金标准已保存。") % {"district": district.name}
            )
            return redirect(f"{reverse('catalogue:district-policy-edit')}?district={district.pk}")
    return render(
        request,
        "catalogue/district_policy_form.html",
        {"district": district, "districts": districts, "form": form, "saved": policy.pk is not None},
    )


urlpatterns = [
    path("terms/", term_list, name="term-list"),
    path("terms/new/", term_create, name="term-create"),
    path("terms/<int:pk>/calendar/", calendar_edit, name="calendar-edit"),
    path("terms/<int:pk>/fees/", fee_standard_edit, name="fee-standard-edit"),
    path("district/policy/", district_policy_edit, name="district-policy-edit"),
]
