"""The enrollment flow through its services: apply, review, approve with places, withdraw."""

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from aftercare.models import Notification
from catalogue import services as catalogue
from catalogue.models import FeeMode, OfferingKind
from enrollment import services
from enrollment.models import (
    Application,
    ApplicationStatus,
    Choice,
    ChoiceStatus,
    Enrollment,
    Refund,
    Signature,
)
from enrollment.refunds import pro_rata_refund
from tests.factories import StudentFactory, make_parent

TODAY = date(2026, 10, 12)


def course(world, term, name="足球", capacity=2, fee=Decimal("10.00")):
    offering = catalogue.offering_create(
        actor=world.users["admin"],
        term=term,
        kind=OfferingKind.COURSE,
        name=name,
        domain="physical",
        grades=[3],
        capacity=capacity,
        weekdays=[1],
        fee_mode=FeeMode.PER_SESSION,
        fee_amount=fee,
        teachers=[world.users["service_teacher"]],
    )
    return catalogue.offering_publish(actor=world.users["admin"], offering=offering)


def apply(world, term, student, parent, courses=(), basic=True):
    return services.application_submit(
        actor=parent, student=student, term=term, wants_basic_care=basic, course_ids=[c.pk for c in courses]
    )


def through_class_review(world, application):
    return services.application_class_approve(actor=world.users["homeroom"], application=application)


def test_a_second_submission_updates_the_same_application(world, term):
    football = course(world, term)
    first = apply(world, term, world.child, world.users["parent"])
    second = apply(world, term, world.child, world.users["parent"], courses=[football])
    assert first.pk == second.pk
    assert Application.objects.filter(student=world.child).count() == 1
    assert sorted(Choice.objects.filter(application=first).values_list("offering__name", flat=True)) == [
        "三年级（1）班 基础托管",
        "足球",
    ]


def test_a_course_not_open_to_the_childs_grade_is_refused(world, term):
    other = catalogue.offering_publish(
        actor=world.users["admin"],
        offering=catalogue.offering_create(
            actor=world.users["admin"],
            term=term,
            kind=OfferingKind.COURSE,
            name="绘本",
            domain="intellectual",
            grades=[1, 2],
            capacity=10,
            weekdays=[0],
            teachers=[world.users["service_teacher"]],
        ),
    )
    with pytest.raises(ValidationError) as refused:
        apply(world, term, world.child, world.users["parent"], courses=[other])
    assert refused.value.messages == ["“绘本”不面向该学生的年级，或尚未发布。"]
    assert not Application.objects.exists()


def test_the_course_total_is_checked_against_the_cap(world, term):
    # Tuesdays 2026-09-01..2027-01-19: 21 sessions. Three courses at 10 yuan: 630 > 600.
    courses = [course(world, term, name=n, capacity=5) for n in ("足球", "篮球", "排球")]
    with pytest.raises(ValidationError) as refused:
        apply(world, term, world.child, world.users["parent"], courses=courses)
    assert refused.value.messages == ["特色课程合计 630.00 元，超过每生每学期 600.00 元的上限，请减少课程。"]


def test_class_review_then_principal_approval_enrolls_with_the_fee(world, term):
    football = course(world, term)
    application = apply(world, term, world.child, world.users["parent"], courses=[football])
    through_class_review(world, application)
    result = services.applications_approve(actor=world.users["principal"], applications=[application])
    assert result == {"approved": 1, "enrolled": 2, "waitlisted": 0}
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED
    assert application.decided_by == world.users["principal"]
    due = dict(Enrollment.objects.filter(student=world.child).values_list("offering__name", "amount_due"))
    assert due == {"三年级（1）班 基础托管": Decimal("300.00"), "足球": Decimal("210.00")}
    history = application.history.order_by("history_date").values_list(
        "history_change_reason", "history_user__username"
    )
    assert list(history)[-2:] == [("class review: approved", "homeroom"), ("principal approved", "principal")]
    assert Notification.objects.filter(
        user=world.users["parent"], title="张小明的课后服务报名已通过审定"
    ).exists()


def test_a_returned_application_notifies_the_family_and_can_be_changed(world, term):
    application = apply(world, term, world.child, world.users["parent"])
    with pytest.raises(ValidationError) as refused:
        services.application_return(actor=world.users["homeroom"], application=application, reason=" ")
    assert refused.value.messages == ["退回时请写明原因，家长会收到通知。"]
    services.application_return(
        actor=world.users["homeroom"], application=application, reason="请补充接送人信息"
    )
    assert (
        Notification.objects.get(user=world.users["parent"], title="张小明的课后服务报名被退回修改").body
        == "请补充接送人信息"
    )
    again = apply(world, term, world.child, world.users["parent"])
    assert again.status == ApplicationStatus.SUBMITTED


def test_after_class_review_the_family_cannot_change_it(world, term):
    application = apply(world, term, world.child, world.users["parent"])
    through_class_review(world, application)
    with pytest.raises(ValidationError) as refused:
        apply(world, term, world.child, world.users["parent"], basic=True)
    assert refused.value.messages == ["报名已进入审核，不能再修改；如需变更请先撤回。"]


def make_child(world, name):
    child = StudentFactory(classroom=world.classroom, name=name)
    return child, make_parent(child)


def test_a_full_course_waitlists_and_a_withdrawal_promotes_the_first_in_line(world, term):
    football = course(world, term, capacity=1)
    first_child, first_parent = make_child(world, "一号")
    second_child, second_parent = make_child(world, "二号")
    third_child, third_parent = make_child(world, "三号")
    applications = []
    for child, parent in (
        (first_child, first_parent),
        (second_child, second_parent),
        (third_child, third_parent),
    ):
        application = apply(world, term, child, parent, courses=[football], basic=False)
        applications.append(through_class_review(world, application))
    result = services.applications_approve(actor=world.users["principal"], applications=applications)
    assert result == {"approved": 3, "enrolled": 1, "waitlisted": 2}
    waiting = Choice.objects.get(application=applications[1], offering=football)
    assert waiting.status == ChoiceStatus.WAITLISTED
    assert services.waiting_position(waiting) == 1
    assert services.waiting_position(Choice.objects.get(application=applications[2], offering=football)) == 2

    services.application_withdraw(actor=first_parent, application=applications[0], reason="搬家")

    left = Enrollment.objects.get(student=first_child, offering=football)
    assert left.left_on == TODAY and left.leave_reason == "搬家"
    promoted = Enrollment.objects.get(student=second_child, offering=football, left_on__isnull=True)
    assert promoted.joined_on == TODAY
    assert (
        Choice.objects.get(application=applications[2], offering=football).status == ChoiceStatus.WAITLISTED
    )
    assert Notification.objects.filter(
        user=second_parent, title="足球有名额了：二号已从候补转为录取"
    ).exists()


def test_refund_is_pro_rata_to_the_service_days_not_yet_held(world, term):
    application = apply(world, term, world.child, world.users["parent"])
    through_class_review(world, application)
    services.applications_approve(actor=world.users["principal"], applications=[application])
    services.payment_record(
        actor=world.users["finance"],
        student=world.child,
        term=term,
        amount=Decimal("300.00"),
        method="cash",
        paid_by="张妈妈",
        paid_on=TODAY,
    )
    refunds = services.application_withdraw(actor=world.users["parent"], application=application)
    # Weekdays 2026-09-01..2027-01-20: Sep 22 + Oct 22 + Nov 21 + Dec 23 + Jan 14 = 102.
    # After Monday 2026-10-12: Oct 14 + Nov 21 + Dec 23 + Jan 14 = 72. 300 × 72/102 = 211.7647 → 211.76.
    assert [(r.amount, r.basis) for r in refunds] == [
        (Decimal("211.76"), "300.00 × 72/102 个服务日 = 211.76")
    ]
    assert Refund.objects.count() == 1


def test_refund_arithmetic_rounds_to_the_fen():
    assert pro_rata_refund(
        Decimal("350.00"), total_units=97, remaining_units=40, unit_label="天"
    ).amount == Decimal("144.33")
    assert pro_rata_refund(
        Decimal("0.05"), total_units=3, remaining_units=1, unit_label="天"
    ).amount == Decimal("0.02")
    assert pro_rata_refund(
        Decimal("100"), total_units=10, remaining_units=0, unit_label="天"
    ).amount == Decimal("0.00")
    assert pro_rata_refund(
        Decimal("100"), total_units=10, remaining_units=12, unit_label="天"
    ).amount == Decimal("100.00")


def test_no_payment_for_a_term_other_than_the_current_one(world, term):
    from aftercare.models import Term

    next_term = Term.objects.create(
        school=world.school, name="2027春季学期", starts_on=date(2027, 2, 20), ends_on=date(2027, 7, 1)
    )
    with pytest.raises(ValidationError) as refused:
        services.payment_record(
            actor=world.users["finance"],
            student=world.child,
            term=next_term,
            amount=Decimal("300"),
            method="cash",
            paid_by="张妈妈",
            paid_on=TODAY,
        )
    assert refused.value.messages == ["只能为当前学期收费，不得跨学期收费。"]


def test_a_signed_agreement_is_kept_exactly_and_never_altered(world, term):
    agreement = services.agreement_publish(
        actor=world.users["admin"],
        school=world.school,
        title="课后服务协议",
        body="学校职责……家长职责……",
        effective_from=TODAY,
    )
    application = apply(world, term, world.child, world.users["parent"])
    with pytest.raises(ValidationError) as refused:
        services.agreement_sign(
            actor=world.users["parent"],
            application=application,
            agreement=agreement,
            typed_name="张妈妈",
            consent=True,
            shown_text_sha256="0" * 64,
            ip_address="10.0.0.8",
            user_agent="WeChat",
        )
    assert refused.value.messages == ["协议内容已更新，请重新阅读后再签署。"]
    signature = services.agreement_sign(
        actor=world.users["parent"],
        application=application,
        agreement=agreement,
        typed_name="张妈妈",
        consent=True,
        shown_text_sha256=services.agreement_text_hash(agreement),
        ip_address="10.0.0.8",
        user_agent="Mozilla/5.0 MicroMessenger",
    )
    assert (signature.typed_name, signature.ip_address, signature.agreement.version) == (
        "张妈妈",
        "10.0.0.8",
        1,
    )
    signature.typed_name = "别人"
    with pytest.raises(ValueError, match="never changed"):
        signature.save()
    assert Signature.objects.get(pk=signature.pk).typed_name == "张妈妈"
    newer = services.agreement_publish(
        actor=world.users["admin"],
        school=world.school,
        title="课后服务协议",
        body="新版正文",
        effective_from=TODAY,
    )
    assert newer.version == 2
    assert services.current_agreement(world.school) == newer


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_approvals_for_the_last_place_enrol_exactly_one(world):
    from django.db import close_old_connections

    term = world.school.terms.get()
    catalogue.term_setup_defaults(actor=world.users["admin"], term=term)
    football = course(world, term, capacity=1)
    applications = []
    for name in ("甲", "乙"):
        child, parent = make_child(world, name)
        applications.append(
            through_class_review(world, apply(world, term, child, parent, courses=[football], basic=False))
        )
    barrier = threading.Barrier(2)
    errors = []

    def approve(application):
        try:
            barrier.wait()
            services.applications_approve(actor=world.users["principal"], applications=[application])
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=approve, args=(a,)) for a in applications]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Enrollment.objects.filter(offering=football, left_on__isnull=True).count() == 1
    assert Choice.objects.filter(offering=football, status=ChoiceStatus.WAITLISTED).count() == 1


def test_the_public_offer_counts_the_places_taken(world, term, as_user):
    from django.urls import reverse

    football = course(world, term, capacity=2)
    application = through_class_review(
        world, apply(world, term, world.child, world.users["parent"], courses=[football])
    )
    services.applications_approve(actor=world.users["principal"], applications=[application])
    page = as_user("other_parent").get(reverse("catalogue:term-offer", args=[term.pk])).content.decode()
    assert "剩余名额 1 / 2" in page


def test_a_waiver_is_decided_once(world, term):
    application = services.application_submit(
        actor=world.users["parent"],
        student=world.child,
        term=term,
        wants_basic_care=True,
        course_ids=[],
        waiver_requested=True,
        waiver_reason="家庭经济困难",
    )
    services.waiver_decide(
        actor=world.users["finance"], application=application, granted=True, amount=Decimal("100")
    )
    with pytest.raises(ValidationError) as refused:
        services.waiver_decide(actor=world.users["principal"], application=application, granted=False)
    assert refused.value.messages == ["这份减免申请已经处理过了。"]
    application.refresh_from_db()
    assert application.waiver_amount == Decimal("100.00")
    # Every step of the application's history names who took it.
    assert not application.history.filter(history_user__isnull=True).exists()


def test_a_new_agreement_version_cannot_take_effect_before_the_last(world):
    services.agreement_publish(
        actor=world.users["admin"],
        school=world.school,
        title="协议",
        body="正文",
        effective_from=date(2026, 9, 1),
    )
    with pytest.raises(ValidationError) as refused:
        services.agreement_publish(
            actor=world.users["admin"],
            school=world.school,
            title="协议",
            body="新",
            effective_from=date(2026, 8, 1),
        )
    assert refused.value.messages == ["新版本的生效日期不能早于第 1 版的生效日期 2026-09-01。"]


def test_a_waiver_granted_after_approval_lowers_the_bill(world, term):
    application = services.application_submit(
        actor=world.users["parent"],
        student=world.child,
        term=term,
        wants_basic_care=True,
        course_ids=[],
        waiver_requested=True,
        waiver_reason="家庭经济困难",
    )
    through_class_review(world, application)
    services.applications_approve(actor=world.users["principal"], applications=[application])
    services.waiver_decide(
        actor=world.users["finance"], application=application, granted=True, amount=Decimal("120.50")
    )
    assert Enrollment.objects.get(application=application).amount_due == Decimal("179.50")
