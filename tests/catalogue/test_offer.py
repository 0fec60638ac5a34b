import subprocess
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aftercare.models import Job, JobStatus
from catalogue import services
from catalogue.models import FeeMode, OfferingKind, Provider, ProviderKind, ProviderStaffMember

# The term of the world: 2026-09-01 .. 2027-01-20, Monday to Friday.


@pytest.fixture
def term(world):
    term = world.school.terms.get()
    services.term_setup_defaults(actor=world.users["admin"], term=term)
    term.winter_starts_on = date(2026, 11, 1)
    term.save()
    return term


def publish(offering, actor):
    return services.offering_publish(actor=actor, offering=offering)


def make_course(term, actor, name, domain, grades, weekdays, fee_mode=FeeMode.FREE, fee_amount=Decimal("0")):
    course = services.offering_create(
        actor=actor,
        term=term,
        kind=OfferingKind.COURSE,
        name=name,
        domain=domain,
        grades=grades,
        capacity=30,
        weekdays=weekdays,
        place="操场",
        fee_mode=fee_mode,
        fee_amount=fee_amount,
        teachers=[actor],
    )
    return publish(course, actor)


def test_offer_lists_times_offerings_per_grade_fees_and_principles(world, term, as_user):
    admin = world.users["admin"]
    services.calendar_update(
        actor=admin,
        term=term,
        service_weekdays=[0, 1, 2, 4],  # Thursday is teacher study (篇七)
        winter_starts_on=date(2026, 11, 1),
        winter_ends_on=None,
        excluded=[(date(2026, 10, 1), "国庆节")],
        makeup=[],
    )
    make_course(term, admin, "足球", "physical", [3, 4], [1], FeeMode.PER_SESSION, Decimal("5.00"))
    make_course(term, admin, "书法", "aesthetic", [1, 2], [0])
    for offering in services.basic_care_create_for_all_classes(actor=admin, term=term):
        publish(offering, admin)
    services.fee_standard_update(
        actor=admin,
        term=term,
        is_free=False,
        legal_basis="市发改委文件",
        complaint_phone="0755-12345",
        refund_rule="",
    )

    page = as_user("parent").get(reverse("catalogue:term-offer", args=[term.pk])).content.decode()

    # Tuesdays from 2026-09-01 to 2027-01-19: 21 sessions of football at 5 yuan.
    assert "本学期 21 次，每生 105.00 元" in page
    assert "足球" in page and "书法" in page
    assert "本年级 2 个班各设一项，班主任负责" in page
    grade_three = page[page.index('id="grade-3"') :]
    grade_three = grade_three[: grade_three.index("</section>")]
    # The parent's child is in grade 3: that grade comes first.
    assert page.index('id="grade-3"') < page.index('id="grade-1"')
    assert "足球" in grade_three and "书法" not in grade_three
    assert "16:10–17:45" in page and "16:10–17:15" in page
    assert "剩余名额 30 / 30" in page
    assert "2026年10月1日</span>（国庆节）" in page
    assert "市发改委文件" in page and "0755-12345" in page
    assert "不上新课，不搞集体补课，不增加学生课业负担" in page
    assert "每生每学期基础托管收费不超过 350.00 元" in page


def test_drafts_are_not_in_the_offer(world, term, as_user):
    services.offering_create(
        actor=world.users["admin"],
        term=term,
        kind=OfferingKind.COURSE,
        name="机器人",
        domain="intellectual",
        grades=[3],
        capacity=20,
        weekdays=[2],
    )
    page = as_user("parent").get(reverse("catalogue:term-offer", args=[term.pk])).content.decode()
    assert "机器人" not in page
    assert "本学期的课后服务项目还没有发布。" in page


def test_free_school_says_so(world, term, as_user):
    services.fee_standard_update(
        actor=world.users["admin"],
        term=term,
        is_free=True,
        legal_basis="",
        complaint_phone="",
        refund_rule="",
    )
    page = as_user("parent").get(reverse("catalogue:term-offer", args=[term.pk])).content.decode()
    assert "本学期课后服务全部免费，不收取任何费用。" in page


def test_another_schools_parent_gets_404(world, term, as_user):
    assert as_user("far_parent").get(reverse("catalogue:term-offer", args=[term.pk])).status_code == 404


def test_current_offer_redirects_to_the_current_term(world, term, as_user, settings):
    from unittest import mock

    with mock.patch("django.utils.timezone.localdate", return_value=date(2026, 10, 12)):
        response = as_user("parent").get(reverse("catalogue:offer"))
    assert response.status_code == 302
    assert response["Location"] == reverse("catalogue:term-offer", args=[term.pk])


def test_offer_page_runs_a_constant_number_of_queries(world, term, as_user):
    client = as_user("parent")
    path = reverse("catalogue:term-offer", args=[term.pk])
    client.get(path)
    counts = []
    for batch in (("足球",), ("篮球", "舞蹈", "剪纸", "烘焙", "合唱")):
        for name in batch:
            make_course(term, world.users["admin"], name, "physical", [1, 2, 3], [0, 2])
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path).status_code == 200
        counts.append(len(queries))
    assert counts == [13, 13]


def pdf_text_and_fonts(content: bytes, tmp_path):
    path = tmp_path / "letter.pdf"
    path.write_bytes(content)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    return text, fonts


def test_letter_to_parents_is_a_pdf_with_chinese_text_and_an_embedded_cjk_font(
    world, term, as_user, django_capture_on_commit_callbacks, tmp_path
):
    make_course(term, world.users["admin"], "葫芦丝", "aesthetic", [3], [0])
    client = as_user("parent")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("catalogue:offer-letter", args=[term.pk]))
    job = Job.objects.get(created_by=world.users["parent"])
    assert response["Location"] == reverse("core:job-detail", args=[job.pk])
    assert job.status == JobStatus.SUCCEEDED
    download = client.get(reverse("core:job-download", args=[job.pk]))
    text, fonts = pdf_text_and_fonts(b"".join(download.streaming_content), tmp_path)
    assert "甲小学课后服务致家长的一封信" in text
    assert "葫芦丝" in text
    assert "不上新课、不搞集体补课、不增加学生课业负担" in text
    cjk = [line for line in fonts.splitlines() if "CJK" in line]
    assert cjk, fonts
    assert all(" yes " in line for line in cjk)


def test_institution_course_needs_vetting_before_it_reaches_the_offer(world, term, as_user):
    admin = world.users["admin"]
    institution = services.provider_save(
        actor=admin,
        school=world.school,
        kind=ProviderKind.INSTITUTION,
        name="星星艺术培训",
        licence_number="L-1",
    )
    member = services.provider_staff_save(
        actor=admin,
        provider=institution,
        name="刘老师",
        certificate_type="teacher",
        certificate_number="T-9",
        certificate_expires_on=date(2030, 1, 1),
    )
    course = services.offering_create(
        actor=admin,
        term=term,
        kind=OfferingKind.COURSE,
        name="国画",
        domain="aesthetic",
        grades=[3],
        capacity=20,
        weekdays=[3],
        provider=institution,
        provider_staff=[member],
    )
    with pytest.raises(Exception) as refused:
        publish(course, admin)
    assert "机构“星星艺术培训”的教育局审核状态为“待审核”，通过审核后才能发布课程。" in str(refused.value)
    services.provider_vet(
        actor=world.users["district"], provider=Provider.objects.get(pk=institution.pk), status="approved"
    )
    publish(course, admin)
    assert "国画" in as_user("parent").get(reverse("catalogue:term-offer", args=[term.pk])).content.decode()
    assert ProviderStaffMember.objects.filter(provider=institution).count() == 1
