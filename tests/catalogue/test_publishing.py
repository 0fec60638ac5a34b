"""Publishing rules of catalogue.services: what stops a course from being published, said in Chinese.

The world's term runs from Tuesday 2026-09-01 to Wednesday 2027-01-20, Monday to Friday. Time is
frozen on the first day of term, 08:00 in Shanghai.
"""

from datetime import date, datetime
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from catalogue import services
from catalogue.models import (
    CertificateType,
    Domain,
    FeeMode,
    Offering,
    OfferingStatus,
    ProviderKind,
    VettingStatus,
)
from catalogue.services import FREE_SCHOOL_FEE, NO_TEACHER, NOT_DRAFT

FIRST_DAY_OF_TERM = datetime(2026, 9, 1, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(autouse=True)
def frozen_now():
    with mock.patch("django.utils.timezone.now", return_value=FIRST_DAY_OF_TERM):
        yield FIRST_DAY_OF_TERM


@pytest.fixture
def term(world):
    term = world.school.terms.get()
    services.term_setup_defaults(actor=world.users["admin"], term=term)
    return term


@pytest.fixture
def national_day_calendar(world, term):
    """The Wednesdays of term are 2, 9, 16, 23, 30 Sep; 7, 14, 21, 28 Oct; 4, 11, 18, 25 Nov;
    2, 9, 16, 23, 30 Dec; 6, 13, 20 Jan: 21. National Day takes Wednesday 7 Oct, and the make-up
    Sunday 27 Sep and Saturday 10 Oct run for every offering: 21 - 1 + 2 = 22 Wednesday sessions."""
    services.calendar_update(
        actor=world.users["admin"],
        term=term,
        service_weekdays=[0, 1, 2, 3, 4],
        winter_starts_on=None,
        winter_ends_on=None,
        excluded=[(date(2026, 10, d), "国庆节") for d in (1, 2, 5, 6, 7)],
        makeup=[(date(2026, 9, 27), "国庆调休"), (date(2026, 10, 10), "国庆调休")],
    )
    return term


def make_course(world, term, **fields):
    """A Wednesday football course for grades 3-4, free, taught by the service teacher."""
    values = {
        "kind": "course",
        "name": "足球",
        "domain": Domain.PHYSICAL,
        "grades": [3, 4],
        "capacity": 20,
        "weekdays": [2],
        "place": "操场",
        "fee_mode": FeeMode.FREE,
        "teachers": [world.users["service_teacher"]],
    }
    values.update(fields)
    return services.offering_create(actor=world.users["admin"], term=term, **values)


def institution(world, *, status=VettingStatus.APPROVED, expires_on=date(2027, 6, 30)):
    """An institution with one coach holding a professional certificate."""
    provider = services.provider_save(
        actor=world.users["admin"],
        school=world.school,
        kind=ProviderKind.INSTITUTION,
        name="星火体育培训中心",
        licence_number="教民1001",
    )
    if status != VettingStatus.PENDING:
        services.provider_vet(actor=world.users["district"], provider=provider, status=status)
    coach = services.provider_staff_save(
        actor=world.users["admin"],
        provider=provider,
        name="周教练",
        certificate_type=CertificateType.PROFESSIONAL,
        certificate_number="ZY-1",
        certificate_expires_on=expires_on,
    )
    return provider, coach


def assert_refused(world, offering, expected: list[str]):
    with pytest.raises(ValidationError) as refused:
        services.offering_publish(actor=world.users["admin"], offering=offering)
    assert refused.value.messages == expected
    offering.refresh_from_db()
    assert offering.status == OfferingStatus.DRAFT
    assert offering.published_at is None


@pytest.mark.parametrize(
    ("status", "label"), [(VettingStatus.PENDING, "待审核"), (VettingStatus.SUSPENDED, "已暂停")]
)
def test_course_of_an_institution_not_approved_is_not_published(world, term, status, label):
    provider, coach = institution(world, status=status)
    course = make_course(world, term, teachers=[], provider=provider, provider_staff=[coach])

    assert_refused(
        world,
        course,
        [f"机构“星火体育培训中心”的教育局审核状态为“{label}”，通过审核后才能发布课程。"],
    )


def test_course_taught_by_staff_whose_certificate_expired_is_not_published(world, term):
    provider, _coach = institution(world)
    expired = services.provider_staff_save(
        actor=world.users["admin"],
        provider=provider,
        name="王老师",
        certificate_type=CertificateType.TEACHER,
        certificate_number="JS-2",
        certificate_expires_on=date(2026, 8, 31),
    )
    course = make_course(world, term, provider=provider, provider_staff=[expired])

    assert_refused(world, course, ["授课人员 王老师 的教师资格证已于 2026-08-31 过期，课程不能发布。"])


def test_certificate_that_expires_today_still_allows_publishing(world, term):
    provider, coach = institution(world, expires_on=date(2026, 9, 1))
    course = make_course(world, term, teachers=[], provider=provider, provider_staff=[coach])

    published = services.offering_publish(actor=world.users["admin"], offering=course)

    assert published.status == OfferingStatus.PUBLISHED


def test_course_priced_beyond_the_cap_is_refused_with_the_arithmetic(world, national_day_calendar):
    with pytest.raises(ValidationError) as refused:
        make_course(world, national_day_calendar, fee_mode=FeeMode.PER_SESSION, fee_amount=Decimal("30.00"))

    assert refused.value.messages == [
        "收费超出上限：每次 30.00 元 × 本学期 22 次 = 660.00 元，超过特色课程每生每学期 600.00 元的上限。"
    ]
    assert not Offering.objects.filter(name="足球").exists()


def test_publishing_rechecks_the_cap_after_the_district_lowers_it(world, national_day_calendar):
    course = make_course(
        world, national_day_calendar, fee_mode=FeeMode.PER_SESSION, fee_amount=Decimal("25.00")
    )
    services.district_policy_update(
        actor=world.users["district"], district=world.district, course_cap=Decimal("500.00")
    )

    assert_refused(
        world,
        course,
        ["收费超出上限：每次 25.00 元 × 本学期 22 次 = 550.00 元，超过特色课程每生每学期 500.00 元的上限。"],
    )


def test_course_without_any_teacher_is_not_published(world, term):
    course = make_course(world, term, teachers=[])

    assert_refused(world, course, [str(NO_TEACHER)])


def test_free_school_refuses_a_priced_course(world, term):
    services.fee_standard_update(
        actor=world.users["admin"],
        term=term,
        is_free=True,
        legal_basis="",
        complaint_phone="",
        refund_rule="",
    )

    with pytest.raises(ValidationError) as refused:
        make_course(world, term, fee_mode=FeeMode.PER_TERM, fee_amount=Decimal("200.00"))

    assert refused.value.messages == [str(FREE_SCHOOL_FEE)]
    assert not Offering.objects.filter(name="足球").exists()


def test_free_school_does_not_publish_a_row_that_still_charges(world, term):
    course = make_course(world, term)
    services.fee_standard_update(
        actor=world.users["admin"],
        term=term,
        is_free=True,
        legal_basis="",
        complaint_phone="",
        refund_rule="",
    )
    # A row changed outside the services (the back office, a data fix) is still caught.
    Offering.objects.filter(pk=course.pk).update(fee_mode=FeeMode.PER_TERM, fee_amount=Decimal("200.00"))

    assert_refused(world, course, [str(FREE_SCHOOL_FEE)])


def test_every_problem_is_reported_at_once(world, term):
    provider, _coach = institution(world, status=VettingStatus.PENDING)
    course = make_course(world, term, teachers=[], provider=provider)

    assert_refused(
        world,
        course,
        [
            "机构“星火体育培训中心”的教育局审核状态为“待审核”，通过审核后才能发布课程。",
            str(NO_TEACHER),
        ],
    )


def test_compliant_course_is_published_with_its_time(world, term, frozen_now):
    provider, coach = institution(world)
    course = make_course(world, term, provider=provider, provider_staff=[coach])

    services.offering_publish(actor=world.users["admin"], offering=course)

    course.refresh_from_db()
    assert course.status == OfferingStatus.PUBLISHED
    assert course.published_at == frozen_now
    assert course.history.latest().history_user == world.users["admin"]


def test_a_published_course_is_not_published_again(world, term):
    course = make_course(world, term)
    services.offering_publish(actor=world.users["admin"], offering=course)

    with pytest.raises(ValidationError) as refused:
        services.offering_publish(actor=world.users["admin"], offering=course)

    assert refused.value.messages == [str(NOT_DRAFT)]
