"""The demo school's families: approved, signed applications for most children, enrolled for the
whole term in their class's basic care and perhaps one course."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from aftercare.models import Guardian, InvitationCode, Student
from attendance.models import PickupArrangement, PickupPerson
from catalogue.fees import term_cost
from catalogue.models import Offering, OfferingKind, OfferingStatus
from enrollment.models import (
    AgreementVersion,
    Application,
    ApplicationStatus,
    Choice,
    ChoiceStatus,
    Enrollment,
    Signature,
)
from enrollment.services import agreement_text_hash

from .base import BATCH_SIZE, Writer
from .texts import GRANDPARENTS

# Families: most take part; a course place is offered while it is less than this full, so the demo's
# own applications (the `parent` login, class 3-1) still find places.
PARTICIPATION = 0.88
WANTS_BASIC_CARE = 0.92
TAKES_A_COURSE = 0.45
COURSE_FILL = 0.7
GOES_HOME_ALONE = 0.08  # grades 4–6, with the guardians' permission
HAS_PICKUP_PERSON = 0.12


def enroll_families(rng, school, term, calendar, people) -> tuple[int, int]:
    """Approved applications, signed, for most families: basic care and perhaps one course each.
    The first two children of every class (by student number), the demo logins' children and
    children already applying are left out, so every class still has families who can apply."""
    applied = set(Application.objects.filter(term=term).values_list("student_id", flat=True))
    with_login = set(Guardian.objects.filter(user__isnull=False).values_list("student_id", flat=True))
    students = list(
        Student.objects.filter(school=school, is_active=True)
        .select_related("classroom__homeroom_teacher")
        .prefetch_related("guardians")
        .order_by("classroom__grade", "classroom__number", "student_number", "pk")
    )
    offerings = list(Offering.objects.filter(term=term, status=OfferingStatus.PUBLISHED).order_by("pk"))
    basic_care = {o.classroom_id: o for o in offerings if o.kind == OfferingKind.BASIC_CARE}
    courses = [o for o in offerings if o.kind == OfferingKind.COURSE]
    taken = defaultdict(int)
    for offering_id in Enrollment.objects.filter(term=term, left_on__isnull=True).values_list(
        "offering_id", flat=True
    ):
        taken[offering_id] += 1
    cost = {o.pk: term_cost(o.fee_mode, o.fee_amount, calendar.session_count(o)) for o in offerings}
    teachers_class = school.classrooms.get(grade=3, number=1)

    plans = []  # (student, guardian, [offerings])
    position_in_class = defaultdict(int)
    for student in students:
        position_in_class[student.classroom_id] += 1
        if student.pk in applied or student.pk in with_login or position_in_class[student.classroom_id] <= 2:
            continue
        everyone = student.classroom_id == teachers_class.pk
        if not everyone and rng.random() > PARTICIPATION:
            continue
        chosen = []
        if (everyone or rng.random() < WANTS_BASIC_CARE) and student.classroom_id in basic_care:
            chosen.append(basic_care[student.classroom_id])
        if rng.random() < TAKES_A_COURSE:
            open_courses = [
                c
                for c in courses
                if student.classroom.grade in c.grades and taken[c.pk] < math.floor(c.capacity * COURSE_FILL)
            ]
            if open_courses:
                chosen.append(rng.choice(open_courses))
        if not chosen:
            continue
        for offering in chosen:
            taken[offering.pk] += 1
        guardians = list(student.guardians.all())
        plans.append((student, guardians[0], chosen))

    password = people.teacher.password
    accounts = get_user_model().objects.bulk_create(
        [
            get_user_model()(
                username=f"guardian-{student.student_number}",
                full_name=guardian.name,
                phone=guardian.phone,
                password=password,
            )
            for student, guardian, _chosen in plans
        ],
        batch_size=BATCH_SIZE,
    )
    # Applications close ten days before the term; the class review and the approval follow.
    closing = datetime.combine(
        term.starts_on - timedelta(days=10), time(20), tzinfo=timezone.get_current_timezone()
    )
    applications = []
    for (student, guardian, chosen), account in zip(plans, accounts, strict=True):
        guardian.user = account
        submitted = closing - timedelta(days=rng.randint(0, 6), minutes=rng.randint(0, 180))
        applications.append(
            Application(
                school=school,
                term=term,
                student=student,
                applicant=account,
                status=ApplicationStatus.APPROVED,
                wants_basic_care=any(o.kind == OfferingKind.BASIC_CARE for o in chosen),
                submitted_at=submitted,
                class_reviewed_by=student.classroom.homeroom_teacher,
                class_reviewed_at=closing + timedelta(days=2, hours=-10),
                decided_by=people.principal,
                decided_at=closing + timedelta(days=5, hours=-10),
            )
        )
    Guardian.objects.bulk_update([guardian for _s, guardian, _c in plans], ["user"], batch_size=BATCH_SIZE)
    codes = {
        c.student_id: c for c in InvitationCode.objects.filter(student__school=school, used_at__isnull=True)
    }
    used = []
    for (student, _guardian, _chosen), account in zip(plans, accounts, strict=True):
        code = codes.get(student.pk)
        if code is not None:
            code.used_at, code.used_by = closing - timedelta(days=12), account
            used.append(code)
    InvitationCode.objects.bulk_update(used, ["used_at", "used_by"], batch_size=BATCH_SIZE)
    Application.objects.bulk_create(applications, batch_size=BATCH_SIZE)

    agreement = AgreementVersion.objects.filter(school=school).order_by("-version").first()
    writer = Writer()
    for application, (student, guardian, chosen) in zip(applications, plans, strict=True):
        if agreement is not None:
            writer.add(
                Signature(
                    application=application,
                    agreement=agreement,
                    signer=application.applicant,
                    typed_name=guardian.name,
                    text_sha256=agreement_text_hash(agreement),
                    signed_at=application.submitted_at,
                    ip_address="127.0.0.1",
                    user_agent="seed_demo",
                )
            )
        for offering in chosen:
            writer.add(Choice(application=application, offering=offering, status=ChoiceStatus.ENROLLED))
            writer.add(
                Enrollment(
                    student=student,
                    offering=offering,
                    term=term,
                    application=application,
                    joined_on=term.starts_on,
                    amount_due=cost[offering.pk],
                )
            )
        if student.classroom.grade >= 4 and rng.random() < GOES_HOME_ALONE:
            writer.add(
                PickupArrangement(student=student, may_go_home_alone=True, updated_by=application.applicant)
            )
        if rng.random() < HAS_PICKUP_PERSON:
            relation, title = rng.choice(GRANDPARENTS)
            writer.add(
                PickupPerson(
                    student=student,
                    name=student.name[0] + title,
                    relation=relation,
                    phone=f"138{student.pk:08d}",
                    added_by=application.applicant,
                )
            )
    writer.flush()
    return len(plans), writer.counts[Enrollment]
