"""Class review, the principal's approval, waiver decisions and agreement versions, by persona."""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from aftercare.models import Notification
from catalogue import services as catalogue
from catalogue.models import FeeMode, OfferingKind
from enrollment import services
from enrollment.forms_review import NOTHING_SELECTED
from enrollment.models import (
    AgreementVersion,
    Application,
    ApplicationStatus,
    ChoiceStatus,
    Enrollment,
    WaiverStatus,
)
from enrollment.views.review import APPROVE_RESULT
from tests.factories import StudentFactory, TermFactory, make_parent

TODAY = date(2026, 10, 12)


def course(world, term, name="足球", capacity=2):
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
        fee_amount=Decimal("10.00"),
        teachers=[world.users["service_teacher"]],
    )
    return catalogue.offering_publish(actor=world.users["admin"], offering=offering)


def apply(term, student, parent, courses=(), basic=True, waiver=False):
    return services.application_submit(
        actor=parent,
        student=student,
        term=term,
        wants_basic_care=basic,
        course_ids=[c.pk for c in courses],
        waiver_requested=waiver,
        waiver_reason="父母失业，申请减免" if waiver else "",
    )


def class_approved(world, application):
    return services.application_class_approve(actor=world.users["homeroom"], application=application)


def message_texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def status_of(application) -> str:
    return Application.objects.get(pk=application.pk).status


# Class review ----------------------------------------------------------------------------------


def test_homeroom_sees_only_their_own_class(world, term, as_user):
    apply(term, world.child, world.users["parent"])
    apply(term, world.other_child, world.users["other_parent"])

    response = as_user("homeroom").get(reverse("enrollment:class-review"))

    assert response.status_code == 200
    groups = response.context["groups"]
    assert [(status, [a.student.name for a in rows]) for status, rows in groups] == [
        (ApplicationStatus.SUBMITTED, ["张小明"])
    ]
    assert groups[0][1][0].fee_total == Decimal("300.00")
    assert "李小红" not in response.content.decode()


def test_waiting_applications_come_first(world, term, as_user):
    committee_child = world.classroom.students.get(name="陈小华")
    first = apply(term, committee_child, world.users["committee"])
    class_approved(world, first)
    apply(term, world.child, world.users["parent"])

    groups = as_user("homeroom").get(reverse("enrollment:class-review")).context["groups"]

    assert [(status, [a.student.name for a in rows]) for status, rows in groups] == [
        (ApplicationStatus.SUBMITTED, ["张小明"]),
        (ApplicationStatus.CLASS_APPROVED, ["陈小华"]),
    ]


def test_homeroom_approves_an_application_of_their_class(world, term, as_user):
    application = apply(term, world.child, world.users["parent"])

    response = as_user("homeroom").post(
        reverse("enrollment:application-class-approve", args=[application.pk])
    )

    assert response.status_code == 302 and response["Location"] == reverse("enrollment:class-review")
    assert message_texts(response) == ["已通过张小明的报名，提交校长审定。"]
    application.refresh_from_db()
    assert (application.status, application.class_reviewed_by) == (
        ApplicationStatus.CLASS_APPROVED,
        world.users["homeroom"],
    )


@pytest.mark.parametrize(
    "url_name", ["enrollment:application-class-approve", "enrollment:application-return"]
)
def test_a_teacher_of_another_class_cannot_review_it(world, term, as_user, url_name):
    application = apply(term, world.child, world.users["parent"])
    notifications = Notification.objects.count()

    response = as_user("other_homeroom").post(reverse(url_name, args=[application.pk]), {"reason": "不行"})

    assert response.status_code == 403
    application.refresh_from_db()
    assert (application.status, application.class_reviewed_by, application.return_reason) == (
        ApplicationStatus.SUBMITTED,
        None,
        "",
    )
    assert Notification.objects.count() == notifications


@pytest.mark.parametrize("persona", ["other_parent", "far_principal"])
def test_outsiders_get_404_on_class_review(world, term, as_user, persona):
    application = apply(term, world.child, world.users["parent"])

    response = as_user(persona).post(reverse("enrollment:application-class-approve", args=[application.pk]))

    assert response.status_code == 404
    assert status_of(application) == ApplicationStatus.SUBMITTED


def test_return_needs_a_reason_and_keeps_the_page(world, term, as_user):
    application = apply(term, world.child, world.users["parent"])
    notifications = Notification.objects.count()

    response = as_user("homeroom").post(
        reverse("enrollment:application-return", args=[application.pk]), {"reason": "  "}
    )

    assert response.status_code == 200
    assert response.context["failed_form"].errors == {"__all__": [str(services.RETURN_NEEDS_REASON)]}
    assert "退回时请写明原因，家长会收到通知。" in response.content.decode()
    assert status_of(application) == ApplicationStatus.SUBMITTED
    assert Notification.objects.count() == notifications


def test_return_with_a_reason_notifies_the_guardians(world, term, as_user):
    application = apply(term, world.child, world.users["parent"])

    response = as_user("homeroom").post(
        reverse("enrollment:application-return", args=[application.pk]), {"reason": "请补充接送人信息"}
    )

    assert response.status_code == 302
    assert message_texts(response) == ["已退回张小明的报名，家长会收到通知。"]
    application.refresh_from_db()
    assert (application.status, application.return_reason) == (ApplicationStatus.RETURNED, "请补充接送人信息")
    notice = Notification.objects.get(user=world.users["parent"], title="张小明的课后服务报名被退回修改")
    assert notice.body == "请补充接送人信息"


def test_class_review_is_for_homeroom_teachers_only(world, term, as_user):
    assert as_user("service_teacher").get(reverse("enrollment:class-review")).status_code == 403
    assert as_user("principal").get(reverse("enrollment:class-review")).status_code == 403


# Principal's approval --------------------------------------------------------------------------


def make_child(world, name, classroom=None):
    child = StudentFactory(classroom=classroom or world.classroom, name=name)
    return child, make_parent(child)


def three_for_two_places(world, term):
    football = course(world, term, capacity=2)
    applications = []
    for name in ("一号", "二号", "三号"):
        child, parent = make_child(world, name)
        applications.append(
            class_approved(world, apply(term, child, parent, courses=[football], basic=False))
        )
    return football, applications


def test_principal_sees_counts_per_class_and_what_waits(world, term, as_user):
    _, applications = three_for_two_places(world, term)
    apply(term, world.other_child, world.users["other_parent"])
    returned = apply(term, world.child, world.users["parent"])
    services.application_return(actor=world.users["homeroom"], application=returned, reason="补信息")

    response = as_user("principal").get(reverse("enrollment:principal-review"))

    assert response.status_code == 200
    counts = {c.name: c.counts for c in response.context["classrooms_with_applications"]}
    # submitted, class-approved, approved, returned, rejected, withdrawn
    assert counts == {"三年级（1）班": [0, 3, 0, 1, 0, 0], "三年级（2）班": [1, 0, 0, 0, 0, 0]}
    assert [a.pk for a in response.context["applications"]] == [a.pk for a in applications]
    assert [a.fee_total for a in response.context["applications"]] == [Decimal("210.00")] * 3


def test_bulk_approval_fills_the_places_and_waitlists_the_rest(world, term, as_user):
    football, applications = three_for_two_places(world, term)

    response = as_user("principal").post(
        reverse("enrollment:applications-approve"), {"ids": [a.pk for a in applications]}
    )

    assert response.status_code == 302 and response["Location"] == reverse("enrollment:principal-review")
    assert message_texts(response) == ["已审定 3 份报名：录取 2 项，名额已满进入候补 1 项。"]
    assert str(APPROVE_RESULT % {"approved": 3, "enrolled": 2, "waitlisted": 1}) == message_texts(response)[0]
    assert sorted(Enrollment.objects.filter(offering=football).values_list("student__name", flat=True)) == [
        "一号",
        "二号",
    ]
    assert applications[2].choices.get().status == ChoiceStatus.WAITLISTED
    assert set(Application.objects.values_list("status", flat=True)) == {ApplicationStatus.APPROVED}


def test_bulk_approval_with_another_schools_id_is_404_and_changes_nothing(world, term, as_user):
    _, applications = three_for_two_places(world, term)
    far_term = TermFactory(school=world.other_school)
    far = Application.objects.create(
        school=world.other_school,
        term=far_term,
        student=world.far_child,
        applicant=world.users["far_parent"],
        submitted_at=timezone.now(),
        status=ApplicationStatus.CLASS_APPROVED,
    )

    response = as_user("principal").post(
        reverse("enrollment:applications-approve"), {"ids": [applications[0].pk, far.pk]}
    )

    assert response.status_code == 404
    assert status_of(applications[0]) == ApplicationStatus.CLASS_APPROVED
    assert status_of(far) == ApplicationStatus.CLASS_APPROVED
    assert not Enrollment.objects.exists()


def test_bulk_approval_needs_a_selection(world, term, as_user):
    response = as_user("principal").post(reverse("enrollment:applications-approve"), {})

    assert response.status_code == 200
    assert response.context["approve_form"].errors == {"ids": [str(NOTHING_SELECTED)]}


def test_bulk_approval_is_for_the_principal_only(world, term, as_user):
    _, applications = three_for_two_places(world, term)

    response = as_user("admin").post(
        reverse("enrollment:applications-approve"), {"ids": [a.pk for a in applications]}
    )

    assert response.status_code == 403
    assert not Enrollment.objects.exists()
    assert {status_of(a) for a in applications} == {ApplicationStatus.CLASS_APPROVED}


def test_reject_needs_a_reason(world, term, as_user):
    application = class_approved(world, apply(term, world.child, world.users["parent"]))

    response = as_user("principal").post(reverse("enrollment:application-reject", args=[application.pk]), {})

    assert response.status_code == 200
    assert response.context["failed_form"].errors == {"__all__": ["不通过时请写明原因，家长会收到通知。"]}
    assert status_of(application) == ApplicationStatus.CLASS_APPROVED


def test_reject_with_a_reason_notifies_and_is_audited(world, term, as_user):
    application = apply(term, world.child, world.users["parent"])
    as_user("homeroom").post(reverse("enrollment:application-class-approve", args=[application.pk]))

    response = as_user("principal").post(
        reverse("enrollment:application-reject", args=[application.pk]), {"reason": "名额已满且未签协议"}
    )

    assert message_texts(response) == ["已不通过张小明的报名，家长会收到通知。"]
    application.refresh_from_db()
    assert (application.status, application.reject_reason, application.decided_by) == (
        ApplicationStatus.REJECTED,
        "名额已满且未签协议",
        world.users["principal"],
    )
    assert (
        Notification.objects.get(user=world.users["parent"], title="张小明的课后服务报名未通过").body
        == "名额已满且未签协议"
    )
    history = application.history.order_by("history_date").values_list(
        "history_user__username", "history_change_reason", "status"
    )
    # Each step with who and why (the first row is the bare insert of get_or_create).
    assert list(history)[-3:] == [
        ("parent", "submitted", "submitted"),
        ("homeroom", "class review: approved", "class_approved"),
        ("principal", "principal rejected", "rejected"),
    ]


def test_a_homeroom_teacher_cannot_reject(world, term, as_user):
    application = class_approved(world, apply(term, world.child, world.users["parent"]))

    response = as_user("homeroom").post(
        reverse("enrollment:application-reject", args=[application.pk]), {"reason": "不行"}
    )

    assert response.status_code == 403
    assert status_of(application) == ApplicationStatus.CLASS_APPROVED


# Waivers ---------------------------------------------------------------------------------------


def test_finance_sees_pending_waivers_with_the_fee(world, term, as_user):
    apply(term, world.child, world.users["parent"], waiver=True)
    apply(term, world.other_child, world.users["other_parent"])

    response = as_user("finance").get(reverse("enrollment:waiver-list"))

    rows = [(a.student.name, a.waiver_reason, a.fee_total) for a in response.context["applications"]]
    assert rows == [("张小明", "父母失业，申请减免", Decimal("300.00"))]


def test_a_waiver_above_the_fee_is_refused(world, term, as_user):
    application = apply(term, world.child, world.users["parent"], waiver=True)

    response = as_user("finance").post(
        reverse("enrollment:waiver-decide", args=[application.pk]), {"decision": "grant", "amount": "300.01"}
    )

    assert response.status_code == 200
    assert response.context["applications"][0].failed_form.errors == {
        "__all__": ["减免金额不能超过应缴金额 300.00 元。"]
    }
    assert 'value="300.01"' in response.content.decode()
    application.refresh_from_db()
    assert (application.waiver_status, application.waiver_amount) == (WaiverStatus.PENDING, Decimal("0.00"))


def test_finance_grants_a_waiver(world, term, as_user):
    application = apply(term, world.child, world.users["parent"], waiver=True)

    response = as_user("finance").post(
        reverse("enrollment:waiver-decide", args=[application.pk]), {"decision": "grant", "amount": "150"}
    )

    assert message_texts(response) == ["已批准张小明减免 150.00 元。"]
    application.refresh_from_db()
    assert (application.waiver_status, application.waiver_amount, application.waiver_decided_by) == (
        WaiverStatus.GRANTED,
        Decimal("150.00"),
        world.users["finance"],
    )
    assert application.history.latest("history_date").history_change_reason == "waiver decided"


def test_the_principal_refuses_a_waiver(world, term, as_user):
    application = apply(term, world.child, world.users["parent"], waiver=True)

    response = as_user("principal").post(
        reverse("enrollment:waiver-decide", args=[application.pk]), {"decision": "refuse", "amount": "99"}
    )

    assert message_texts(response) == ["已不批准张小明的减免申请。"]
    application.refresh_from_db()
    assert (application.waiver_status, application.waiver_amount) == (WaiverStatus.REFUSED, Decimal("0.00"))


@pytest.mark.parametrize(
    ("persona", "status"), [("homeroom", 403), ("other_parent", 404), ("far_principal", 404)]
)
def test_others_cannot_decide_a_waiver(world, term, as_user, persona, status):
    application = apply(term, world.child, world.users["parent"], waiver=True)

    response = as_user(persona).post(
        reverse("enrollment:waiver-decide", args=[application.pk]), {"decision": "grant", "amount": "300"}
    )

    assert response.status_code == status
    assert Application.objects.get(pk=application.pk).waiver_status == WaiverStatus.PENDING


# Agreement versions ----------------------------------------------------------------------------


def test_publishing_a_new_version_keeps_the_old_text(world, as_user):
    client = as_user("admin")
    first = {"title": "课后服务协议", "body": "第一版：学校职责、家长职责。", "effective_from": "2026-09-01"}
    response = client.post(reverse("enrollment:agreement-create"), first)
    assert message_texts(response) == ["已发布第 1 版协议，2026-09-01 起生效。"]

    form = client.get(reverse("enrollment:agreement-create")).context["form"]
    assert form.initial["body"] == "第一版：学校职责、家长职责。"
    response = client.post(
        reverse("enrollment:agreement-create"),
        {"title": "课后服务协议", "body": "第二版：增加接送与请假。", "effective_from": "2026-10-12"},
    )

    assert message_texts(response) == ["已发布第 2 版协议，2026-10-12 起生效。"]
    assert list(AgreementVersion.objects.filter(school=world.school).values_list("version", "body")) == [
        (2, "第二版：增加接送与请假。"),
        (1, "第一版：学校职责、家长职责。"),
    ]
    listing = as_user("principal").get(reverse("enrollment:agreement-list"))
    assert [(v.version, v.signature_count) for v in listing.context["versions"]] == [(2, 0), (1, 0)]
    assert listing.context["may_publish"] is False


def test_the_agreement_form_keeps_input_when_incomplete(world, as_user):
    response = as_user("admin").post(
        reverse("enrollment:agreement-create"), {"title": "课后服务协议", "body": "", "effective_from": ""}
    )

    assert response.status_code == 200
    assert response.context["form"]["title"].value() == "课后服务协议"
    assert set(response.context["form"].errors) == {"body", "effective_from"}
    assert not AgreementVersion.objects.exists()


def test_the_principal_may_not_publish(world, as_user):
    response = as_user("principal").post(
        reverse("enrollment:agreement-create"),
        {"title": "协议", "body": "正文", "effective_from": "2026-09-01"},
    )

    assert response.status_code == 403
    assert not AgreementVersion.objects.exists()


def test_another_schools_agreement_is_404(world, as_user):
    far = services.agreement_publish(
        actor=world.users["far_principal"],
        school=world.other_school,
        title="乙校协议",
        body="正文",
        effective_from=TODAY,
    )

    assert as_user("admin").get(reverse("enrollment:agreement-detail", args=[far.pk])).status_code == 404


# Query counts ----------------------------------------------------------------------------------


def grow(world, term, count, *, football, approve_class):
    agreement = services.current_agreement(world.school)
    start = Application.objects.count()
    for n in range(count):
        child = StudentFactory(classroom=world.classroom, name=f"学生{start + n}")
        application = apply(term, child, world.users["parent"], courses=[football], waiver=n % 2 == 0)
        services.agreement_sign(
            actor=world.users["parent"],
            application=application,
            agreement=agreement,
            typed_name="家长",
            consent=True,
            shown_text_sha256=services.agreement_text_hash(agreement),
            ip_address=None,
            user_agent="",
        )
        if approve_class:
            class_approved(world, application)


@pytest.mark.parametrize(
    ("persona", "url_name", "approve_class", "expected"),
    [
        ("homeroom", "enrollment:class-review", False, 11),
        ("principal", "enrollment:principal-review", True, 12),
        ("finance", "enrollment:waiver-list", False, 9),
    ],
)
def test_review_pages_run_a_constant_number_of_queries(
    world, term, as_user, persona, url_name, approve_class, expected
):
    services.agreement_publish(
        actor=world.users["admin"], school=world.school, title="协议", body="正文", effective_from=TODAY
    )
    football = course(world, term, capacity=100)
    client = as_user(persona)
    client.get(reverse(url_name))  # the first request of a session writes it
    counts = []
    # 3 applications, then 20: the same number of queries.
    for total in (3, 20):
        grow(world, term, total - Application.objects.count(), football=football, approve_class=approve_class)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse(url_name))
        assert response.status_code == 200
        counts.append(len(queries))
    assert Application.objects.count() == 20
    assert counts == [expected, expected], [q["sql"][:120] for q in queries.captured_queries]
