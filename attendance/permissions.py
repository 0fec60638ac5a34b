"""Who may see and act on a session and what hangs off it. Same rules as aftercare.permissions:
404 for outsiders (another school, a parent, a district officer), 403 for staff without the role.

Actions on a session:

- ``view``: its teachers, the homeroom teacher of its class (basic care), the inspectors and the
  school's leaders;
- ``teach``: take roll, hand children over, write the activity record: its teachers, and the
  school's administrators (a substitute's roll, a correction: audited like any other);
- ``inspect``: teachers' attendance, rating records, inspections: inspectors and leaders;
- ``cancel``: the school's administrators and principal.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404

from aftercare.models import Classroom, School, Student
from aftercare.permissions import access_for
from aftercare.roles import SCHOOL_LEADERS, Role
from catalogue.models import Offering

from .models import AbsenceCase, ActivityPhoto, EthicsBreach, HandOver, Inspection, LeaveRequest, Session

OUTSIDER_ROLES = frozenset({Role.PARENT, Role.PARENT_COMMITTEE, Role.DISTRICT_OFFICER})
INSPECTING_ROLES = frozenset({Role.INSPECTOR}) | SCHOOL_LEADERS
CANCELLING_ROLES = SCHOOL_LEADERS
TEACHING_ROLES = frozenset({Role.SERVICE_TEACHER, Role.PROVIDER_STAFF, Role.HOMEROOM_TEACHER})
ACTIONS = ("view", "teach", "inspect", "cancel")


def taught_by(user) -> Q:
    """Offerings ``user`` teaches: as one of its teachers, or as the provider's staff member on it."""
    return Q(teachers=user) | Q(provider_staff__user=user)


def sees_whole_school(user, school_id: int) -> bool:
    """Inspectors and the school's leaders follow every child's day (leave, absences); a teacher
    only their class's and their offerings' children."""
    return bool(access_for(user).roles_at(school_id) & INSPECTING_ROLES)


def session_teacher_ids(session: Session) -> set[int]:
    """The users who teach the session: the offering's teachers and its provider staff with an account."""
    offering = session.offering
    school_teachers = offering.teachers.values_list("pk", flat=True).order_by()
    provider_teachers = (
        offering.provider_staff.exclude(user=None).values_list("user_id", flat=True).order_by()
    )
    return set(school_teachers.union(provider_teachers, all=True))


def _refusal(roles) -> Exception:
    return Http404() if roles <= OUTSIDER_ROLES else PermissionDenied()


def session_allows(user, session: Session, action: str, *, teacher_ids: set[int] | None = None) -> bool:
    """The rule itself, for pages that already hold the session (and perhaps its teachers)."""
    if action not in ACTIONS:
        raise ValueError(action)
    school_access = access_for(user).schools.get(session.school_id)
    if school_access is None:
        return False
    roles = school_access.roles
    if action == "cancel":
        return bool(roles & CANCELLING_ROLES)
    if action == "inspect":
        return bool(roles & INSPECTING_ROLES)
    if teacher_ids is None:
        teacher_ids = session_teacher_ids(session)
    is_teacher = user.pk in teacher_ids
    if action == "teach":
        return is_teacher or Role.ADMINISTRATOR in roles
    is_homeroom = session.offering.classroom_id in school_access.homeroom_classroom_ids
    return is_teacher or is_homeroom or bool(roles & INSPECTING_ROLES)


def get_session_for_user(user, pk: int, *, action: str = "view") -> Session:
    session = Session.objects.select_related("offering__classroom", "term", "school").filter(pk=pk).first()
    if session is None:
        raise Http404
    roles = access_for(user).roles_at(session.school_id)
    if not roles:
        raise Http404
    if session_allows(user, session, action):
        return session
    raise _refusal(roles)


def get_case_for_user(user, pk: int, *, for_write: bool = False) -> AbsenceCase:
    """A follow-up case: the school's leaders and inspectors, the child's homeroom teacher and the
    session's teachers see it and may record what happened; the child's guardians may view it."""
    case = (
        AbsenceCase.objects.select_related(
            "session__offering__classroom", "student__classroom__homeroom_teacher", "school"
        )
        .filter(pk=pk)
        .first()
    )
    if case is None:
        raise Http404
    school_access = access_for(user).schools.get(case.school_id)
    if school_access is None:
        raise Http404
    roles = school_access.roles
    if roles & INSPECTING_ROLES or case.student.classroom_id in school_access.homeroom_classroom_ids:
        return case
    if user.pk in session_teacher_ids(case.session):
        return case
    if not for_write and case.student_id in school_access.child_ids:
        return case
    if case.student_id in school_access.child_ids:
        raise PermissionDenied  # a guardian reads the case; the school records what happened
    raise _refusal(roles)


def get_own_child(user, student_pk: int) -> Student:
    """A child of the user's family (for leave and pick-up people); any other child is 404."""
    if student_pk not in access_for(user).child_ids:
        raise Http404
    return Student.objects.select_related("classroom", "school").get(pk=student_pk)


def get_leave_for_user(user, pk: int) -> LeaveRequest:
    """A leave of one of the user's children (to withdraw it); anyone else's, or none, is 404."""
    leave = LeaveRequest.objects.select_related("student").filter(pk=pk).first()
    if leave is None:
        raise Http404
    get_own_child(user, leave.student_id)
    return leave


def get_hand_over_for_user(user, pk: int) -> HandOver:
    """A hand-over, to undo a mistake: whoever may teach its session."""
    hand_over = HandOver.objects.select_related("student").filter(pk=pk).first()
    if hand_over is None:
        raise Http404
    hand_over.session = get_session_for_user(user, hand_over.session_id, action="teach")
    return hand_over


# Photos and ethics breaches ---------------------------------------------------------------------

ETHICS_ROLES = SCHOOL_LEADERS


def get_activity_photo_for_user(user, pk: int, *, action: str = "view") -> ActivityPhoto:
    """A record's photo: whoever may ``action`` the session may see (or, with "teach", remove) it."""
    photo = ActivityPhoto.objects.filter(pk=pk).select_related("record").first()
    if photo is None:
        raise Http404
    photo.record.session = get_session_for_user(user, photo.record.session_id, action=action)
    return photo


def get_inspection_photo_for_user(user, pk: int) -> Inspection:
    """An inspection's photo: those who may view the session (its teachers, inspectors, leaders)."""
    inspection = Inspection.objects.filter(pk=pk).exclude(photo="").first()
    if inspection is None:
        raise Http404
    inspection.session = get_session_for_user(user, inspection.session_id, action="view")
    return inspection


def get_ethics_breach_for_user(user, pk: int) -> EthicsBreach:
    """Ethics breaches are for the school's principal and administrators only."""
    breach = EthicsBreach.objects.filter(pk=pk).select_related("school", "teacher").first()
    if breach is None:
        raise Http404
    school_access = access_for(user).schools.get(breach.school_id)
    if school_access is None:
        raise Http404
    if school_access.roles & ETHICS_ROLES:
        return breach
    if school_access.roles <= OUTSIDER_ROLES:
        raise Http404
    raise PermissionDenied


# Who may export what ----------------------------------------------------------------------------
# Both the page and the job ask these.

SCOPE_CLASS = "class"
SCOPE_OFFERING = "offering"
SCOPE_SCHOOL = "school"


@dataclass(frozen=True)
class ChildrenExportScope:
    kind: str
    classroom: Classroom | None = None
    offering: Offering | None = None


def teaches_offering(user, offering: Offering) -> bool:
    return Offering.objects.filter(taught_by(user), pk=offering.pk).exists()


@dataclass(frozen=True)
class ChildrenExportRights:
    """What one person may export of a school's children's attendance."""

    any_classroom: bool
    classroom_ids: frozenset[int]  # when not any classroom: the homeroom teacher's classes
    any_offering: bool  # else only the offerings they teach
    whole_school: bool

    def allows_classroom(self, classroom_id: int) -> bool:
        return self.any_classroom or classroom_id in self.classroom_ids


def children_export_rights(user, *, school_id: int) -> ChildrenExportRights:
    """The school's principal and administrators export any scope; an inspector the whole school; a
    homeroom teacher their class; a teacher the offerings they teach."""
    school_access = access_for(user).schools.get(school_id)
    roles = school_access.roles if school_access else frozenset()
    leader = bool(roles & SCHOOL_LEADERS)
    return ChildrenExportRights(
        any_classroom=leader,
        classroom_ids=school_access.homeroom_classroom_ids if school_access else frozenset(),
        any_offering=leader,
        whole_school=leader or Role.INSPECTOR in roles,
    )


def may_export_children(user, *, school: School, scope: ChildrenExportScope) -> bool:
    if not access_for(user).roles_at(school.pk):
        return False
    rights = children_export_rights(user, school_id=school.pk)
    if scope.kind == SCOPE_SCHOOL:
        return rights.whole_school
    if scope.kind == SCOPE_CLASS:
        return scope.classroom is not None and rights.allows_classroom(scope.classroom.pk)
    if scope.kind == SCOPE_OFFERING:
        return scope.offering is not None and (rights.any_offering or teaches_offering(user, scope.offering))
    return False


TEACHER_EXPORT_ROLES = frozenset({Role.PRINCIPAL, Role.ADMINISTRATOR, Role.INSPECTOR})


def may_export_teachers(user, *, school: School) -> bool:
    return bool(access_for(user).roles_at(school.pk) & TEACHER_EXPORT_ROLES)
