"""Reads of the enrollment flow that span relations; each runs a constant number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Prefetch

from aftercare.models import Student, Term
from catalogue.calendar_rules import weekday_label
from catalogue.fees import term_cost
from catalogue.models import Offering, OfferingKind, OfferingStatus
from catalogue.selectors import term_calendar

from .models import Application, Choice, ChoiceStatus, Enrollment, Refund, Signature

# Family side -----------------------------------------------------------------------------------


@dataclass
class ApplyOption:
    """One offering a parent may tick on the application form."""

    offering: Offering
    weekdays_label: str
    term_cost: Decimal
    places_left: int


@dataclass
class ApplyOptions:
    basic_care: ApplyOption | None
    courses: list[ApplyOption]

    @property
    def by_pk(self) -> dict[int, Offering]:
        options = ([self.basic_care] if self.basic_care else []) + self.courses
        return {option.offering.pk: option.offering for option in options}


def active_enrollment_counts(offering_ids) -> dict[int, int]:
    return dict(
        Enrollment.objects.filter(offering_id__in=list(offering_ids), left_on__isnull=True)
        .order_by()
        .values_list("offering_id")
        .annotate(n=Count("pk"))
        .values_list("offering_id", "n")
    )


def apply_options(student: Student, term: Term) -> ApplyOptions:
    """The child's class's published basic care and the published courses open to the child's
    grade, each with its term cost and places left (capacity − active enrollments)."""
    published = list(
        Offering.objects.filter(term=term, status=OfferingStatus.PUBLISHED).order_by("kind", "name", "pk")
    )
    grade = student.classroom.grade
    basic = next(
        (
            o
            for o in published
            if o.kind == OfferingKind.BASIC_CARE and o.classroom_id == student.classroom_id
        ),
        None,
    )
    courses = [o for o in published if o.kind == OfferingKind.COURSE and grade in (o.grades or [])]
    wanted = ([basic] if basic else []) + courses
    if not wanted:
        return ApplyOptions(basic_care=None, courses=[])
    calendar = term_calendar(term)
    taken = active_enrollment_counts(o.pk for o in wanted)

    def option(offering: Offering) -> ApplyOption:
        return ApplyOption(
            offering=offering,
            weekdays_label=weekday_label(offering.weekdays),
            term_cost=term_cost(offering.fee_mode, offering.fee_amount, calendar.session_count(offering)),
            places_left=max(0, offering.capacity - taken.get(offering.pk, 0)),
        )

    return ApplyOptions(
        basic_care=option(basic) if basic else None, courses=[option(course) for course in courses]
    )


def application_queryset():
    """An application with everything its pages show, joined."""
    return Application.objects.select_related(
        "student__classroom",
        "term",
        "school",
        "applicant",
        "class_reviewed_by",
        "decided_by",
        "waiver_decided_by",
    ).prefetch_related(
        Prefetch(
            "choices",
            queryset=Choice.objects.select_related("offering").order_by("offering__kind", "offering__name"),
        ),
        Prefetch("signatures", queryset=Signature.objects.select_related("agreement").order_by("-signed_at")),
        Prefetch(
            "enrollments",
            queryset=Enrollment.objects.select_related("offering").order_by(
                "offering__kind", "offering__name"
            ),
        ),
    )


def application_refunds(application: Application) -> list[Refund]:
    return list(
        Refund.objects.filter(enrollment__application=application)
        .select_related("enrollment__offering")
        .order_by("enrollment__offering__kind", "enrollment__offering__name")
    )


@dataclass
class ChildRow:
    """One child on the family's page: this term's application (if any) and its places."""

    student: Student
    application: Application | None
    enrolled: list[Enrollment] = field(default_factory=list)
    # (choice, position in line) for each waitlisted choice, 1 = first.
    waiting: list[tuple[Choice, int]] = field(default_factory=list)


def family_children(child_ids, term: Term | None) -> list[ChildRow]:
    """The user's children (given by id) with their application for ``term``."""
    from . import services

    students = list(
        Student.objects.filter(pk__in=list(child_ids), is_active=True)
        .select_related("classroom", "school")
        .order_by("classroom__grade", "classroom__number", "name")
    )
    applications = {}
    if term is not None and students:
        applications = {
            a.student_id: a for a in application_queryset().filter(term=term, student__in=students)
        }
    rows = []
    for student in students:
        application = applications.get(student.pk)
        row = ChildRow(student=student, application=application)
        if application is not None:
            row.enrolled = [e for e in application.enrollments.all() if e.left_on is None]
            # One query per waitlisted choice: bounded by the few courses one child waits for.
            row.waiting = [
                (choice, services.waiting_position(choice))
                for choice in application.choices.all()
                if choice.status == ChoiceStatus.WAITLISTED
            ]
        rows.append(row)
    return rows


# Review (class review, principal's approval, waivers, agreement versions) -------------------------
# Imports of this section are local: the file's import block belongs to the family section above.


def _review_queryset():
    return Application.objects.select_related("student__classroom").prefetch_related(
        Prefetch(
            "choices",
            queryset=Choice.objects.select_related("offering").order_by("offering__kind", "offering__name"),
        ),
        Prefetch(
            "signatures",
            queryset=Signature.objects.select_related("agreement").order_by("-agreement__version", "-pk"),
        ),
    )


def with_fee_totals(term: Term, applications: list[Application]) -> list[Application]:
    """Sets ``fee_total`` (all the choices, as ``waiver_decide`` counts them) and
    ``latest_signature`` on each application, from one load of the term's calendar. The rows come
    from ``_review_queryset`` (choices and signatures prefetched)."""
    calendar = term_calendar(term)
    sessions: dict[int, int] = {}
    for application in applications:
        total = Decimal("0.00")
        for choice in application.choices.all():
            offering = choice.offering
            if offering.pk not in sessions:
                sessions[offering.pk] = calendar.session_count(offering)
            total += term_cost(offering.fee_mode, offering.fee_amount, sessions[offering.pk])
        application.fee_total = total
        signatures = list(application.signatures.all())
        application.latest_signature = signatures[0] if signatures else None
    return applications


def review_status_order():
    """The order of the groups on the class review page: what waits for the teacher comes first."""
    from .models import ApplicationStatus

    return [
        ApplicationStatus.SUBMITTED,
        ApplicationStatus.CLASS_APPROVED,
        ApplicationStatus.RETURNED,
        ApplicationStatus.APPROVED,
        ApplicationStatus.REJECTED,
        ApplicationStatus.WITHDRAWN,
    ]


def class_review_groups(term: Term, classroom_ids) -> list[tuple[str, list[Application]]]:
    """The term's applications of the teacher's classes as (status, rows) groups, waiting ones
    first, each group by application time. Groups without rows are left out."""
    rows = list(
        _review_queryset()
        .filter(term=term, student__classroom_id__in=list(classroom_ids))
        .order_by("submitted_at", "pk")
    )
    with_fee_totals(term, rows)
    return [
        (status, group)
        for status in review_status_order()
        if (group := [a for a in rows if a.status == status])
    ]


def class_approved_applications(term: Term) -> list[Application]:
    """What the classes approved and waits for the principal, class by class."""
    from .models import ApplicationStatus

    rows = list(
        _review_queryset()
        .filter(term=term, status=ApplicationStatus.CLASS_APPROVED)
        .order_by("student__classroom__grade", "student__classroom__number", "submitted_at", "pk")
    )
    return with_fee_totals(term, rows)


def counted_statuses():
    from .models import ApplicationStatus

    return [
        ApplicationStatus.SUBMITTED,
        ApplicationStatus.CLASS_APPROVED,
        ApplicationStatus.APPROVED,
        ApplicationStatus.RETURNED,
        ApplicationStatus.REJECTED,
        ApplicationStatus.WITHDRAWN,
    ]


def class_status_counts(term: Term):
    """Every class of the term's school with ``counts`` (one number per ``counted_statuses``) of
    the term's applications; one aggregate query."""
    from django.db.models import Q

    from aftercare.models import Classroom

    statuses = counted_statuses()
    annotations = {
        f"n_{status}": Count(
            "students__applications",
            filter=Q(students__applications__term=term, students__applications__status=status),
        )
        for status in statuses
    }
    classrooms = list(
        Classroom.objects.filter(school_id=term.school_id).annotate(**annotations).order_by("grade", "number")
    )
    for classroom in classrooms:
        classroom.counts = [getattr(classroom, f"n_{status}") for status in statuses]
    return classrooms


def pending_waivers(school) -> list[Application]:
    """The school's waiting waiver requests, oldest first (withdrawn applications left out)."""
    from .models import ApplicationStatus, WaiverStatus

    rows = list(
        _review_queryset()
        .select_related("term")
        .filter(school=school, waiver_status=WaiverStatus.PENDING)
        .exclude(status=ApplicationStatus.WITHDRAWN)
        .order_by("submitted_at", "pk")
    )
    by_term: dict[int, list[Application]] = {}
    for application in rows:
        by_term.setdefault(application.term_id, []).append(application)
    for applications in by_term.values():
        with_fee_totals(applications[0].term, applications)
    return rows


def agreement_versions(school):
    """The school's agreement versions, newest first, with how many signatures each has."""
    from .models import AgreementVersion

    return (
        AgreementVersion.objects.filter(school=school)
        .select_related("created_by")
        .annotate(signature_count=Count("signatures"))
        .order_by("-version")
    )


# School side: lists, participation, rosters and bills (enrollment/views/school.py) -------------
# Imports of this section sit here so the sections can be edited independently.

from decimal import ROUND_HALF_UP  # noqa: E402

from django.db.models import (  # noqa: E402
    DecimalField,
    Exists,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce  # noqa: E402

from aftercare.models import Classroom, Guardian, School  # noqa: E402
from aftercare.money import to_fen  # noqa: E402

from .models import ApplicationStatus, Payment  # noqa: E402

_ZERO_YUAN = Value(Decimal("0.00"), output_field=DecimalField(max_digits=10, decimal_places=2))


def school_applications(term: Term, *, classroom=None, grade=None, offering=None, status=""):
    """The term's applications, filtered, each with its child, class and choices joined."""
    applications = Application.objects.filter(term=term)
    if classroom is not None:
        applications = applications.filter(student__classroom=classroom)
    if grade:
        applications = applications.filter(student__classroom__grade=grade)
    if offering is not None:
        applications = applications.filter(choices__offering=offering)
    if status:
        applications = applications.filter(status=status)
    return (
        applications.select_related("student__classroom")
        .prefetch_related(
            Prefetch(
                "choices",
                queryset=Choice.objects.select_related("offering").order_by(
                    "offering__kind", "offering__name"
                ),
            )
        )
        .order_by("student__classroom__grade", "student__classroom__number", "student__student_number", "pk")
    )


def application_status_counts(applications) -> dict[str, int]:
    """How many of ``applications`` are in each status; every status is present, zeros included."""
    counted = dict(
        applications.order_by().values_list("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    return {status: counted.get(status, 0) for status in ApplicationStatus.values}


def rate_percent(part: int, whole: int) -> Decimal | None:
    """``part`` of ``whole`` in percent to one place, half-up; None when there is nobody to count."""
    if whole <= 0:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class ClassParticipation:
    classroom: Classroom
    students: int
    enrolled: int
    rate: Decimal | None


def class_participation(school: School, term: Term) -> list[ClassParticipation]:
    """Per class: active students, how many of them hold an active basic-care or course enrollment
    this term, and the rate (it later feeds the teachers' evaluation). One query."""
    enrolled_in_class = (
        Student.objects.filter(classroom=OuterRef("pk"), is_active=True)
        .filter(Exists(Enrollment.objects.filter(student=OuterRef("pk"), term=term, left_on__isnull=True)))
        .order_by()
        .values("classroom")
        .annotate(n=Count("pk"))
        .values("n")
    )
    classrooms = (
        Classroom.objects.filter(school=school)
        .annotate(
            student_count=Count("students", filter=Q(students__is_active=True)),
            enrolled_count=Coalesce(Subquery(enrolled_in_class), 0),
        )
        .order_by("grade", "number")
    )
    return [
        ClassParticipation(
            classroom=c,
            students=c.student_count,
            enrolled=c.enrolled_count,
            rate=rate_percent(c.enrolled_count, c.student_count),
        )
        for c in classrooms
    ]


def course_places(term: Term):
    """The term's courses with capacity, active enrollments and the waiting list's length."""
    enrolled = (
        Enrollment.objects.filter(offering=OuterRef("pk"), left_on__isnull=True)
        .order_by()
        .values("offering")
        .annotate(n=Count("pk"))
        .values("n")
    )
    waiting = (
        Choice.objects.filter(
            offering=OuterRef("pk"),
            status=ChoiceStatus.WAITLISTED,
            application__status=ApplicationStatus.APPROVED,
        )
        .order_by()
        .values("offering")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Offering.objects.filter(term=term, kind=OfferingKind.COURSE)
        .annotate(
            enrolled_count=Coalesce(Subquery(enrolled), 0), waiting_count=Coalesce(Subquery(waiting), 0)
        )
        .order_by("name", "pk")
    )


def course_roster(offering: Offering) -> list[Enrollment]:
    """The offering's active enrollments with each child's class and guardians."""
    return list(
        Enrollment.objects.filter(offering=offering, left_on__isnull=True)
        .select_related("student__classroom", "student__school")
        .prefetch_related(Prefetch("student__guardians", queryset=Guardian.objects.order_by("pk")))
        .order_by("student__classroom__grade", "student__classroom__number", "student__student_number")
    )


def course_waiting_list(offering: Offering) -> list[Choice]:
    """In the order a freed place is offered: application time, then id (as services does)."""
    return list(
        Choice.objects.filter(
            offering=offering, status=ChoiceStatus.WAITLISTED, application__status=ApplicationStatus.APPROVED
        )
        .select_related("application__student__classroom")
        .order_by("application__submitted_at", "application_id")
    )


def _total(queryset, group: str, field: str):
    return Coalesce(
        Subquery(queryset.order_by().values(group).annotate(total=Sum(field)).values("total")), _ZERO_YUAN
    )


def term_bills(term: Term, *, unpaid_only: bool = False) -> list[Student]:
    """Per child with an enrollment or a payment this term: ``due`` (the enrollments' bill lines,
    after waiver), ``paid``, ``refunds`` recorded, ``refunds_paid`` out, and ``balance`` still owed
    = due − paid − refunds + refunds paid out. A negative balance is money owed to the family."""
    enrollments = Enrollment.objects.filter(student=OuterRef("pk"), term=term)
    payments = Payment.objects.filter(student=OuterRef("pk"), term=term)
    refunds = Refund.objects.filter(enrollment__student=OuterRef("pk"), enrollment__term=term)
    students = list(
        Student.objects.filter(school_id=term.school_id)
        .filter(Exists(enrollments) | Exists(payments))
        .select_related("classroom")
        .annotate(
            due=_total(enrollments, "student", "amount_due"),
            paid=_total(payments, "student", "amount"),
            refunds=_total(refunds, "enrollment__student", "amount"),
            refunds_paid=_total(refunds.filter(paid_on__isnull=False), "enrollment__student", "amount"),
        )
        .order_by("classroom__grade", "classroom__number", "student_number")
    )
    for student in students:
        # The sums are exact in PostgreSQL; SQLite (the demo) sums decimals as floats, so every
        # total goes back to the fen before any arithmetic.
        student.due, student.paid, student.refunds, student.refunds_paid = (
            to_fen(Decimal(str(value)))
            for value in (student.due, student.paid, student.refunds, student.refunds_paid)
        )
        student.balance = student.due - student.paid - student.refunds + student.refunds_paid
    if unpaid_only:
        students = [student for student in students if student.balance > 0]
    return students


def term_refunds_to_pay(term: Term):
    """Refunds recorded this term and not yet paid back, oldest first."""
    return (
        Refund.objects.filter(enrollment__term=term, paid_on__isnull=True)
        .select_related("enrollment__student__classroom", "enrollment__offering")
        .order_by("recorded_at", "pk")
    )
