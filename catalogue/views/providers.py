"""Pages: providers. A school files its parent volunteers and outside institutions with their staff;
the district's officers vet the institutions (篇八). The school's own teachers need no provider."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from aftercare.permissions import access_for, require_district_role, require_school_role
from aftercare.roles import Role
from aftercare.views import add_service_errors

from .. import selectors, services
from ..forms_providers import ProviderForm, ProviderStaffForm, VettingForm, VettingStatusFilterForm
from ..models import Provider, VettingStatus
from ..permissions import get_provider_for_user, get_provider_staff_for_user, may_vet

# School side -----------------------------------------------------------------------------------


@login_required
@require_GET
def provider_list(request):
    school = require_school_role(request, Role.PRINCIPAL, Role.ADMINISTRATOR)
    return render(
        request,
        "catalogue/provider_list.html",
        {
            "school": school,
            "providers": selectors.school_providers(school, today=timezone.localdate()),
            "may_manage": Role.ADMINISTRATOR in access_for(request.user).roles_at(school.pk),
            "warning_days": selectors.CERTIFICATE_WARNING_DAYS,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def provider_create(request):
    school = require_school_role(request, Role.ADMINISTRATOR)
    form = ProviderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            provider = services.provider_file(actor=request.user, school=school, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if provider.needs_vetting:
                message = _("已备案校外机构“%(name)s”，等待教育局审核。")
            else:
                message = _("已添加家长志愿者“%(name)s”。")
            messages.success(request, message % {"name": provider.name})
            return redirect("catalogue:provider-detail", pk=provider.pk)
    return render(request, "catalogue/provider_form.html", {"form": form, "school": school})


@login_required
@require_http_methods(["GET", "POST"])
def provider_edit(request, pk):
    provider = get_provider_for_user(request.user, pk, for_write=True)
    status_before = provider.vetting_status
    form = ProviderForm(request.POST or None, initial=ProviderForm.initial_for(provider))
    if request.method == "POST" and form.is_valid():
        try:
            provider = services.provider_file(
                actor=request.user, school=provider.school, provider=provider, **form.cleaned_data
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if status_before != VettingStatus.PENDING and provider.vetting_status == VettingStatus.PENDING:
                message = _("已保存。“%(name)s”的备案信息有变更，已退回教育局重新审核，目前为“待审核”。")
            else:
                message = _("已保存。")
            messages.success(request, message % {"name": provider.name})
            return redirect("catalogue:provider-detail", pk=provider.pk)
    return render(
        request,
        "catalogue/provider_form.html",
        {"form": form, "school": provider.school, "provider": provider},
    )


def _render_detail(request, provider: Provider, *, vetting_form: VettingForm | None = None):
    """The detail page, for the school (administrators may change it) or the district (vetting)."""
    vetter = may_vet(request.user, provider)
    if vetter and vetting_form is None and provider.needs_vetting:
        vetting_form = VettingForm(initial={"status": provider.vetting_status, "note": provider.vetting_note})
    may_manage = not vetter and Role.ADMINISTRATOR in access_for(request.user).roles_at(provider.school_id)
    return render(
        request,
        "catalogue/provider_detail.html",
        {
            "provider": provider,
            "staff_members": selectors.provider_staff_rows(provider, today=timezone.localdate()),
            "offerings": selectors.provider_offerings(provider),
            "may_manage": may_manage,
            # Courses are the school's pages; the district reads them through its own views.
            "links_to_offerings": not vetter,
            "vetting_form": vetting_form if vetter else None,
            "warning_days": selectors.CERTIFICATE_WARNING_DAYS,
        },
    )


@login_required
@require_GET
def provider_detail(request, pk):
    return _render_detail(request, get_provider_for_user(request.user, pk))


@login_required
@require_http_methods(["GET", "POST"])
def provider_staff_create(request, pk):
    provider = get_provider_for_user(request.user, pk, for_write=True)
    form = ProviderStaffForm(request.POST or None, provider=provider)
    if request.method == "POST" and form.is_valid():
        try:
            member = services.provider_staff_save(actor=request.user, provider=provider, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("已添加授课人员 %(name)s。") % {"name": member.name})
            return redirect("catalogue:provider-detail", pk=provider.pk)
    return render(request, "catalogue/provider_staff_form.html", {"form": form, "provider": provider})


@login_required
@require_http_methods(["GET", "POST"])
def provider_staff_edit(request, pk):
    member = get_provider_staff_for_user(request.user, pk, for_write=True)
    provider = member.provider
    member_name = member.name  # the service changes the row in memory before it validates
    form = ProviderStaffForm(request.POST or None, provider=provider, member=member)
    if request.method == "POST" and form.is_valid():
        try:
            member = services.provider_staff_save(
                actor=request.user, provider=provider, member=member, **form.cleaned_data
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("已保存授课人员 %(name)s。") % {"name": member.name})
            return redirect("catalogue:provider-detail", pk=provider.pk)
    return render(
        request,
        "catalogue/provider_staff_form.html",
        {"form": form, "provider": provider, "member_name": member_name},
    )


# District side ---------------------------------------------------------------------------------


@login_required
@require_GET
def district_provider_list(request):
    district_ids = require_district_role(request)
    filter_form = VettingStatusFilterForm(request.GET or None)
    status = filter_form.cleaned_data["status"] if filter_form.is_valid() else ""
    return render(
        request,
        "catalogue/district_provider_list.html",
        {
            "filter_form": filter_form,
            "providers": selectors.district_institutions(
                district_ids, today=timezone.localdate(), status=status or None
            ),
            "warning_days": selectors.CERTIFICATE_WARNING_DAYS,
        },
    )


@login_required
@require_POST
def provider_vet(request, pk):
    provider = get_provider_for_user(request.user, pk, for_vetting=True)
    form = VettingForm(request.POST)
    if form.is_valid():
        try:
            provider = services.institution_vet(actor=request.user, provider=provider, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("已将“%(name)s”设为%(status)s。")
                % {"name": provider.name, "status": provider.get_vetting_status_display()},
            )
            return redirect("catalogue:district-provider-list")
    return _render_detail(request, provider, vetting_form=form)


urlpatterns = [
    path("providers/", provider_list, name="provider-list"),
    path("providers/new/", provider_create, name="provider-create"),
    path("providers/<int:pk>/", provider_detail, name="provider-detail"),
    path("providers/<int:pk>/edit/", provider_edit, name="provider-edit"),
    path("providers/<int:pk>/staff/new/", provider_staff_create, name="provider-staff-create"),
    path("providers/staff/<int:pk>/edit/", provider_staff_edit, name="provider-staff-edit"),
    path("providers/<int:pk>/vet/", provider_vet, name="provider-vet"),
    path("district/providers/", district_provider_list, name="district-provider-list"),
]
