"""Provider pages: a school files its parent volunteers and outside institutions with their staff;
the district's officers vet the institutions (篇八)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from aftercare.roles import Role
from catalogue.models import (
    CertificateType,
    Offering,
    OfferingKind,
    Provider,
    ProviderKind,
    ProviderStaffMember,
    VettingStatus,
)
from catalogue.services import (
    INSTITUTION_STAYS_INSTITUTION,
    LICENCE_REQUIRED,
    PROVIDER_NAME_TAKEN,
    SUSPENSION_NEEDS_NOTE,
    VOLUNTEER_NOT_VETTED,
)
from tests.conftest import client_for
from tests.factories import DistrictFactory, SchoolFactory, make_district_officer, make_staff

# The service's message for a certificate without its number (provider_staff_save has no constant).
CERTIFICATE_NUMBER_MISSING = "请填写证书编号。"


def institution(school, name="星火体育培训中心", status=VettingStatus.PENDING, **fields) -> Provider:
    return Provider.objects.create(
        school=school,
        district=school.district,
        kind=ProviderKind.INSTITUTION,
        name=name,
        licence_number=fields.pop("licence_number", "教民1001"),
        vetting_status=status,
        **fields,
    )


def staff_member(provider, name="周教练", expires_on=None, **fields) -> ProviderStaffMember:
    return ProviderStaffMember.objects.create(
        provider=provider,
        name=name,
        certificate_type=fields.pop("certificate_type", CertificateType.PROFESSIONAL),
        certificate_number=fields.pop("certificate_number", "ZY-1"),
        certificate_expires_on=expires_on,
        **fields,
    )


def provider_form(**overrides) -> dict:
    data = {
        "kind": ProviderKind.INSTITUTION,
        "name": "星火体育培训中心",
        "licence_number": "教民1001",
        "contact_name": "钱经理",
        "phone": "0755-12345678",
    }
    data.update(overrides)
    return data


def staff_form(**overrides) -> dict:
    data = {
        "name": "孙老师",
        "certificate_type": CertificateType.TEACHER,
        "certificate_number": "20264400012",
        "certificate_expires_on": "",
        "user": "",
    }
    data.update(overrides)
    return data


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# Filing ----------------------------------------------------------------------------------------


def test_administrator_files_an_institution_which_waits_for_the_district(world, as_user):
    response = as_user("admin").post(reverse("catalogue:provider-create"), provider_form())

    provider = Provider.objects.get(school=world.school, name="星火体育培训中心")
    assert response.status_code == 302
    assert response["Location"] == reverse("catalogue:provider-detail", args=[provider.pk])
    assert messages_of(response) == ["已备案校外机构“星火体育培训中心”，等待教育局审核。"]
    assert (provider.kind, provider.vetting_status, provider.district) == (
        ProviderKind.INSTITUTION,
        VettingStatus.PENDING,
        world.district,
    )
    assert (provider.licence_number, provider.contact_name, provider.phone) == (
        "教民1001",
        "钱经理",
        "0755-12345678",
    )
    assert provider.history.get().history_user == world.users["admin"]


def test_administrator_adds_a_parent_volunteer_who_is_approved_at_once(world, as_user):
    response = as_user("admin").post(
        reverse("catalogue:provider-create"),
        provider_form(kind=ProviderKind.PARENT_VOLUNTEER, name="王妈妈（剪纸）", licence_number=""),
    )

    provider = Provider.objects.get(name="王妈妈（剪纸）")
    assert response.status_code == 302
    assert messages_of(response) == ["已添加家长志愿者“王妈妈（剪纸）”。"]
    assert provider.vetting_status == VettingStatus.APPROVED


def test_an_institution_without_licence_is_refused_and_the_form_keeps_the_input(world, as_user):
    response = as_user("admin").post(reverse("catalogue:provider-create"), provider_form(licence_number=""))

    assert response.status_code == 200
    assert response.context["form"].errors == {"licence_number": [str(LICENCE_REQUIRED)]}
    assert str(LICENCE_REQUIRED) in response.content.decode()
    assert 'value="钱经理"' in response.content.decode()
    assert not Provider.objects.exists()


def test_a_second_provider_with_the_same_name_is_refused(world, as_user):
    institution(world.school)

    response = as_user("admin").post(
        reverse("catalogue:provider-create"), provider_form(licence_number="教民2002")
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {"name": [str(PROVIDER_NAME_TAKEN)]}
    assert Provider.objects.count() == 1


def test_changing_an_approved_institutions_licence_sends_it_back_to_pending(world, as_user):
    provider = institution(world.school, status=VettingStatus.APPROVED)

    response = as_user("admin").post(
        reverse("catalogue:provider-edit", args=[provider.pk]), provider_form(licence_number="教民9999")
    )

    assert response.status_code == 302
    assert messages_of(response) == [
        "已保存。“星火体育培训中心”的备案信息有变更，已退回教育局重新审核，目前为“待审核”。"
    ]
    provider.refresh_from_db()
    assert (provider.licence_number, provider.vetting_status) == ("教民9999", VettingStatus.PENDING)


def test_changing_only_the_contact_keeps_the_institution_approved(world, as_user):
    provider = institution(world.school, status=VettingStatus.APPROVED)

    response = as_user("admin").post(
        reverse("catalogue:provider-edit", args=[provider.pk]), provider_form(contact_name="李主任")
    )

    assert messages_of(response) == ["已保存。"]
    provider.refresh_from_db()
    assert (provider.contact_name, provider.vetting_status) == ("李主任", VettingStatus.APPROVED)


def test_an_institution_cannot_become_a_volunteer_and_skip_vetting(world, as_user):
    provider = institution(world.school, status=VettingStatus.SUSPENDED)

    response = as_user("admin").post(
        reverse("catalogue:provider-edit", args=[provider.pk]),
        provider_form(kind=ProviderKind.PARENT_VOLUNTEER),
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {"kind": [str(INSTITUTION_STAYS_INSTITUTION)]}
    provider.refresh_from_db()
    assert (provider.kind, provider.vetting_status) == (ProviderKind.INSTITUTION, VettingStatus.SUSPENDED)


def test_a_volunteer_who_becomes_an_institution_goes_to_the_district(world, as_user):
    provider = Provider.objects.create(
        school=world.school,
        district=world.district,
        kind=ProviderKind.PARENT_VOLUNTEER,
        name="星火体育培训中心",
        vetting_status=VettingStatus.APPROVED,
    )

    as_user("admin").post(reverse("catalogue:provider-edit", args=[provider.pk]), provider_form())

    provider.refresh_from_db()
    assert (provider.kind, provider.vetting_status) == (ProviderKind.INSTITUTION, VettingStatus.PENDING)


# Staff -----------------------------------------------------------------------------------------


def test_a_teacher_certificate_without_number_re_renders_with_the_services_message(world, as_user):
    provider = institution(world.school)

    response = as_user("admin").post(
        reverse("catalogue:provider-staff-create", args=[provider.pk]),
        staff_form(certificate_number="", certificate_expires_on="2027-06-30"),
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {"certificate_number": [CERTIFICATE_NUMBER_MISSING]}
    assert CERTIFICATE_NUMBER_MISSING in response.content.decode()
    assert 'value="孙老师"' in response.content.decode()
    assert 'value="2027-06-30"' in response.content.decode()
    assert not ProviderStaffMember.objects.exists()


def test_administrator_adds_staff_linked_to_a_provider_staff_account(world, as_user):
    provider = institution(world.school)

    response = as_user("admin").post(
        reverse("catalogue:provider-staff-create", args=[provider.pk]),
        staff_form(certificate_expires_on="2028-08-31", user=world.users["provider"].pk),
    )

    assert response.status_code == 302
    assert messages_of(response) == ["已添加授课人员 孙老师。"]
    member = ProviderStaffMember.objects.get(provider=provider)
    assert (member.name, member.certificate_type, member.certificate_number) == (
        "孙老师",
        CertificateType.TEACHER,
        "20264400012",
    )
    assert member.certificate_expires_on == datetime(2028, 8, 31).date()
    assert member.user == world.users["provider"]
    assert member.history.get().history_user == world.users["admin"]


def test_only_the_schools_provider_staff_accounts_can_be_linked(world, as_user):
    provider = institution(world.school)
    path = reverse("catalogue:provider-staff-create", args=[provider.pk])

    choices = list(as_user("admin").get(path).context["form"].fields["user"].queryset)
    response = as_user("admin").post(path, staff_form(user=world.users["service_teacher"].pk))

    assert choices == [world.users["provider"]]
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["user"]
    assert not ProviderStaffMember.objects.exists()


def test_an_institutions_staff_cannot_be_filed_without_certificate(world, as_user):
    provider = institution(world.school)
    path = reverse("catalogue:provider-staff-create", args=[provider.pk])

    choices = as_user("admin").get(path).context["form"].fields["certificate_type"].choices

    assert [value for value, _label in choices] == [CertificateType.TEACHER, CertificateType.PROFESSIONAL]


def test_editing_staff_keeps_a_linked_account_that_lost_the_role(world, as_user):
    provider = institution(world.school)
    former = make_staff(world.school, Role.SERVICE_TEACHER, username="former_coach")
    member = staff_member(provider, user=former)

    response = as_user("admin").post(
        reverse("catalogue:provider-staff-edit", args=[member.pk]),
        staff_form(
            name="周教练",
            certificate_type=CertificateType.PROFESSIONAL,
            certificate_number="ZY-2",
            user=former.pk,
        ),
    )

    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.certificate_number, member.user) == ("ZY-2", former)


# Certificates ----------------------------------------------------------------------------------


def test_certificates_expired_or_expiring_within_30_days_are_flagged(world, as_user):
    today = timezone.localdate()
    provider = institution(world.school, status=VettingStatus.APPROVED)
    staff_member(provider, "甲", expires_on=today - timedelta(days=1))
    staff_member(provider, "乙", expires_on=today)
    staff_member(provider, "丙", expires_on=today + timedelta(days=30))
    staff_member(provider, "丁", expires_on=today + timedelta(days=31))
    staff_member(provider, "戊", expires_on=None)

    detail = as_user("admin").get(reverse("catalogue:provider-detail", args=[provider.pk]))
    listing = as_user("admin").get(reverse("catalogue:provider-list"))

    states = {m.name: m.certificate_state for m in detail.context["staff_members"]}
    assert states == {"甲": "expired", "乙": "expiring", "丙": "expiring", "丁": "", "戊": ""}
    row = listing.context["providers"].get()
    assert (row.staff_count, row.expired_count, row.expiring_count, row.uncertified_count) == (5, 1, 2, 0)
    page = listing.content.decode()
    assert "证书过期 1 人" in page
    assert "30天内到期 2 人" in page


def test_a_list_without_certificate_problems_shows_no_warning(world, as_user):
    provider = institution(world.school, status=VettingStatus.APPROVED)
    staff_member(provider, expires_on=timezone.localdate() + timedelta(days=31))

    page = as_user("principal").get(reverse("catalogue:provider-list")).content.decode()

    assert "授课人员 1 人" in page
    assert "证书过期" not in page
    assert "天内到期" not in page


# Vetting ---------------------------------------------------------------------------------------


def test_district_officer_approves_an_institution(world, as_user, monkeypatch):
    provider = institution(world.school)
    moment = datetime(2026, 9, 3, 2, 30, tzinfo=UTC)
    monkeypatch.setattr(timezone, "now", lambda: moment)

    response = as_user("district").post(
        reverse("catalogue:provider-vet", args=[provider.pk]),
        {"status": VettingStatus.APPROVED, "note": "证照齐全"},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("catalogue:district-provider-list")
    assert messages_of(response) == ["已将“星火体育培训中心”设为已通过。"]
    provider.refresh_from_db()
    assert (provider.vetting_status, provider.vetting_note) == (VettingStatus.APPROVED, "证照齐全")
    assert (provider.vetted_by, provider.vetted_at) == (world.users["district"], moment)
    latest = provider.history.get(history_type="~")
    assert (latest.vetting_status, latest.history_user) == (VettingStatus.APPROVED, world.users["district"])


def test_a_suspension_needs_a_note(world, as_user):
    provider = institution(world.school, status=VettingStatus.APPROVED)

    response = as_user("district").post(
        reverse("catalogue:provider-vet", args=[provider.pk]),
        {"status": VettingStatus.SUSPENDED, "note": " "},
    )

    assert response.status_code == 200
    assert response.context["vetting_form"].errors == {"note": [str(SUSPENSION_NEEDS_NOTE)]}
    provider.refresh_from_db()
    assert (provider.vetting_status, provider.vetted_by) == (VettingStatus.APPROVED, None)


def test_a_parent_volunteer_is_not_vetted_by_the_district(world, as_user):
    provider = Provider.objects.create(
        school=world.school,
        district=world.district,
        kind=ProviderKind.PARENT_VOLUNTEER,
        name="王妈妈（剪纸）",
        vetting_status=VettingStatus.APPROVED,
    )

    response = as_user("district").post(
        reverse("catalogue:provider-vet", args=[provider.pk]),
        {"status": VettingStatus.SUSPENDED, "note": "投诉"},
    )

    assert response.status_code == 200
    assert response.context["vetting_form"].non_field_errors() == [str(VOLUNTEER_NOT_VETTED)]
    provider.refresh_from_db()
    assert provider.vetting_status == VettingStatus.APPROVED


def test_school_administrator_cannot_vet_and_nothing_changes(world, as_user):
    provider = institution(world.school)

    response = as_user("admin").post(
        reverse("catalogue:provider-vet", args=[provider.pk]), {"status": VettingStatus.APPROVED, "note": ""}
    )

    assert response.status_code == 403
    provider.refresh_from_db()
    assert (provider.vetting_status, provider.vetted_by, provider.vetted_at) == (
        VettingStatus.PENDING,
        None,
        None,
    )
    assert provider.history.count() == 1


def test_officer_of_another_district_gets_404_and_nothing_changes(world):
    provider = institution(world.school)
    far_officer = make_district_officer(DistrictFactory(name="邻区"), username="far_district")
    client = client_for(far_officer)

    vet = client.post(
        reverse("catalogue:provider-vet", args=[provider.pk]), {"status": VettingStatus.APPROVED, "note": ""}
    )
    detail = client.get(reverse("catalogue:provider-detail", args=[provider.pk]))

    assert (vet.status_code, detail.status_code) == (404, 404)
    provider.refresh_from_db()
    assert (provider.vetting_status, provider.vetted_by) == (VettingStatus.PENDING, None)


def test_district_officer_reads_the_detail_with_the_vetting_form_but_cannot_edit(world, as_user):
    provider = institution(world.school, vetting_note="请补充人员证书")
    staff_member(provider)
    client = as_user("district")

    detail = client.get(reverse("catalogue:provider-detail", args=[provider.pk]))
    edit = client.post(reverse("catalogue:provider-edit", args=[provider.pk]), provider_form(name="改名"))

    assert detail.status_code == 200
    assert detail.context["may_manage"] is False
    assert detail.context["vetting_form"].initial == {
        "status": VettingStatus.PENDING,
        "note": "请补充人员证书",
    }
    assert reverse("catalogue:provider-edit", args=[provider.pk]) not in detail.content.decode()
    assert edit.status_code == 403
    provider.refresh_from_db()
    assert provider.name == "星火体育培训中心"


# Who may see what ------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["parent", "committee"])
def test_parents_get_404_on_provider_pages(world, as_user, persona):
    provider = institution(world.school)
    member = staff_member(provider)
    client = as_user(persona)

    paths = [
        reverse("catalogue:provider-detail", args=[provider.pk]),
        reverse("catalogue:provider-edit", args=[provider.pk]),
        reverse("catalogue:provider-staff-create", args=[provider.pk]),
        reverse("catalogue:provider-staff-edit", args=[member.pk]),
    ]

    assert [client.get(path).status_code for path in paths] == [404, 404, 404, 404]
    assert client.post(paths[1], provider_form(name="改名")).status_code == 404
    provider.refresh_from_db()
    assert provider.name == "星火体育培训中心"


def test_principal_sees_providers_but_may_not_change_them(world, as_user):
    provider = institution(world.school)
    member = staff_member(provider)
    client = as_user("principal")

    listing = client.get(reverse("catalogue:provider-list"))
    detail = client.get(reverse("catalogue:provider-detail", args=[provider.pk]))
    denied = [
        client.get(reverse("catalogue:provider-create")).status_code,
        client.post(
            reverse("catalogue:provider-edit", args=[provider.pk]), provider_form(name="改名")
        ).status_code,
        client.post(reverse("catalogue:provider-staff-create", args=[provider.pk]), staff_form()).status_code,
        client.post(reverse("catalogue:provider-staff-edit", args=[member.pk]), staff_form()).status_code,
    ]

    assert (listing.status_code, detail.status_code) == (200, 200)
    assert (listing.context["may_manage"], detail.context["may_manage"]) == (False, False)
    assert detail.context["vetting_form"] is None
    assert reverse("catalogue:provider-create") not in listing.content.decode()
    assert denied == [403, 403, 403, 403]
    provider.refresh_from_db()
    member.refresh_from_db()
    assert (provider.name, member.name, ProviderStaffMember.objects.count()) == (
        "星火体育培训中心",
        "周教练",
        1,
    )


def test_the_detail_lists_the_providers_courses(world, as_user):
    provider = institution(world.school, status=VettingStatus.APPROVED)
    Offering.objects.create(
        school=world.school,
        term=world.school.terms.get(),
        kind=OfferingKind.COURSE,
        name="少儿足球",
        domain="physical",
        grades=[3],
        capacity=20,
        weekdays=[1],
        provider=provider,
    )

    response = as_user("admin").get(reverse("catalogue:provider-detail", args=[provider.pk]))

    assert [(o.name, o.term.name) for o in response.context["offerings"]] == [("少儿足球", "2026秋季学期")]
    course = Offering.objects.get(name="少儿足球")
    assert reverse("catalogue:offering-detail", args=[course.pk]) in response.content.decode()


# District list ---------------------------------------------------------------------------------


def test_district_list_shows_the_districts_institutions_pending_first(world, as_user):
    institution(world.school, "甲机构", status=VettingStatus.APPROVED)
    institution(world.other_school, "乙机构", status=VettingStatus.PENDING)
    institution(world.school, "丙机构", status=VettingStatus.SUSPENDED)
    Provider.objects.create(
        school=world.school, district=world.district, kind=ProviderKind.PARENT_VOLUNTEER, name="志愿者"
    )
    institution(SchoolFactory(district=DistrictFactory()), "外区机构")

    response = as_user("district").get(reverse("catalogue:district-provider-list"))

    assert [(p.name, p.school.name) for p in response.context["providers"]] == [
        ("乙机构", "乙小学"),
        ("丙机构", "甲小学"),
        ("甲机构", "甲小学"),
    ]


def test_district_list_filters_by_status(world, as_user):
    institution(world.school, "甲机构", status=VettingStatus.APPROVED)
    institution(world.other_school, "乙机构", status=VettingStatus.PENDING)

    response = as_user("district").get(reverse("catalogue:district-provider-list"), {"status": "approved"})

    assert [p.name for p in response.context["providers"]] == ["甲机构"]


def test_district_list_counts_certificate_problems(world, as_user):
    today = timezone.localdate()
    provider = institution(world.school)
    staff_member(provider, "甲", expires_on=today - timedelta(days=10))
    staff_member(provider, "乙", certificate_type=CertificateType.NONE, certificate_number="")

    response = as_user("district").get(reverse("catalogue:district-provider-list"))

    row = response.context["providers"].get()
    assert (row.staff_count, row.expired_count, row.expiring_count, row.uncertified_count) == (2, 1, 0, 1)
    assert "无证书 1 人" in response.content.decode()


# Query counts ----------------------------------------------------------------------------------


def grow(schools, providers: int) -> None:
    """``providers`` institutions, spread over ``schools``, each with one valid and one expired certificate."""
    today = timezone.localdate()
    for n in range(Provider.objects.count(), providers):
        provider = institution(schools[n % len(schools)], f"机构{n}", licence_number=f"L{n}")
        staff_member(provider, f"教练{n}", expires_on=today + timedelta(days=n))
        staff_member(provider, f"助教{n}", expires_on=today - timedelta(days=n + 1))


@pytest.mark.parametrize(
    ("persona", "url", "district_wide", "expected"),
    [
        ("admin", "catalogue:provider-list", False, 5),
        ("principal", "catalogue:provider-list", False, 5),
        ("district", "catalogue:district-provider-list", True, 5),
    ],
)
def test_provider_lists_run_a_constant_number_of_queries(
    world, as_user, persona, url, district_wide, expected
):
    schools = [world.school, world.other_school] if district_wide else [world.school]
    client = as_user(persona)
    path = reverse(url)
    client.get(path)  # the first request of a session writes it; measure the ones after
    counts = []
    for providers in (2, 20):
        grow(schools, providers)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        assert response.status_code == 200
        assert len(response.context["providers"]) == providers
        counts.append(len(queries))
    assert counts == [expected, expected], [q["sql"][:120] for q in queries.captured_queries]


def test_provider_detail_runs_a_constant_number_of_queries(world, as_user):
    provider = institution(world.school)
    client = as_user("district")
    path = reverse("catalogue:provider-detail", args=[provider.pk])
    client.get(path)
    counts = []
    for members in (2, 20):
        for n in range(provider.staff_members.count(), members):
            staff_member(provider, f"教练{n}", user=make_staff(world.school, Role.PROVIDER_STAFF))
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        assert len(response.context["staff_members"]) == members
        counts.append(len(queries))
    assert counts == [7, 7], [q["sql"][:120] for q in queries.captured_queries]
