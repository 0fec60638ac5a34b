"""Enrollment end to end: the parent applies and signs, the class teacher and the principal approve,
the child is on the course roster; a full course waitlists and a withdrawal promotes."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from aftercare.models import Guardian, Student
from catalogue import services as catalogue
from catalogue.models import FeeMode, Offering, OfferingKind
from enrollment import services
from enrollment.models import Application, ApplicationStatus, Enrollment, Signature

pytestmark = pytest.mark.browser

COURSE_FOR = {2: "合唱", 5: "国画"}


def test_parent_applies_teacher_and_principal_approve_and_the_child_is_on_the_roster(
    demo, phone_page, make_page, sign_in, screenshot, live_server
):
    page = phone_page
    sign_in(page, "parent")
    children = list(Student.objects.filter(guardians__user__username="parent").select_related("classroom"))
    for child in children:
        course = Offering.objects.get(name=COURSE_FOR[child.classroom.grade], term__school=child.school)
        page.goto(f"{live_server.url}/enrollment/family/children/{child.pk}/apply/")
        page.locator("#id_wants_basic_care").check()
        page.locator(f"#id_course_{course.pk}").check()
        page.get_by_role("button", name="提交报名").click()
        application = Application.objects.get(student=child)
        page.goto(f"{live_server.url}/enrollment/applications/{application.pk}/sign/")
        page.locator("input[name=consent]").check()
        page.fill("input[name=typed_name]", "刘芳")
        page.get_by_role("button", name="签署").click()
        assert Signature.objects.get(application=application).typed_name == "刘芳"
    screenshot(page, "parent-application-signed")
    assert Application.objects.filter(student__in=children, status=ApplicationStatus.SUBMITTED).count() == 2

    # The homeroom teacher of 3-1 approves a waiting application of the class.
    teacher_page = make_page(390, 844)
    sign_in(teacher_page, "teacher")
    teacher_page.goto(f"{live_server.url}/enrollment/review/class/")
    waiting = Application.objects.filter(
        student__classroom__grade=3, student__classroom__number=1, status=ApplicationStatus.SUBMITTED
    )
    before = waiting.count()
    first = waiting.order_by("submitted_at").first()
    teacher_page.locator(f"form[action$='/applications/{first.pk}/class-approve/'] button").click()
    expect(teacher_page.locator(".messages")).to_be_visible()
    assert waiting.count() == before - 1
    screenshot(teacher_page, "teacher-class-review")

    # The principal approves everything the classes approved.
    principal_page = make_page(1280, 900, mobile=False)
    sign_in(principal_page, "principal")
    principal_page.goto(f"{live_server.url}/enrollment/review/principal/")
    principal_page.get_by_role("button", name="审定选中的报名").click()
    expect(principal_page.locator(".messages")).to_contain_text("已审定")
    first.refresh_from_db()
    assert first.status == ApplicationStatus.APPROVED
    enrollment = Enrollment.objects.filter(application=first, offering__kind=OfferingKind.COURSE).first()
    principal_page.goto(f"{live_server.url}/enrollment/school/offerings/{enrollment.offering_id}/roster/")
    expect(principal_page.locator("main")).to_contain_text(first.student.name)
    screenshot(principal_page, "principal-course-roster")


def test_a_full_course_waitlists_and_a_withdrawal_promotes(demo, make_page, sign_in, screenshot, live_server):
    user_model = get_user_model()
    admin = user_model.objects.get(username="schooladmin")
    teacher = user_model.objects.get(username="teacher")
    school_term = Offering.objects.get(name="足球").term
    tiny = catalogue.offering_publish(
        actor=admin,
        offering=catalogue.offering_create(
            actor=admin,
            term=school_term,
            kind=OfferingKind.COURSE,
            name="航模",
            domain="labour",
            grades=[3],
            capacity=1,
            weekdays=[4],
            fee_mode=FeeMode.FREE,
            teachers=[teacher],
        ),
    )
    families = []
    for student in Student.objects.filter(classroom__grade=3, classroom__number=2).order_by("student_number")[
        :2
    ]:
        guardian = Guardian.objects.filter(student=student).first()
        user = user_model.objects.create(
            username=f"family-{student.pk}", full_name=guardian.name, password=teacher.password
        )
        guardian.user = user
        guardian.save(update_fields=["user"])
        application = services.application_submit(
            actor=user, student=student, term=school_term, wants_basic_care=False, course_ids=[tiny.pk]
        )
        services.application_class_approve(actor=teacher, application=application)
        families.append((user, student, application))

    principal_page = make_page(1280, 900, mobile=False)
    sign_in(principal_page, "principal")
    principal_page.goto(f"{live_server.url}/enrollment/review/principal/")
    principal_page.get_by_role("button", name="审定选中的报名").click()
    expect(principal_page.locator(".messages")).to_contain_text("候补")
    (first_user, first_child, first_application), (_, second_child, _) = families
    assert Enrollment.objects.filter(offering=tiny, left_on__isnull=True).get().student == first_child

    family_page = make_page(390, 844)
    sign_in(family_page, first_user.username)
    family_page.goto(f"{live_server.url}/enrollment/applications/{first_application.pk}/withdraw/")
    family_page.get_by_role("button", name="确认撤回").click()
    screenshot(family_page, "parent-withdrawn")
    assert Enrollment.objects.filter(offering=tiny, left_on__isnull=True).get().student == second_child
    principal_page.goto(f"{live_server.url}/enrollment/school/offerings/{tiny.pk}/roster/")
    expect(principal_page.locator("main")).to_contain_text(second_child.name)
