"""The offering pages by role: the term's list with its compliance panel, the course form, one
offering as families see it, publishing and closing, basic care for every class."""

import re
from datetime import date
from decimal import Decimal
from io import BytesIO

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from aftercare.models import Classroom, Term
from aftercare.roles import Role
from catalogue import services
from catalogue.forms_offerings import (
    COURSE_NAME_TAKEN,
    PHOTO_TOO_LARGE,
    PHOTO_WRONG_FORMAT,
    STAFF_OF_OTHER_PROVIDER,
)
from catalogue.models import (
    CertificateType,
    Domain,
    FeeMode,
    Offering,
    OfferingKind,
    OfferingStatus,
    ProviderKind,
)
from catalogue.services import FREE_SCHOOL_FEE, NO_TEACHER
from tests.conftest import client_for
from tests.factories import ClassroomFactory, make_staff

PNG_CONTENT_TYPE = "image/png"


@pytest.fixture
def term(world):
    term = world.school.terms.get()
    services.term_setup_defaults(actor=world.users["admin"], term=term)
    return term


@pytest.fixture
def far_admin(world):
    # An administrator of school B: nothing of school A, as for a missing row.
    return make_staff(world.other_school, Role.ADMINISTRATOR, username="far_admin")


def course(world, term, *, publish=False, **fields):
    values = {
        "kind": OfferingKind.COURSE,
        "name": "足球",
        "domain": Domain.PHYSICAL,
        "grades": [3, 4],
        "capacity": 20,
        "weekdays": [2],
        "place": "操场",
        "teachers": [world.users["service_teacher"]],
    }
    values.update(fields)
    offering = services.offering_create(actor=world.users["admin"], term=term, **values)
    if publish:
        services.offering_publish(actor=world.users["admin"], offering=offering)
    return offering


def course_form(world, **overrides):
    data = {
        "name": "剪纸",
        "description": "学习传统剪纸。",
        "domain": Domain.AESTHETIC,
        "grades": ["3", "4"],
        "capacity": "25",
        "weekdays": ["0", "2"],
        "slot_kind": "after_school",
        "place": "美术室",
        "teachers": [str(world.users["service_teacher"].pk)],
        "provider": "",
        "fee_mode": FeeMode.FREE,
        "fee_amount": "",
    }
    data.update(overrides)
    return data


def png(size=(8, 8), padding=0) -> BytesIO:
    buffer = BytesIO()
    Image.new("RGB", size, "orange").save(buffer, "PNG")
    # Bytes after the image's end chunk: Pillow still reads it; only the size grows.
    buffer.write(b"\0" * padding)
    buffer.seek(0)
    buffer.name = "photo.png"
    return buffer


def page_of(response) -> str:
    return response.content.decode()


def flashed(response) -> list[str]:
    """The messages shown on the page a POST redirected to (requested with ``follow=True``)."""
    return [str(m) for m in response.context["messages"]]


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


# The list and its compliance panel ---------------------------------------------------------------


def test_compliance_panel_says_labour_is_missing(world, as_user, term):
    course(world, term, name="足球", domain=Domain.PHYSICAL, publish=True)
    course(world, term, name="合唱", domain=Domain.AESTHETIC, publish=True)
    course(world, term, name="烘焙", domain=Domain.LABOUR)  # a draft does not count

    page = page_of(as_user("principal").get(reverse("catalogue:offering-list", args=[term.pk])))

    assert "体：本学期已有已发布的体育课程。" in page
    assert "美：本学期已有已发布的美育课程。" in page
    assert "劳：本学期还没有已发布的劳动教育课程，体、美、劳每类至少要开设一门。" in page


def test_compliance_panel_lists_last_terms_low_satisfaction_courses(world, as_user, term):
    spring = Term.objects.create(
        school=world.school, name="2026春季学期", starts_on=date(2026, 2, 20), ends_on=date(2026, 7, 10)
    )
    services.term_setup_defaults(actor=world.users["admin"], term=spring)
    pottery = course(world, spring, name="陶艺", domain=Domain.LABOUR)
    chess = course(world, spring, name="围棋", domain=Domain.INTELLECTUAL)
    # The surveys app fills in satisfaction at term end.
    Offering.objects.filter(pk=pottery.pk).update(satisfaction_percent=Decimal("50.00"))
    Offering.objects.filter(pk=chess.pk).update(satisfaction_percent=Decimal("75.00"))
    course(world, term, name="陶艺", domain=Domain.LABOUR)

    page = page_of(as_user("admin").get(reverse("catalogue:offering-list", args=[term.pk])))

    assert "家长满意度低于 60% 的课程，本学期不应再开设。" in page
    assert "陶艺：满意度 50%，低于 60%" in page
    assert "本学期又列入了" in page
    assert "围棋" not in page


def test_without_low_satisfaction_the_panel_says_so(world, as_user, term):
    page = page_of(as_user("admin").get(reverse("catalogue:offering-list", args=[term.pk])))

    assert "上学期没有满意度低于 60% 的课程（满意度由期末家长问卷填入）。" in page


def test_list_shows_days_time_band_and_term_cost(world, as_user, term):
    course(world, term, fee_mode=FeeMode.PER_SESSION, fee_amount=Decimal("20.00"))

    page = page_of(as_user("admin").get(reverse("catalogue:offering-list", args=[term.pk])))

    # Wednesdays of 2 Sep 2026 to 20 Jan 2027: 21. Grade 3 keeps the 16:10–17:45 band all term.
    assert "周三" in page
    assert "16:10–17:45" in page
    assert "每次 20.00 元" in page
    assert "本学期 21 次，共 420.00 元" in page
    assert "三年级、四年级" in page


def test_filters_by_kind_status_and_domain(world, as_user, term):
    course(world, term, name="足球", domain=Domain.PHYSICAL, publish=True)
    course(world, term, name="合唱", domain=Domain.AESTHETIC, publish=True)
    course(world, term, name="武术", domain=Domain.PHYSICAL)
    services.basic_care_create_for_all_classes(actor=world.users["admin"], term=term)

    page = page_of(
        as_user("admin").get(
            reverse("catalogue:offering-list", args=[term.pk]),
            {"kind": "course", "status": "published", "domain": "physical"},
        )
    )

    assert ">足球<" in page
    assert ">合唱<" not in page
    assert ">武术<" not in page
    assert 'id="basic-care"' not in page


def test_filter_without_a_match_says_so(world, as_user, term):
    course(world, term, name="足球", domain=Domain.PHYSICAL)

    page = page_of(
        as_user("admin").get(reverse("catalogue:offering-list", args=[term.pk]), {"status": "published"})
    )

    assert "没有符合筛选条件的特色课程。" in page
    assert "本学期还没有开设基础托管。" in page


def test_list_is_for_leaders(world, as_user, term):
    assert as_user("principal").get(reverse("catalogue:offering-list", args=[term.pk])).status_code == 200
    assert (
        as_user("service_teacher").get(reverse("catalogue:offering-list", args=[term.pk])).status_code == 403
    )


def test_principal_sees_the_list_without_the_administrators_buttons(world, as_user, term):
    page = page_of(as_user("principal").get(reverse("catalogue:offering-list", args=[term.pk])))

    assert reverse("catalogue:offering-create", args=[term.pk]) not in page
    assert reverse("catalogue:basic-care-create-all", args=[term.pk]) not in page


def test_another_schools_administrator_gets_404(world, term, far_admin):
    draft = course(world, term)
    client = client_for(far_admin)

    assert client.get(reverse("catalogue:offering-list", args=[term.pk])).status_code == 404
    assert client.get(reverse("catalogue:offering-detail", args=[draft.pk])).status_code == 404
    assert client.post(reverse("catalogue:offering-publish", args=[draft.pk])).status_code == 404
    draft.refresh_from_db()
    assert draft.status == OfferingStatus.DRAFT


# Basic care for every class ----------------------------------------------------------------------


def test_basic_care_for_all_classes_is_led_by_the_homeroom_teachers_and_idempotent(world, as_user, term):
    client = as_user("admin")
    url = reverse("catalogue:basic-care-create-all", args=[term.pk])

    first = client.post(url, {"capacity": "45", "fee_mode": FeeMode.FREE, "fee_amount": ""}, follow=True)
    second = client.post(url, {"capacity": "45", "fee_mode": FeeMode.FREE, "fee_amount": ""}, follow=True)

    list_url = reverse("catalogue:offering-list", args=[term.pk])
    assert first.redirect_chain == second.redirect_chain == [(list_url, 302)]
    assert "为所有班级开设基础托管" not in page_of(second)  # nothing left to open
    assert flashed(first) == ["已为 2 个班级开设基础托管（草稿）。"]
    care = Offering.objects.filter(term=term, kind=OfferingKind.BASIC_CARE).order_by("classroom__number")
    assert [(o.classroom, list(o.teachers.all()), o.capacity, o.grades) for o in care] == [
        (world.classroom, [world.users["homeroom"]], 45, [3]),
        (world.other_classroom, [world.users["other_homeroom"]], 45, [3]),
    ]
    assert all(o.status == OfferingStatus.DRAFT and o.weekdays == [0, 1, 2, 3, 4] for o in care)
    assert flashed(second) == ["所有班级都已开设基础托管，没有新增。"]


def test_basic_care_for_a_class_added_later(world, as_user, term):
    client = as_user("admin")
    url = reverse("catalogue:basic-care-create-all", args=[term.pk])
    client.post(url, {"capacity": "45", "fee_mode": FeeMode.FREE}, follow=True)
    new_class = ClassroomFactory(school=world.school, grade=1, number=1)

    response = client.post(url, {"capacity": "40", "fee_mode": FeeMode.FREE}, follow=True)

    assert flashed(response) == ["已为 1 个班级开设基础托管（草稿）。"]
    assert Offering.objects.get(term=term, classroom=new_class).teachers.count() == 0
    assert Offering.objects.filter(term=term, kind=OfferingKind.BASIC_CARE).count() == 3


def test_basic_care_over_the_cap_re_renders_with_the_arithmetic(world, as_user, term):
    response = as_user("admin").post(
        reverse("catalogue:basic-care-create-all", args=[term.pk]),
        {"capacity": "45", "fee_mode": FeeMode.PER_TERM, "fee_amount": "400.00"},
    )

    assert response.status_code == 200
    page = page_of(response)
    assert "收费超出上限：每学期 400.00 元，超过基础托管每生每学期 350.00 元的上限。" in page
    assert 'value="400.00"' in page
    assert not Offering.objects.filter(term=term).exists()


def test_principal_may_not_open_basic_care(world, as_user, term):
    response = as_user("principal").post(
        reverse("catalogue:basic-care-create-all", args=[term.pk]), {"capacity": "45", "fee_mode": "free"}
    )

    assert response.status_code == 403
    assert not Offering.objects.filter(term=term).exists()


# The course form ---------------------------------------------------------------------------------


def test_administrator_creates_a_course(world, as_user, term):
    response = as_user("admin").post(
        reverse("catalogue:offering-create", args=[term.pk]),
        course_form(world, fee_mode=FeeMode.PER_TERM, fee_amount="180.00", photo=png()),
    )

    offering = Offering.objects.get(term=term, name="剪纸")
    assert response.status_code == 302
    assert response["Location"] == reverse("catalogue:offering-detail", args=[offering.pk])
    assert (offering.kind, offering.domain, offering.grades, offering.weekdays) == (
        OfferingKind.COURSE,
        Domain.AESTHETIC,
        [3, 4],
        [0, 2],
    )
    assert (offering.capacity, offering.place, offering.fee_mode, offering.fee_amount) == (
        25,
        "美术室",
        FeeMode.PER_TERM,
        Decimal("180.00"),
    )
    assert list(offering.teachers.all()) == [world.users["service_teacher"]]
    assert offering.status == OfferingStatus.DRAFT
    assert offering.photo.name.startswith("offerings/")
    assert Image.open(offering.photo.path).format == "PNG"


def test_weekday_choices_are_the_terms_service_days(world, as_user, term):
    term.service_weekdays = [0, 1, 2, 4]  # Thursday is teachers' study (篇七)
    term.save()

    page = page_of(as_user("admin").get(reverse("catalogue:offering-create", args=[term.pk])))

    assert "周三" in page
    assert "周四" not in page


def test_course_over_the_cap_keeps_the_input_and_shows_the_arithmetic(world, as_user, term):
    # Mondays and Wednesdays of 1 Sep 2026 to 20 Jan 2027: 20 + 21 = 41 sessions.
    response = as_user("admin").post(
        reverse("catalogue:offering-create", args=[term.pk]),
        course_form(world, fee_mode=FeeMode.PER_SESSION, fee_amount="15.00"),
    )

    assert response.status_code == 200
    page = page_of(response)
    assert (
        "收费超出上限：每次 15.00 元 × 本学期 41 次 = 615.00 元，超过特色课程每生每学期 600.00 元的上限。"
        in page
    )
    assert 'value="剪纸"' in page
    assert 'value="15.00"' in page
    assert re.search(r'name="weekdays" value="2"[^>]*checked', page)
    assert not Offering.objects.filter(name="剪纸").exists()


def test_free_school_refuses_a_priced_course_on_the_form(world, as_user, term):
    services.fee_standard_update(
        actor=world.users["admin"],
        term=term,
        is_free=True,
        legal_basis="",
        complaint_phone="",
        refund_rule="",
    )

    response = as_user("admin").post(
        reverse("catalogue:offering-create", args=[term.pk]),
        course_form(world, fee_mode=FeeMode.PER_TERM, fee_amount="100.00"),
    )

    assert response.status_code == 200
    assert str(FREE_SCHOOL_FEE) in page_of(response)
    assert not Offering.objects.filter(name="剪纸").exists()


def test_a_course_name_is_unique_in_the_term(world, as_user, term):
    course(world, term, name="剪纸")

    response = as_user("admin").post(reverse("catalogue:offering-create", args=[term.pk]), course_form(world))

    assert str(COURSE_NAME_TAKEN % {"name": "剪纸"}) in page_of(response)
    assert Offering.objects.filter(name="剪纸").count() == 1


def test_provider_staff_must_belong_to_the_chosen_provider(world, as_user, term):
    admin = world.users["admin"]
    sports = services.provider_save(
        actor=admin, school=world.school, kind=ProviderKind.INSTITUTION, name="星火体育", licence_number="1"
    )
    arts = services.provider_save(
        actor=admin, school=world.school, kind=ProviderKind.INSTITUTION, name="彩虹艺术", licence_number="2"
    )
    painter = services.provider_staff_save(
        actor=admin,
        provider=arts,
        name="林老师",
        certificate_type=CertificateType.TEACHER,
        certificate_number="3",
    )

    response = as_user("admin").post(
        reverse("catalogue:offering-create", args=[term.pk]),
        course_form(world, provider=str(sports.pk), provider_staff=[str(painter.pk)]),
    )

    assert str(STAFF_OF_OTHER_PROVIDER % {"names": "林老师", "provider": "星火体育"}) in page_of(response)
    assert not Offering.objects.filter(name="剪纸").exists()


def test_a_file_that_is_no_image_is_refused(world, as_user, term):
    fake = BytesIO(b"<svg xmlns='http://www.w3.org/2000/svg'></svg>")
    fake.name = "photo.png"

    response = as_user("admin").post(
        reverse("catalogue:offering-create", args=[term.pk]), course_form(world, photo=fake)
    )

    assert "请上传一张有效的图片。您所上传的文件不是图片或者是已损坏的图片。" in page_of(response)
    assert "浏览器不会保留已选的照片：改好上面的问题后，保存前请重新选择照片。" in page_of(response)
    assert not Offering.objects.filter(name="剪纸").exists()


def test_an_image_in_a_format_browsers_do_not_show_is_refused(world, as_user, term):
    bitmap = BytesIO()
    Image.new("RGB", (8, 8)).save(bitmap, "BMP")
    bitmap.seek(0)
    bitmap.name = "photo.bmp"

    response = as_user("admin").post(
        reverse("catalogue:offering-create", args=[term.pk]), course_form(world, photo=bitmap)
    )

    assert str(PHOTO_WRONG_FORMAT) in page_of(response)


def test_a_photo_of_5_mb_is_accepted_and_one_byte_more_is_refused(world, as_user, term):
    client = as_user("admin")
    small = len(png().getvalue())
    limit = 5 * 1024 * 1024

    refused = client.post(
        reverse("catalogue:offering-create", args=[term.pk]),
        course_form(world, photo=png(padding=limit - small + 1)),
    )
    accepted = client.post(
        reverse("catalogue:offering-create", args=[term.pk]),
        course_form(world, photo=png(padding=limit - small)),
    )

    assert str(PHOTO_TOO_LARGE % {"size": "5.1"}) in page_of(refused)
    assert accepted.status_code == 302
    assert Offering.objects.get(name="剪纸").photo.size == limit


def test_principal_may_not_create_and_nothing_changes(world, as_user, term):
    client = as_user("principal")

    assert client.get(reverse("catalogue:offering-create", args=[term.pk])).status_code == 403
    response = client.post(reverse("catalogue:offering-create", args=[term.pk]), course_form(world))

    assert response.status_code == 403
    assert not Offering.objects.exists()


def test_editing_basic_care_offers_no_domain_grades_or_provider(world, as_user, term):
    services.basic_care_create_for_all_classes(actor=world.users["admin"], term=term)
    care = Offering.objects.get(term=term, classroom=world.classroom)
    client = as_user("admin")

    page = page_of(client.get(reverse("catalogue:offering-edit", args=[care.pk])))
    response = client.post(
        reverse("catalogue:offering-edit", args=[care.pk]),
        {
            "name": care.name,
            "description": care.description,
            "capacity": "50",
            "weekdays": ["0", "1", "2", "3", "4"],
            "slot_kind": "after_school",
            "place": care.place,
            "teachers": [str(world.users["homeroom"].pk), str(world.users["service_teacher"].pk)],
            "fee_mode": FeeMode.FREE,
        },
    )

    assert 'name="domain"' not in page and 'name="grades"' not in page and 'name="provider"' not in page
    assert response.status_code == 302
    care.refresh_from_db()
    assert care.capacity == 50
    assert care.grades == [3]
    assert set(care.teachers.all()) == {world.users["homeroom"], world.users["service_teacher"]}


def test_editing_keeps_a_teacher_who_is_no_longer_a_choice(world, as_user, term):
    leaver = make_staff(world.school, Role.SERVICE_TEACHER, username="leaver", full_name="离职老师")
    offering = course(world, term, teachers=[leaver])
    world.school.staff.filter(user=leaver).update(is_active=False)

    page = page_of(as_user("admin").get(reverse("catalogue:offering-edit", args=[offering.pk])))

    assert "离职老师" in page
    assert re.search(rf'name="teachers" value="{leaver.pk}"[^>]*checked', page)


def test_edit_form_lists_service_and_homeroom_teachers_only(world, as_user, term):
    page = page_of(as_user("admin").get(reverse("catalogue:offering-create", args=[term.pk])))

    for teacher in ("homeroom", "other_homeroom", "service_teacher"):
        assert f'name="teachers" value="{world.users[teacher].pk}"' in page
    for other in ("inspector", "finance", "principal", "provider"):
        assert f'name="teachers" value="{world.users[other].pk}"' not in page


# One offering, publishing and closing ------------------------------------------------------------


def test_parent_gets_404_for_a_draft_and_sees_a_published_course(world, as_user, term):
    draft = course(world, term, name="武术")
    published = course(world, term, name="足球", fee_mode=FeeMode.PER_SESSION, fee_amount=Decimal("10.00"))
    services.offering_publish(actor=world.users["admin"], offering=published)
    client = as_user("parent")

    assert client.get(reverse("catalogue:offering-detail", args=[draft.pk])).status_code == 404
    response = client.get(reverse("catalogue:offering-detail", args=[published.pk]))

    assert response.status_code == 200
    page = page_of(response)
    assert "<h1>足球</h1>" in page
    assert "每次 10.00 元" in page and "本学期 21 次，共 210.00 元" in page
    assert "16:10–17:45" in page
    assert "20 人，剩余 20 个" in page
    assert "发布前检查" not in page and "发布情况" not in page


def test_detail_shows_both_seasons_bands(world, as_user, term):
    term.winter_starts_on = date(2026, 11, 9)
    term.save()
    offering = course(world, term, grades=[1, 2])

    page = page_of(as_user("principal").get(reverse("catalogue:offering-detail", args=[offering.pk])))

    assert "夏季作息 16:10–17:30" in page
    assert "冬季作息 16:10–17:15" in page


def test_administrator_sees_publishing_problems_in_chinese(world, as_user, term):
    offering = course(world, term, teachers=[])

    page = page_of(as_user("admin").get(reverse("catalogue:offering-detail", args=[offering.pk])))

    assert str(NO_TEACHER) in page
    assert reverse("catalogue:offering-publish", args=[offering.pk]) in page


def test_publishing_refused_shows_every_problem(world, as_user, term):
    provider = services.provider_save(
        actor=world.users["admin"],
        school=world.school,
        kind=ProviderKind.INSTITUTION,
        name="星火体育培训中心",
        licence_number="教民1001",
    )
    offering = course(world, term, teachers=[], provider=provider)

    response = as_user("admin").post(reverse("catalogue:offering-publish", args=[offering.pk]), follow=True)

    assert response.redirect_chain == [(reverse("catalogue:offering-detail", args=[offering.pk]), 302)]
    messages = [(m.level_tag, str(m)) for m in response.context["messages"]]
    assert messages == [
        ("error", "机构“星火体育培训中心”的教育局审核状态为“待审核”，通过审核后才能发布课程。"),
        ("error", str(NO_TEACHER)),
    ]
    offering.refresh_from_db()
    assert offering.status == OfferingStatus.DRAFT


def test_administrator_publishes_and_closes(world, as_user, term):
    offering = course(world, term)
    client = as_user("admin")

    published = client.post(reverse("catalogue:offering-publish", args=[offering.pk]), follow=True)
    offering.refresh_from_db()
    assert offering.status == OfferingStatus.PUBLISHED
    assert flashed(published) == ["已发布“足球”，家长可以看到了。"]

    closed = client.post(reverse("catalogue:offering-close", args=[offering.pk]), follow=True)
    offering.refresh_from_db()
    assert offering.status == OfferingStatus.CLOSED
    assert flashed(closed) == ["已关闭“足球”。"]


def test_principal_may_not_publish_or_close_and_nothing_changes(world, as_user, term):
    draft = course(world, term, name="武术")
    published = course(world, term, name="足球", publish=True)
    client = as_user("principal")

    assert client.post(reverse("catalogue:offering-publish", args=[draft.pk])).status_code == 403
    assert client.post(reverse("catalogue:offering-close", args=[published.pk])).status_code == 403

    draft.refresh_from_db()
    published.refresh_from_db()
    assert (draft.status, draft.published_at) == (OfferingStatus.DRAFT, None)
    assert published.status == OfferingStatus.PUBLISHED


def test_publish_is_post_only(world, as_user, term):
    offering = course(world, term)

    assert as_user("admin").get(reverse("catalogue:offering-publish", args=[offering.pk])).status_code == 405


def test_photo_is_shown_on_the_detail_page(world, as_user, term):
    as_user("admin").post(
        reverse("catalogue:offering-create", args=[term.pk]), course_form(world, photo=png())
    )
    offering = Offering.objects.get(name="剪纸")
    services.offering_publish(actor=world.users["admin"], offering=offering)

    page = page_of(as_user("parent").get(reverse("catalogue:offering-detail", args=[offering.pk])))

    assert f'src="{offering.photo.url}"' in page


# Query counts ------------------------------------------------------------------------------------


def _grow_offerings(world, term, numbers: range) -> None:
    """Courses 课程<n> run by a parent volunteer, each with a new class's basic care beside it."""
    provider = services.provider_save(
        actor=world.users["admin"],
        school=world.school,
        provider=world.school.providers.filter(name="家长志愿者").first(),
        kind=ProviderKind.PARENT_VOLUNTEER,
        name="家长志愿者",
    )
    helper, _created = provider.staff_members.get_or_create(
        name="王妈妈", defaults={"certificate_type": CertificateType.NONE}
    )
    for n in numbers:
        classroom = Classroom.objects.create(school=world.school, grade=n % 6 + 1, number=10 + n)
        services.offering_create(
            actor=world.users["admin"],
            term=term,
            kind=OfferingKind.BASIC_CARE,
            name=f"{classroom.name} 基础托管",
            classroom=classroom,
            capacity=40,
            weekdays=[0, 1, 2, 3, 4],
            teachers=[world.users["homeroom"]],
        )
        course(
            world,
            term,
            name=f"课程{n}",
            domain=list(Domain)[n % 5],
            provider=provider,
            provider_staff=[helper],
            publish=n % 2 == 0,
        )


def test_offering_list_query_count_is_constant(world, as_user, term):
    client = as_user("admin")
    url = reverse("catalogue:offering-list", args=[term.pk])
    client.get(url)  # the first request of a session writes it
    counts = []
    for already, wanted in ((0, 3), (3, 30)):
        _grow_offerings(world, term, range(already, wanted))
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        assert Offering.objects.filter(term=term, kind=OfferingKind.COURSE).count() == wanted
        counts.append(len(queries))
    assert counts == [12, 12], [q["sql"][:120] for q in queries.captured_queries]


@pytest.mark.parametrize(("persona", "expected"), [("admin", 15), ("parent", 9)])
def test_offering_detail_query_count_is_constant(world, as_user, term, persona, expected):
    offering = course(world, term, publish=True)
    client = as_user(persona)
    url = reverse("catalogue:offering-detail", args=[offering.pk])
    client.get(url)
    counts = []
    for teachers in (1, 8):
        extra = [
            make_staff(world.school, Role.SERVICE_TEACHER, username=f"t{teachers}-{n}")
            for n in range(teachers - offering.teachers.count())
        ]
        offering.teachers.add(*extra)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts == [expected, expected], [q["sql"][:120] for q in queries.captured_queries]
