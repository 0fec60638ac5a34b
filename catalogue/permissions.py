"""Who may see and change the catalogue. Same rules as aftercare.permissions: 404 for outsiders,
403 for insiders without the role."""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from aftercare.models import Term
from aftercare.permissions import access_for
from aftercare.roles import SCHOOL_LEADERS, TEACHING_ROLES, Role

from .models import Offering, OfferingStatus, Provider, ProviderStaffMember

OUTSIDER_ROLES = frozenset({Role.DISTRICT_OFFICER})


def _school_roles_or_404(user, school_id: int) -> frozenset[Role]:
    roles = access_for(user).roles_at(school_id) - OUTSIDER_ROLES
    if not roles:
        raise Http404
    return roles


def get_term_for_user(user, pk: int, *, for_write: bool = False) -> Term:
    """Everyone at the school reads a term's calendar and offer; administrators change it."""
    term = Term.objects.select_related("school__district").filter(pk=pk).first()
    if term is None:
        raise Http404
    roles = _school_roles_or_404(user, term.school_id)
    if for_write and Role.ADMINISTRATOR not in roles:
        raise PermissionDenied
    return term


def get_offering_for_user(user, pk: int, *, for_write: bool = False) -> Offering:
    """Published offerings are open to the school; drafts to leaders and the offering's teachers."""
    offering = (
        Offering.objects.select_related("term", "school__district", "classroom", "provider")
        .filter(pk=pk)
        .first()
    )
    if offering is None:
        raise Http404
    roles = _school_roles_or_404(user, offering.school_id)
    if for_write:
        if Role.ADMINISTRATOR in roles:
            return offering
        raise PermissionDenied
    if offering.status != OfferingStatus.DRAFT or roles & SCHOOL_LEADERS:
        return offering
    if roles & TEACHING_ROLES and offering.teachers.filter(pk=user.pk).exists():
        return offering
    if roles <= {Role.PARENT, Role.PARENT_COMMITTEE}:
        raise Http404
    raise PermissionDenied


def may_vet(user, provider: Provider) -> bool:
    return provider.district_id in access_for(user).district_ids


def get_provider_for_user(user, pk: int, *, for_write: bool = False, for_vetting: bool = False) -> Provider:
    """The filing school's leaders see a provider and its administrators change it; the district's
    officers see and vet it."""
    provider = Provider.objects.select_related("school", "district", "vetted_by").filter(pk=pk).first()
    if provider is None:
        raise Http404
    school_roles = access_for(user).roles_at(provider.school_id) - OUTSIDER_ROLES
    if not for_vetting and Role.ADMINISTRATOR in school_roles:
        return provider
    if may_vet(user, provider):
        if for_write and not for_vetting:
            raise PermissionDenied
        return provider
    if for_vetting:
        if school_roles:
            raise PermissionDenied
        raise Http404
    roles = _school_roles_or_404(user, provider.school_id)
    if Role.ADMINISTRATOR in roles or (not for_write and Role.PRINCIPAL in roles):
        return provider
    if roles <= {Role.PARENT, Role.PARENT_COMMITTEE}:
        raise Http404
    raise PermissionDenied


def get_provider_staff_for_user(user, pk: int, *, for_write: bool = False) -> ProviderStaffMember:
    member = ProviderStaffMember.objects.select_related("provider").filter(pk=pk).first()
    if member is None:
        raise Http404
    get_provider_for_user(user, member.provider_id, for_write=for_write)
    return member
