"""Who may see and act on applications, enrollments and money. Same rules as aftercare.permissions:
404 for outsiders (a parent of another family, another school), 403 for insiders without the role."""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from aftercare.models import Student
from aftercare.permissions import access_for, get_student_for_user
from aftercare.roles import Role
from catalogue.models import Offering
from catalogue.permissions import get_offering_for_user

from .models import Application, Enrollment, Refund

FAMILY_ROLES = frozenset({Role.PARENT, Role.PARENT_COMMITTEE})


def get_child_for_guardian(user, student_pk: int) -> Student:
    """A child the user is a guardian of (to apply for); any other child is 404."""
    if student_pk not in access_for(user).child_ids:
        raise Http404
    return get_student_for_user(user, student_pk)


def get_application_for_user(user, pk: int, *, action: str = "view") -> Application:
    """``action``: "view"; "family" (edit, sign, withdraw: the child's guardians); "class_review"
    (the class's homeroom teacher); "decide" (the principal); "waiver" (finance or the principal).
    The school's administrators may view everything of their school."""
    application = (
        Application.objects.select_related("student__classroom", "term", "school", "applicant")
        .filter(pk=pk)
        .first()
    )
    if application is None:
        raise Http404
    school_access = access_for(user).schools.get(application.school_id)
    if school_access is None:
        raise Http404
    roles = school_access.roles
    is_guardian = application.student_id in school_access.child_ids
    is_homeroom = application.student.classroom_id in school_access.homeroom_classroom_ids
    allowed = {
        "view": is_guardian
        or is_homeroom
        or bool(roles & {Role.PRINCIPAL, Role.ADMINISTRATOR, Role.FINANCE}),
        "family": is_guardian,
        "class_review": is_homeroom,
        "decide": Role.PRINCIPAL in roles,
        "waiver": bool(roles & {Role.PRINCIPAL, Role.FINANCE}),
    }[action]
    if allowed:
        return application
    # Another family, or a committee member, must not learn that the application exists.
    if roles <= FAMILY_ROLES | {Role.DISTRICT_OFFICER} and not is_guardian:
        raise Http404
    raise PermissionDenied


def get_enrollment_for_user(user, pk: int) -> Enrollment:
    enrollment = Enrollment.objects.select_related("application", "offering", "student").filter(pk=pk).first()
    if enrollment is None:
        raise Http404
    get_application_for_user(user, enrollment.application_id)
    return enrollment


SCHOOL_OUTSIDER_ROLES = frozenset({Role.PARENT, Role.PARENT_COMMITTEE, Role.DISTRICT_OFFICER})
ROSTER_ROLES = frozenset({Role.PRINCIPAL, Role.ADMINISTRATOR})
MONEY_ROLES = frozenset({Role.FINANCE, Role.PRINCIPAL})


def _refusal(roles) -> Exception:
    """Parents and district officers must not learn that a school's row exists: 404; staff 403."""
    return Http404() if roles <= SCHOOL_OUTSIDER_ROLES else PermissionDenied()


def get_roster_offering_for_user(user, pk: int) -> Offering:
    """A course roster (children, guardians' phones) is for the school's principal and
    administrators and the offering's own teachers."""
    offering = get_offering_for_user(user, pk)
    roles = access_for(user).roles_at(offering.school_id)
    if roles & ROSTER_ROLES or offering.teachers.filter(pk=user.pk).exists():
        return offering
    raise _refusal(roles)


def get_student_for_finance(user, pk: int) -> Student:
    """A child whose term bill finance or the principal may record money against."""
    student = Student.objects.select_related("school", "classroom").filter(pk=pk).first()
    if student is None:
        raise Http404
    roles = access_for(user).roles_at(student.school_id)
    if not roles:
        raise Http404
    if roles & MONEY_ROLES:
        return student
    raise _refusal(roles)


def get_refund_for_finance(user, pk: int) -> Refund:
    refund = (
        Refund.objects.select_related(
            "enrollment__student__school", "enrollment__student__classroom", "enrollment__offering"
        )
        .filter(pk=pk)
        .first()
    )
    if refund is None:
        raise Http404
    roles = access_for(user).roles_at(refund.enrollment.student.school_id)
    if not roles:
        raise Http404
    if roles & MONEY_ROLES:
        return refund
    raise _refusal(roles)
