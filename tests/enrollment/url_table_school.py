"""Who may reach the school's enrollment pages (merged into tests/aftercare/test_url_permissions.py)."""

from decimal import Decimal

from django.utils import timezone

from catalogue.models import Domain, Offering, OfferingKind, OfferingStatus
from enrollment.models import Application, ApplicationStatus, Enrollment, Refund


def _course(world):
    """A published course of school A taught by the service teacher."""
    course = Offering.objects.create(
        school=world.school,
        term=world.school.terms.get(),
        kind=OfferingKind.COURSE,
        name="足球",
        domain=Domain.PHYSICAL,
        grades=[3],
        capacity=20,
        weekdays=[1],
        status=OfferingStatus.PUBLISHED,
    )
    course.teachers.set([world.users["service_teacher"]])
    return {"offering_pk": course.pk}


def _refund(world):
    """An unpaid refund of the parent's child (school A)."""
    term = world.school.terms.get()
    course = Offering.objects.get(pk=_course(world)["offering_pk"])
    application = Application.objects.create(
        school=world.school,
        term=term,
        student=world.child,
        applicant=world.users["parent"],
        status=ApplicationStatus.WITHDRAWN,
        submitted_at=timezone.now(),
    )
    enrollment = Enrollment.objects.create(
        student=world.child,
        offering=course,
        term=term,
        application=application,
        joined_on=term.starts_on,
        left_on=term.starts_on,
        amount_due=Decimal("100.00"),
    )
    refund = Refund.objects.create(
        enrollment=enrollment, amount=Decimal("50.00"), basis="100.00 × 1/2", recorded_by=world.users["admin"]
    )
    return {"pk": refund.pk}


URL_TABLE = {
    # The active school's term: its principal, administrators and finance (school B's principal
    # reaches school B's list). Homeroom teachers review on their class page instead.
    "enrollment:application-list": ("get", None, {"principal", "admin", "finance", "far_principal"}),
    "enrollment:export-applications": ("post", None, {"principal", "admin", "finance", "far_principal"}),
    "enrollment:participation": ("get", None, {"principal", "admin", "far_principal"}),
    # A course's roster: school A's principal and administrators, and the course's own teacher.
    "enrollment:course-roster": ("get", _course, {"principal", "admin", "service_teacher"}),
    "enrollment:export-roster": ("post", _course, {"principal", "admin", "service_teacher"}),
    # Money: finance and the principal.
    "enrollment:bills": ("get", None, {"finance", "principal", "far_principal"}),
    "enrollment:payment-create": ("get", lambda w: {"student_pk": w.child.pk}, {"finance", "principal"}),
    "enrollment:refund-paid": ("post", _refund, {"finance", "principal"}),
}
