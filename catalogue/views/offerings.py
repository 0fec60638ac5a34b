"""Pages: offerings. A term's basic care and featured courses with the 篇八 compliance panel, the
course form, one offering as families see it, and publishing."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from aftercare.models import Classroom
from aftercare.permissions import access_for
from aftercare.roles import SCHOOL_LEADERS, Role
from aftercare.views import add_service_errors

from .. import selectors, services
from ..forms_offerings import BasicCareForAllForm, OfferingFilterForm, OfferingForm
from ..models import REQUIRED_DOMAINS, Domain, OfferingKind, OfferingStatus
from ..permissions import get_offering_for_user, get_term_for_user

# How the compliance panel names each required domain (篇八: 体、美、劳 each at least one course).
DOMAIN_SUBJECTS = {
    Domain.PHYSICAL: gettext_lazy("体育"),
    Domain.AESTHETIC: gettext_lazy("美育"),
    Domain.LABOUR: gettext_lazy("劳动教育"),
}
# Suggested in the place field beside the school's classrooms.
COMMON_PLACES = (
    gettext_lazy("操场"),
    gettext_lazy("体育馆"),
    gettext_lazy("功能室"),
    gettext_lazy("音乐室"),
    gettext_lazy("美术室"),
    gettext_lazy("图书室"),
)


def _term_for_leaders(user, pk: int):
    """The term's offering list is the principal's and the administrators' working page."""
    term = get_term_for_user(user, pk)
    if not access_for(user).roles_at(term.school_id) & SCHOOL_LEADERS:
        raise PermissionDenied
    return term


def _is_administrator(user, school_id: int) -> bool:
    return Role.ADMINISTRATOR in access_for(user).roles_at(school_id)


# The term's list ------------------------------------------------------------------------------


def _render_list(request, term, basic_care_form):
    catalogue = selectors.term_catalogue(term)
    filters = OfferingFilterForm(request.GET or None)
    chosen = filters.cleaned_data if filters.is_valid() else {}

    def keep(summary) -> bool:
        offering = summary.offering
        return (
            (not chosen.get("kind") or offering.kind == chosen["kind"])
            and (not chosen.get("status") or offering.status == chosen["status"])
            and (not chosen.get("domain") or offering.domain == chosen["domain"])
        )

    domain_rows = [
        {
            "label": domain.label,
            "subject": DOMAIN_SUBJECTS[domain],
            "offered": catalogue.compliance.domains[str(domain.label)],
        }
        for domain in REQUIRED_DOMAINS
    ]
    may_manage = _is_administrator(request.user, term.school_id)
    classes_without_basic_care = 0
    if may_manage:
        classes_without_basic_care = Classroom.objects.filter(school=term.school).count() - len(
            catalogue.basic_care
        )
    return render(
        request,
        "catalogue/offering_list.html",
        {
            "term": term,
            "catalogue": catalogue,
            # Basic care has no domain: a domain filter is about courses only.
            "show_basic_care": chosen.get("kind") != OfferingKind.COURSE and not chosen.get("domain"),
            "show_courses": chosen.get("kind") != OfferingKind.BASIC_CARE,
            "basic_care": [s for s in catalogue.basic_care if keep(s)],
            "courses": [s for s in catalogue.courses if keep(s)],
            "filters": filters,
            "domain_rows": domain_rows,
            "may_manage": may_manage,
            "classes_without_basic_care": classes_without_basic_care,
            "basic_care_form": basic_care_form,
        },
    )


@login_required
@require_GET
def offering_list(request, pk):
    term = _term_for_leaders(request.user, pk)
    return _render_list(request, term, BasicCareForAllForm())


@login_required
@require_POST
def basic_care_create_all(request, pk):
    term = get_term_for_user(request.user, pk, for_write=True)
    form = BasicCareForAllForm(request.POST)
    if form.is_valid():
        try:
            created = services.basic_care_create_for_all_classes(
                actor=request.user, term=term, **form.cleaned_data
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if created:
                messages.success(
                    request, _("已为 %(count)d 个班级开设基础托管（草稿）。") % {"count": len(created)}
                )
            else:
                messages.info(request, _("所有班级都已开设基础托管，没有新增。"))
            return redirect("catalogue:offering-list", pk=term.pk)
    return _render_list(request, term, form)


# The course form --------------------------------------------------------------------------------


def _place_suggestions(school) -> list[str]:
    classrooms = Classroom.objects.filter(school=school).order_by("grade", "number")
    return [_("%(classroom)s教室") % {"classroom": c.name} for c in classrooms] + [
        str(place) for place in COMMON_PLACES
    ]


def _render_form(request, form, *, term, offering=None, title):
    return render(
        request,
        "catalogue/offering_form.html",
        {
            "form": form,
            "term": term,
            "offering": offering,
            "title": title,
            "places": _place_suggestions(term.school),
            "policy": selectors.district_policy(term.school.district),
            "is_free": selectors.fee_standard(term).is_free,
            # A file input cannot be filled again: say so when the page comes back with errors.
            "photo_to_choose_again": form.is_bound and bool(request.FILES.get("photo")),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def offering_create(request, pk):
    term = get_term_for_user(request.user, pk, for_write=True)
    form = OfferingForm(request.POST or None, request.FILES or None, term=term)
    if request.method == "POST" and form.is_valid():
        try:
            offering = services.offering_create(
                actor=request.user, term=term, kind=OfferingKind.COURSE, **form.service_arguments()
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("已保存课程“%(name)s”（草稿）。") % {"name": offering.name})
            return redirect("catalogue:offering-detail", pk=offering.pk)
    return _render_form(request, form, term=term, title=_("新建特色课程"))


@login_required
@require_http_methods(["GET", "POST"])
def offering_edit(request, pk):
    offering = get_offering_for_user(request.user, pk, for_write=True)
    title = offering.name  # offering_update changes the instance even when it refuses
    form = OfferingForm(request.POST or None, request.FILES or None, term=offering.term, offering=offering)
    if request.method == "POST" and form.is_valid():
        try:
            services.offering_update(actor=request.user, offering=offering, **form.service_arguments())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("已保存。"))
            return redirect("catalogue:offering-detail", pk=offering.pk)
    return _render_form(request, form, term=offering.term, offering=offering, title=title)


# One offering -----------------------------------------------------------------------------------


@login_required
@require_GET
def offering_detail(request, pk):
    offering = get_offering_for_user(request.user, pk)
    roles = access_for(request.user).roles_at(offering.school_id)
    is_leader = bool(roles & SCHOOL_LEADERS)
    calendar = selectors.term_calendar(offering.term)
    summary = selectors.offering_summary(calendar, offering)
    taken = selectors.places_taken([offering]).get(offering.pk, 0)
    problems = []
    if is_leader and offering.status != OfferingStatus.CLOSED:
        problems = services.publishing_problems(offering)
    return render(
        request,
        "catalogue/offering_detail.html",
        {
            "offering": offering,
            "summary": summary,
            "teachers": list(offering.teachers.all()),
            "provider_staff": list(offering.provider_staff.order_by("name")),
            "places_left": max(offering.capacity - taken, 0),
            "is_leader": is_leader,
            "may_manage": Role.ADMINISTRATOR in roles,
            "problems": problems,
        },
    )


@login_required
@require_POST
def offering_publish(request, pk):
    offering = get_offering_for_user(request.user, pk, for_write=True)
    try:
        services.offering_publish(actor=request.user, offering=offering)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("已发布“%(name)s”，家长可以看到了。") % {"name": offering.name})
    return redirect("catalogue:offering-detail", pk=offering.pk)


@login_required
@require_POST
def offering_close(request, pk):
    offering = get_offering_for_user(request.user, pk, for_write=True)
    try:
        services.offering_close(actor=request.user, offering=offering)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("已关闭“%(name)s”。") % {"name": offering.name})
    return redirect("catalogue:offering-detail", pk=offering.pk)


urlpatterns = [
    path("terms/<int:pk>/offerings/", offering_list, name="offering-list"),
    path("terms/<int:pk>/offerings/new/", offering_create, name="offering-create"),
    path("terms/<int:pk>/basic-care/", basic_care_create_all, name="basic-care-create-all"),
    path("offerings/<int:pk>/", offering_detail, name="offering-detail"),
    path("offerings/<int:pk>/edit/", offering_edit, name="offering-edit"),
    path("offerings/<int:pk>/publish/", offering_publish, name="offering-publish"),
    path("offerings/<int:pk>/close/", offering_close, name="offering-close"),
]
