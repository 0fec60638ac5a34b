"""The principal approves 1,000 applications at once (校长审定 in bulk): time and queries."""

import tempfile
import time
from pathlib import Path

from bench.common import setup_django

DATABASE = Path(tempfile.gettempdir()) / "aftercare-bench-approve.sqlite3"


def main() -> None:
    DATABASE.unlink(missing_ok=True)
    setup_django(f"sqlite:///{DATABASE}")
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, transaction

    from aftercare.models import Guardian, School, Student
    from catalogue.models import Offering, OfferingKind, OfferingStatus
    from enrollment import services
    from enrollment.models import Application, ApplicationStatus

    # No daily history: it would enroll most families, leaving too few to apply.
    call_command("seed_demo", size="large", force=True, history_days=0, verbosity=0)
    school = School.objects.get(code="demo-1")
    term = school.terms.get()
    user_model = get_user_model()
    teacher = user_model.objects.get(username="teacher")
    principal = user_model.objects.get(username="principal")
    courses = {
        grade: list(
            Offering.objects.filter(term=term, kind=OfferingKind.COURSE, status=OfferingStatus.PUBLISHED)
            .filter(grades__contains=grade)
            .order_by("name")[:1]
        )
        if connection.vendor == "postgresql"
        else [
            o
            for o in Offering.objects.filter(
                term=term, kind=OfferingKind.COURSE, status=OfferingStatus.PUBLISHED
            )
            if grade in o.grades
        ][:1]
        for grade in range(1, 7)
    }
    students = list(
        Student.objects.filter(school=school, applications__isnull=True).select_related("classroom")[:1000]
    )
    started = time.perf_counter()
    with transaction.atomic():
        for student in students:
            guardian = Guardian.objects.filter(student=student).first()
            applicant = user_model.objects.create(username=f"bench-{student.pk}", full_name=guardian.name)
            guardian.user = applicant
            guardian.save(update_fields=["user"])
            application = services.application_submit(
                actor=applicant,
                student=student,
                term=term,
                wants_basic_care=True,
                course_ids=[c.pk for c in courses[student.classroom.grade]],
            )
            services.application_class_approve(actor=teacher, application=application)
    print(f"prepared {len(students)} class-approved applications in {time.perf_counter() - started:.1f} s")

    waiting = list(Application.objects.filter(term=term, status=ApplicationStatus.CLASS_APPROVED))
    queries = []
    started = time.perf_counter()
    with connection.execute_wrapper(lambda execute, sql, *args: queries.append(sql) or execute(sql, *args)):
        result = services.applications_approve(actor=principal, applications=waiting)
    elapsed = time.perf_counter() - started
    print(
        f"approved {result['approved']} applications ({result['enrolled']} places, {result['waitlisted']} waiting) "
        f"in {elapsed:.2f} s, {len(queries)} queries ({len(queries) / max(1, result['approved']):.1f} per application)"
    )


if __name__ == "__main__":
    main()
