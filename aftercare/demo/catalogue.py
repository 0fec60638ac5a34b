"""Demo catalogue: the term calendar, basic care for every class and courses from the seeds."""

from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model

from aftercare.models import Staff, StaffRole
from aftercare.roles import Role
from catalogue import services
from catalogue.models import CertificateType, FeeMode, OfferingKind, ProviderKind

# name, domain, grades, weekdays, place, capacity, fee per session (yuan), provider key
COURSES = [
    ("足球", "physical", [3, 4, 5, 6], [1, 3], "操场", 30, "10.00", None),
    ("武术", "physical", [2, 3, 4], [0], "体育馆", 25, "10.00", None),
    ("集体跳绳", "physical", [1, 2], [2], "操场", 40, "0", None),
    ("书法", "aesthetic", [3, 4, 5, 6], [2], "书法教室", 25, "10.00", None),
    ("国画", "aesthetic", [4, 5, 6], [1], "美术室", 20, "15.00", "art"),
    ("合唱", "aesthetic", [2, 3, 4, 5], [3], "音乐室", 40, "0", None),
    ("葫芦丝", "aesthetic", [3, 4], [4], "音乐室", 20, "10.00", "volunteer"),
    ("手工与衍纸", "labour", [1, 2, 3], [0], "美术室", 25, "10.00", None),
    ("剪纸", "labour", [3, 4, 5, 6], [4], "劳技室", 25, "10.00", None),
    ("烘焙", "labour", [4, 5, 6], [2], "劳技室", 16, "20.00", None),
    ("绘本阅读", "intellectual", [1, 2], [1], "图书馆", 30, "0", None),
    ("电子积木", "intellectual", [3, 4, 5], [3], "科学室", 24, "15.00", None),
    ("小小科学家", "intellectual", [3, 4, 5, 6], [0], "科学室", 24, "15.00", "science"),
    ("客家游戏", "moral", [1, 2, 3], [4], "操场", 40, "0", None),
]


def _holidays(term_start: date) -> tuple[list[tuple[date, str]], list[tuple[date, str]]]:
    """National Day week and New Year's Day off; one Saturday make-up day (调休)."""
    year = term_start.year
    if term_start.month >= 8:
        excluded = [(date(year, 10, day), "国庆节") for day in range(1, 8)] + [(date(year + 1, 1, 1), "元旦")]
        makeup = [(date(year, 10, 10), "国庆调休")]
    else:
        excluded = [(date(year, 4, 5), "清明节"), (date(year, 5, 1), "劳动节")]
        makeup = []
    return excluded, makeup


def build_catalogue(*, school, other_school, officer, rng) -> None:
    user_model = get_user_model()
    admin = user_model.objects.get(username="schooladmin")
    teacher = user_model.objects.get(username="teacher")
    provider_user = user_model.objects.get(username="provider")
    teachers = list(
        user_model.objects.filter(staff_records__school=school, username__startswith="t").order_by(
            "username"
        )[:20]
    )

    for each in (school, other_school):
        term = each.terms.get()
        services.term_setup_defaults(actor=admin, term=term)
        excluded, makeup = _holidays(term.starts_on)
        services.calendar_update(
            actor=admin,
            term=term,
            service_weekdays=[0, 1, 2, 3, 4],
            winter_starts_on=term.winter_starts_on,
            winter_ends_on=term.winter_ends_on,
            excluded=[(d, r) for d, r in excluded if term.starts_on <= d <= term.ends_on],
            makeup=[(d, r) for d, r in makeup if term.starts_on <= d <= term.ends_on],
        )
    term = school.terms.get()
    services.fee_standard_update(
        actor=admin,
        term=term,
        is_free=False,
        legal_basis="依据市发展改革委、市教育局《关于中小学课后服务收费的通知》，按学期收取，专款专用。",
        complaint_phone="0755-12345678",
        refund_rule="因病因事退出的，按未开展的服务日折算退费；家庭经济困难学生可申请减免。",
    )
    other_term = other_school.terms.get()
    services.fee_standard_update(
        actor=admin,
        term=other_term,
        is_free=True,
        legal_basis="",
        complaint_phone="0755-87654321",
        refund_rule="",
    )

    art = services.provider_save(
        actor=admin,
        school=school,
        kind=ProviderKind.INSTITUTION,
        name="星辰艺术培训中心",
        licence_number="教民4403001234",
        contact_name="赵教练",
        phone="0755-22223333",
    )
    art_staff = services.provider_staff_save(
        actor=admin,
        provider=art,
        user=provider_user,
        name=provider_user.full_name,
        certificate_type=CertificateType.TEACHER,
        certificate_number="20184403001",
        certificate_expires_on=term.ends_on + timedelta(days=700),
    )
    services.provider_vet(actor=officer, provider=art, status="approved", note="资质齐全")
    science = services.provider_save(
        actor=admin,
        school=school,
        kind=ProviderKind.INSTITUTION,
        name="小小科学家工作室",
        licence_number="教民4403005678",
        contact_name="钱老师",
        phone="0755-44445555",
    )
    science_staff = services.provider_staff_save(
        actor=admin,
        provider=science,
        name="钱博",
        certificate_type=CertificateType.PROFESSIONAL,
        certificate_number="ZY-2021-88",
        certificate_expires_on=term.ends_on + timedelta(days=365),
    )
    volunteer = services.provider_save(
        actor=admin,
        school=school,
        kind=ProviderKind.PARENT_VOLUNTEER,
        name="三年级家长志愿者",
        contact_name="陈先生",
    )
    volunteer_staff = services.provider_staff_save(
        actor=admin, provider=volunteer, name="陈先生", certificate_type=CertificateType.NONE
    )
    providers = {
        "art": (art, [art_staff]),
        "science": (science, [science_staff]),
        "volunteer": (volunteer, [volunteer_staff]),
    }

    for offering in services.basic_care_create_for_all_classes(
        actor=admin, term=term, fee_mode=FeeMode.PER_TERM, fee_amount=Decimal("300.00"), capacity=50
    ):
        services.offering_publish(actor=admin, offering=offering)
    for offering in services.basic_care_create_for_all_classes(actor=admin, term=other_term, capacity=35):
        if offering.teachers.exists():
            services.offering_publish(actor=admin, offering=offering)

    for index, (name, domain, grades, weekdays, place, capacity, fee, provider_key) in enumerate(COURSES):
        provider, staff = providers.get(provider_key, (None, []))
        course_teachers = [] if provider else [teacher if name == "足球" else teachers[index % len(teachers)]]
        amount = Decimal(fee)
        course = services.offering_create(
            actor=admin,
            term=term,
            kind=OfferingKind.COURSE,
            name=name,
            description=f"{name}：每周{'、'.join('一二三四五'[d] for d in weekdays)}课后开展，面向{grades[0]}–{grades[-1]}年级。",
            domain=domain,
            grades=grades,
            capacity=capacity,
            weekdays=weekdays,
            place=place,
            fee_mode=FeeMode.PER_SESSION if amount else FeeMode.FREE,
            fee_amount=amount,
            provider=provider,
            teachers=course_teachers,
            provider_staff=staff,
        )
        # The science workshop is still waiting for the district's vetting: its course stays a draft.
        if provider_key != "science":
            services.offering_publish(actor=admin, offering=course)

    # The provider login is the art centre's teacher.
    staff_record, _created = Staff.objects.get_or_create(school=school, user=provider_user)
    StaffRole.objects.get_or_create(staff=staff_record, role=Role.PROVIDER_STAFF)
    del rng
