"""The school's enrollment pages, by persona: application list, participation, rosters, exports,
bills, payments and refunds."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from aftercare.models import Guardian, Job, JobStatus, Student
from catalogue import services as catalogue
from catalogue.models import FeeMode, Offering, OfferingKind
from enrollment import services
from enrollment.models import (
    Application,
    ApplicationStatus,
    Choice,
    ChoiceStatus,
    Enrollment,
    Payment,
    PaymentMethod,
    Refund,
)
from enrollment.selectors import rate_percent
from tests.factories import TermFactory

TODAY = date(2026, 10, 12)


def course(world, term, name="足球", capacity=1, fee=Decimal("10.00")):
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


def apply(world, student, parent, term, courses=(), basic=True):
    return services.application_submit(
        actor=parent, student=student, term=term, wants_basic_care=basic, course_ids=[c.pk for c in courses]
    )


def approve(world, application):
    services.application_class_approve(actor=world.users["homeroom"], application=application)
    services.applications_approve(actor=world.users["principal"], applications=[application])


@pytest.fixture
def flow(world, term):
    """张小明 (3-1) approved with basic care and 足球 (1 place); 陈小华 (3-1) approved for 足球 only
    and waiting; 李小红 (3-2) submitted, waiting for the class review."""
    football = course(world, term)
    mine = apply(world, world.child, world.users["parent"], term, courses=[football])
    approve(world, mine)
    committee_child = Student.objects.get(name="陈小华")
    waiting = apply(world, committee_child, world.users["committee"], term, courses=[football], basic=False)
    approve(world, waiting)
    apply(world, world.other_child, world.users["other_parent"], term)
    return football


# Application list --------------------------------------------------------------------------------


def _listed(response):
    return [a.student.name for a in response.context["applications"]]


def _counts(response):
    return {row["value"]: row["count"] for row in response.context["status_counts"]}


def test_principal_sees_every_application_with_counts_per_status(world, flow, as_user):
    response = as_user("principal").get(reverse("enrollment:application-list"))
    assert response.status_code == 200
    # By class, then student number.
    assert _listed(response) == ["张小明", "陈小华", "李小红"]
    assert _counts(response) == {
        "submitted": 1,
        "returned": 0,
        "class_approved": 0,
        "approved": 2,
        "rejected": 0,
        "withdrawn": 0,
    }
    assert response.context["total"] == 3


def test_filters_by_class_grade_course_and_status(world, flow, as_user):
    client = as_user("finance")
    url = reverse("enrollment:application-list")

    by_class = client.get(url, {"classroom": world.other_classroom.pk})
    assert _listed(by_class) == ["李小红"]
    assert _counts(by_class)["submitted"] == 1
    assert _counts(by_class)["approved"] == 0

    by_course = client.get(url, {"offering": flow.pk})
    assert sorted(_listed(by_course)) == ["张小明", "陈小华"]
    assert _counts(by_course)["approved"] == 2

    by_status = client.get(url, {"status": ApplicationStatus.SUBMITTED})
    assert _listed(by_status) == ["李小红"]
    # The counts stay those of the whole (class/grade/course-filtered) list: they are the tabs.
    assert _counts(by_status)["approved"] == 2

    assert len(_listed(client.get(url, {"grade": 3}))) == 3
    assert _listed(client.get(url, {"grade": 1})) == []


# Participation -----------------------------------------------------------------------------------


def test_rate_arithmetic_is_exact():
    assert rate_percent(1, 2) == Decimal("50.0")
    assert rate_percent(1, 3) == Decimal("33.3")
    assert rate_percent(2, 3) == Decimal("66.7")
    assert rate_percent(0, 5) == Decimal("0.0")
    assert rate_percent(0, 0) is None


def test_participation_per_class_and_course_places(world, flow, as_user):
    response = as_user("principal").get(reverse("enrollment:participation"))
    assert response.status_code == 200
    rows = {
        row.classroom.short_name: (row.students, row.enrolled, row.rate)
        for row in response.context["classes"]
    }
    # 3-1: 张小明 enrolled, 陈小华 only waiting → 1 of 2. 3-2: 李小红 not yet approved → 0 of 1.
    assert rows == {"3-1": (2, 1, Decimal("50.0")), "3-2": (1, 0, Decimal("0.0"))}
    courses = [(c.name, c.capacity, c.enrolled_count, c.waiting_count) for c in response.context["courses"]]
    assert courses == [("足球", 1, 1, 1)]
    assert "50.0%" in response.content.decode()


def test_an_inactive_child_is_not_counted(world, flow, as_user):
    Student.objects.filter(name="陈小华").update(is_active=False)
    response = as_user("admin").get(reverse("enrollment:participation"))
    rows = {row.classroom.short_name: row.rate for row in response.context["classes"]}
    assert rows["3-1"] == Decimal("100.0")


# Course roster -----------------------------------------------------------------------------------


def test_the_courses_teacher_sees_its_roster_and_waiting_list(world, flow, as_user):
    response = as_user("service_teacher").get(reverse("enrollment:course-roster", args=[flow.pk]))
    assert response.status_code == 200
    assert [row["enrollment"].student.name for row in response.context["rows"]] == ["张小明"]
    assert [c.application.student.name for c in response.context["waiting"]] == ["陈小华"]


def test_another_teacher_gets_403_and_a_parent_404(world, flow, as_user):
    path = reverse("enrollment:course-roster", args=[flow.pk])
    assert as_user("homeroom").get(path).status_code == 403
    assert as_user("parent").get(path).status_code == 404
    assert as_user("far_principal").get(path).status_code == 404


def test_phones_are_masked_for_the_principal_and_full_for_the_administrator(world, flow, as_user):
    path = reverse("enrollment:course-roster", args=[flow.pk])
    principal = as_user("principal").get(path)
    admin = as_user("admin").get(path)
    phones = [g["phone"] for g in principal.context["rows"][0]["guardians"]]
    assert "138****1234" in phones
    assert "13812341234" not in principal.content.decode()
    assert "13812341234" in [g["phone"] for g in admin.context["rows"][0]["guardians"]]


# Exports ---------------------------------------------------------------------------------------


def _download(client, job):
    response = client.get(reverse("core:job-download", args=[job.pk]))
    return load_workbook(io.BytesIO(b"".join(response.streaming_content)))


def test_application_export_reads_back_and_a_formula_name_stays_text(
    world, flow, as_user, django_capture_on_commit_callbacks
):
    Student.objects.filter(pk=world.child.pk).update(name="=1+1")
    client = as_user("principal")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("enrollment:export-applications"), {"classroom": world.classroom.pk})
    job = Job.objects.get(created_by=world.users["principal"])
    assert response["Location"] == reverse("core:job-detail", args=[job.pk])
    assert job.status == JobStatus.SUCCEEDED
    sheet = _download(client, job)["报名名单"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("班级", "学号", "姓名", "状态", "基础托管", "特色课程", "提交时间")
    # Filtered to 3-1: two children, 李小红 of 3-2 is not there.
    names = {row[2]: row for row in rows[1:]}
    assert set(names) == {"=1+1", "陈小华"}
    assert names["=1+1"][3:6] == ("已审定", "已录取", "足球（已录取）")
    assert names["陈小华"][3:6] == ("已审定", None, "足球（候补中）")  # an empty cell reads back as None
    formula_cell = next(row[2] for row in sheet.iter_rows(min_row=2) if row[2].value == "=1+1")
    assert formula_cell.data_type == "s"


def test_roster_export_has_masked_phones_for_the_principal_and_the_waiting_list(
    world, flow, as_user, django_capture_on_commit_callbacks
):
    Student.objects.filter(pk=world.child.pk).update(name='=HYPERLINK("x")')
    client = as_user("principal")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("enrollment:export-roster", args=[flow.pk]))
    job = Job.objects.get(created_by=world.users["principal"])
    assert job.status == JobStatus.SUCCEEDED
    workbook = _download(client, job)
    roster = list(workbook["在读名单"].iter_rows(values_only=True))
    assert roster[0] == ("班级", "学号", "姓名", "监护人", "电话", "加入日期")
    assert roster[1][0] == "三年级（1）班"
    assert roster[1][2] == '=HYPERLINK("x")'
    assert roster[1][3] == "张爸爸、张妈妈"
    assert roster[1][4].startswith("138****1234")
    assert workbook["在读名单"]["C2"].data_type == "s"
    waiting = list(workbook["候补名单"].iter_rows(values_only=True))
    assert [row[:3] for row in waiting[1:]] == [(1, "三年级（1）班", "陈小华")]


def test_another_teacher_cannot_start_a_roster_export(world, flow, as_user):
    response = as_user("homeroom").post(reverse("enrollment:export-roster", args=[flow.pk]))
    assert response.status_code == 403
    assert not Job.objects.exists()


# Payments, bills and refunds ---------------------------------------------------------------------


def _payment_data(term, amount="510.00"):
    return {
        "term": term.pk,
        "amount": amount,
        "method": PaymentMethod.BANK_TRANSFER,
        "paid_by": "张爸爸",
        "paid_on": "2026-10-10",
        "reference": "TX-001",
    }


def _bill(response, name):
    return next(b for b in response.context["bills"] if b.name == name)


def test_a_payment_for_another_term_is_refused_and_nothing_is_stored(world, flow, term, as_user):
    last_term = TermFactory(
        school=world.school, name="2026春季学期", starts_on=date(2026, 2, 20), ends_on=date(2026, 7, 10)
    )
    response = as_user("finance").post(
        reverse("enrollment:payment-create", args=[world.child.pk]), _payment_data(last_term)
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [str(services.NOT_CURRENT_TERM)]
    assert "只能为当前学期收费，不得跨学期收费。" in response.content.decode()
    assert 'value="TX-001"' in response.content.decode()  # the input is kept
    assert not Payment.objects.exists()


def test_a_homeroom_teacher_cannot_record_a_payment(world, flow, term, as_user):
    response = as_user("homeroom").post(
        reverse("enrollment:payment-create", args=[world.child.pk]), _payment_data(term)
    )
    assert response.status_code == 403
    assert not Payment.objects.exists()


def test_bill_balance_after_payment_withdrawal_and_refund(world, flow, term, as_user):
    client = as_user("finance")
    bills = client.get(reverse("enrollment:bills"))
    # Basic care 300.00 + 足球 21 Tuesdays × 10.00.
    bill = _bill(bills, "张小明")
    assert (bill.due, bill.paid, bill.refunds, bill.balance) == (
        Decimal("510.00"),
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("510.00"),
    )
    # 陈小华 waits for 足球: nothing due, no bill line.
    assert [b.name for b in bills.context["bills"]] == ["张小明"]

    response = client.post(reverse("enrollment:payment-create", args=[world.child.pk]), _payment_data(term))
    assert response["Location"] == reverse("enrollment:bills")
    payment = Payment.objects.get()
    assert (payment.amount, payment.method, payment.paid_by, payment.term, payment.recorded_by) == (
        Decimal("510.00"),
        "bank_transfer",
        "张爸爸",
        term,
        world.users["finance"],
    )
    bill = _bill(client.get(reverse("enrollment:bills")), "张小明")
    assert (bill.paid, bill.balance) == (Decimal("510.00"), Decimal("0.00"))
    assert client.get(reverse("enrollment:bills"), {"unpaid": "on"}).context["bills"] == []

    application = Application.objects.get(student=world.child)
    services.application_withdraw(actor=world.users["parent"], application=application)
    refunds = client.get(reverse("enrollment:bills"))
    bill = _bill(refunds, "张小明")
    # Withdrawn on 12 October: 72 of the 102 service days are still to come.
    assert sorted((r.enrollment.offering.name, r.amount) for r in refunds.context["refunds_to_pay"]) == [
        ("三年级（1）班 基础托管", Decimal("211.76")),
        ("足球", Decimal("148.24")),
    ]
    assert (bill.due, bill.paid, bill.refunds, bill.balance) == (
        Decimal("510.00"),
        Decimal("510.00"),
        Decimal("360.00"),
        Decimal("-360.00"),
    )
    # Shown to the fen, whatever the database's arithmetic.
    assert "<strong>-360.00</strong>" in refunds.content.decode()

    for refund in Refund.objects.all():
        response = client.post(reverse("enrollment:refund-paid", args=[refund.pk]))
        assert response["Location"] == reverse("enrollment:bills")
    assert set(Refund.objects.values_list("paid_on", flat=True)) == {TODAY}
    after = client.get(reverse("enrollment:bills"))
    assert _bill(after, "张小明").balance == Decimal("0.00")
    assert after.context["refunds_to_pay"] == []


def _refund(world, flow):
    services.payment_record(
        actor=world.users["finance"],
        student=world.child,
        term=flow.term,
        amount=Decimal("510.00"),
        method=PaymentMethod.CASH,
        paid_by="张爸爸",
        paid_on=TODAY,
    )
    application = Application.objects.get(student=world.child)
    services.application_withdraw(actor=world.users["parent"], application=application)
    return Refund.objects.order_by("pk").first()


def test_a_refund_paid_twice_is_refused_with_a_message(world, flow, as_user):
    refund = _refund(world, flow)
    client = as_user("principal")
    first = client.post(reverse("enrollment:refund-paid", args=[refund.pk]), follow=True)
    assert [str(m) for m in first.context["messages"]] == ["已标记退还张小明 211.76 元。"]
    second = client.post(reverse("enrollment:refund-paid", args=[refund.pk]), follow=True)
    assert [str(m) for m in second.context["messages"]] == [str(services.REFUND_ALREADY_PAID)]
    refund.refresh_from_db()
    assert refund.paid_on == TODAY


def test_a_parent_cannot_mark_a_refund_paid(world, flow, as_user):
    refund = _refund(world, flow)
    assert as_user("parent").post(reverse("enrollment:refund-paid", args=[refund.pk])).status_code == 404
    assert as_user("admin").post(reverse("enrollment:refund-paid", args=[refund.pk])).status_code == 403
    refund.refresh_from_db()
    assert refund.paid_on is None


# Query counts ------------------------------------------------------------------------------------


def grow(world, term, count: int) -> None:
    """``count`` more approved children across both classes, each with a guardian, basic care, a
    place on 足球's waiting list, and a payment."""
    start = Student.objects.count()
    students = Student.objects.bulk_create(
        [
            Student(
                school=world.school,
                classroom=(world.classroom, world.other_classroom)[n % 2],
                name=f"学生{start + n}",
                student_number=f"G{start + n:06d}",
                gender="M",
            )
            for n in range(count)
        ]
    )
    Guardian.objects.bulk_create(
        [Guardian(student=s, name="家长", relation="mother", phone=f"135{s.pk:08d}") for s in students]
    )
    now = timezone.now()
    applications = Application.objects.bulk_create(
        [
            Application(
                school=world.school,
                term=term,
                student=s,
                applicant=world.users["admin"],
                status=ApplicationStatus.APPROVED,
                wants_basic_care=True,
                submitted_at=now,
            )
            for s in students
        ]
    )
    basic = {o.classroom_id: o for o in Offering.objects.filter(term=term, kind=OfferingKind.BASIC_CARE)}
    football = Offering.objects.get(term=term, name="足球")
    Choice.objects.bulk_create(
        [
            Choice(application=a, offering=basic[a.student.classroom_id], status=ChoiceStatus.ENROLLED)
            for a in applications
        ]
        + [
            Choice(application=a, offering=football, status=ChoiceStatus.WAITLISTED, waitlisted_at=now)
            for a in applications
        ]
    )
    Enrollment.objects.bulk_create(
        [
            Enrollment(
                student=a.student,
                offering=basic[a.student.classroom_id],
                term=term,
                application=a,
                joined_on=term.starts_on,
                amount_due=Decimal("300.00"),
            )
            for a in applications
        ]
    )
    Payment.objects.bulk_create(
        [
            Payment(
                school=world.school,
                term=term,
                student=s,
                amount=Decimal("100.00"),
                method=PaymentMethod.CASH,
                paid_by="家长",
                paid_on=TODAY,
                recorded_by=world.users["finance"],
            )
            for s in students
        ]
    )


PAGES = [
    ("principal", lambda w, f: reverse("enrollment:application-list"), 10),
    ("principal", lambda w, f: reverse("enrollment:participation"), 7),
    ("finance", lambda w, f: reverse("enrollment:bills"), 7),
    ("admin", lambda w, f: reverse("enrollment:course-roster", args=[f.pk]), 7),
]


@pytest.mark.parametrize(("persona", "url", "expected"), PAGES)
def test_query_count_is_constant(world, flow, term, as_user, persona, url, expected):
    client = as_user(persona)
    path = url(world, flow)
    client.get(path)  # the first request of a session writes it; measure the ones after
    counts = []
    for count in (5, 200):
        grow(world, term, count)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts == [expected, expected], [q["sql"][:150] for q in queries.captured_queries]
