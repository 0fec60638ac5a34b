"""Who may reach the provider pages (merged into tests/aftercare/test_url_permissions.py)."""

from catalogue.models import CertificateType, Provider, ProviderKind, ProviderStaffMember


def _institution(world) -> Provider:
    provider, _created = Provider.objects.get_or_create(
        school=world.school,
        name="星火体育培训中心",
        defaults={"district": world.district, "kind": ProviderKind.INSTITUTION, "licence_number": "教民1001"},
    )
    return provider


def _provider(world):
    return {"pk": _institution(world).pk}


def _staff_member(world):
    member = ProviderStaffMember.objects.create(
        provider=_institution(world),
        name="周教练",
        certificate_type=CertificateType.PROFESSIONAL,
        certificate_number="ZY-1",
    )
    return {"pk": member.pk}


URL_TABLE = {
    # Pages without an object act on the user's own school: school B's principal sees school B's list.
    "catalogue:provider-list": ("get", None, {"principal", "admin", "far_principal"}),
    "catalogue:provider-create": ("get", None, {"admin"}),
    # The filing school's leaders, and the officers of its district (read-only, plus vetting).
    "catalogue:provider-detail": ("get", _provider, {"principal", "admin", "district"}),
    "catalogue:provider-edit": ("get", _provider, {"admin"}),
    "catalogue:provider-staff-create": ("get", _provider, {"admin"}),
    "catalogue:provider-staff-edit": ("get", _staff_member, {"admin"}),
    # Only the district's officers vet; the posted data is no valid vetting, so nothing changes.
    "catalogue:provider-vet": ("post", _provider, {"district"}),
    "catalogue:district-provider-list": ("get", None, {"district"}),
}
