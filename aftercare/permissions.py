"""The policy: may this user do this to this object. Views, exports and tasks ask here; nothing else decides.

A user's roles are loaded once per request in one query (``access_for``). Access functions return
the object or raise ``Http404`` for outsiders (exactly as for a missing row, so ids don't leak) and
``PermissionDenied`` for insiders whose role does not allow the action.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import CharField, IntegerField, Value
from django.http import Http404, HttpRequest

from .models import (
    Classroom,
    CommitteeMember,
    DistrictOfficer,
    Guardian,
    Job,
    School,
    Staff,
    StaffRole,
    Student,
)
from .roles import NON_STAFF_ROLES, SCHOOL_LEADERS, TWO_FACTOR_ROLES, Role

ACTIVE_SCHOOL_SESSION_KEY = "aftercare_school_id"


@dataclass(frozen=True)
class SchoolAccess:
    """What one user is at one school."""

    school_id: int
    roles: frozenset[Role]
    homeroom_classroom_ids: frozenset[int] = frozenset()
    committee_classroom_ids: frozenset[int] = frozenset()
    child_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class UserAccess:
    schools: dict[int, SchoolAccess] = field(default_factory=dict)
    district_ids: frozenset[int] = frozenset()

    def roles_at(self, school_id: int | None) -> frozenset[Role]:
        if school_id is None or school_id not in self.schools:
            return frozenset()
        return self.schools[school_id].roles

    @property
    def all_roles(self) -> frozenset[Role]:
        roles: set[Role] = set()
        for school_access in self.schools.values():
            roles |= school_access.roles
        return frozenset(roles)

    @property
    def is_staff_like(self) -> bool:
        """Anyone with a role beyond parent or committee: their session follows the staff lifetime."""
        return bool(self.all_roles - NON_STAFF_ROLES)

    @property
    def needs_two_factor(self) -> bool:
        return bool(self.all_roles & TWO_FACTOR_ROLES)

    @property
    def child_ids(self) -> frozenset[int]:
        ids: set[int] = set()
        for school_access in self.schools.values():
            ids |= school_access.child_ids
        return frozenset(ids)


EMPTY_ACCESS = UserAccess()


def load_access(user) -> UserAccess:
    """One query: the union of every table that gives a role."""
    if not user.is_authenticated:
        return EMPTY_ACCESS

    def rows(queryset, school_path, role, object_path):
        return (
            queryset.annotate(
                r_school=school_path,
                r_role=Value(role, output_field=CharField()) if isinstance(role, str) else role,
                r_object=object_path,
            )
            .order_by()
            .values_list("r_school", "r_role", "r_object")
        )

    from django.db.models import F

    null_int = Value(None, output_field=IntegerField())
    staff_rows = rows(
        StaffRole.objects.filter(staff__user=user, staff__is_active=True),
        F("staff__school_id"),
        F("role"),
        null_int,
    )
    homeroom_rows = rows(
        Classroom.objects.filter(homeroom_teacher=user), F("school_id"), Role.HOMEROOM_TEACHER.value, F("id")
    )
    guardian_rows = rows(
        Guardian.objects.filter(user=user, student__is_active=True),
        F("student__school_id"),
        Role.PARENT.value,
        F("student_id"),
    )
    committee_rows = rows(
        CommitteeMember.objects.filter(user=user),
        F("classroom__school_id"),
        Role.PARENT_COMMITTEE.value,
        F("classroom_id"),
    )
    district_rows = rows(
        DistrictOfficer.objects.filter(user=user), null_int, Role.DISTRICT_OFFICER.value, F("district_id")
    )
    union = staff_rows.union(homeroom_rows, guardian_rows, committee_rows, district_rows, all=True)

    roles: dict[int, set[Role]] = defaultdict(set)
    homeroom: dict[int, set[int]] = defaultdict(set)
    committee: dict[int, set[int]] = defaultdict(set)
    children: dict[int, set[int]] = defaultdict(set)
    district_ids: set[int] = set()
    for school_id, role, object_id in union:
        role = Role(role)
        if role == Role.DISTRICT_OFFICER:
            district_ids.add(object_id)
            continue
        roles[school_id].add(role)
        if role == Role.HOMEROOM_TEACHER:
            homeroom[school_id].add(object_id)
        elif role == Role.PARENT_COMMITTEE:
            committee[school_id].add(object_id)
        elif role == Role.PARENT:
            children[school_id].add(object_id)
    if district_ids:
        for school_id in School.objects.filter(district_id__in=district_ids).values_list("id", flat=True):
            roles[school_id].add(Role.DISTRICT_OFFICER)
    return UserAccess(
        schools={
            school_id: SchoolAccess(
                school_id=school_id,
                roles=frozenset(school_roles),
                homeroom_classroom_ids=frozenset(homeroom[school_id]),
                committee_classroom_ids=frozenset(committee[school_id]),
                child_ids=frozenset(children[school_id]),
            )
            for school_id, school_roles in roles.items()
        },
        district_ids=frozenset(district_ids),
    )


def access_for(user) -> UserAccess:
    """The user's access, loaded once per request (cached on the user object)."""
    cached = getattr(user, "_aftercare_access", None)
    if cached is None:
        cached = load_access(user)
        if user.is_authenticated:
            user._aftercare_access = cached
    return cached


def forget_access(user) -> None:
    if hasattr(user, "_aftercare_access"):
        del user._aftercare_access


# Which school a page acts on -------------------------------------------------------------------

ROLE_PRIORITY = [
    Role.PRINCIPAL,
    Role.ADMINISTRATOR,
    Role.FINANCE,
    Role.INSPECTOR,
    Role.HOMEROOM_TEACHER,
    Role.SERVICE_TEACHER,
    Role.PROVIDER_STAFF,
    Role.PARENT_COMMITTEE,
    Role.PARENT,
    Role.DISTRICT_OFFICER,
]


def active_school_id(request: HttpRequest) -> int | None:
    access = access_for(request.user)
    chosen = request.session.get(ACTIVE_SCHOOL_SESSION_KEY)
    if chosen in access.schools and access.schools[chosen].roles - {Role.DISTRICT_OFFICER}:
        return chosen
    own_schools = [sid for sid, sa in access.schools.items() if sa.roles - {Role.DISTRICT_OFFICER}]
    if own_schools:
        return min(own_schools)
    return None


def require_school_role(request: HttpRequest, *roles: Role) -> School:
    """The school the request acts on, if the user holds one of ``roles`` there; else 403."""
    school_id = active_school_id(request)
    if school_id is None or not (access_for(request.user).roles_at(school_id) & set(roles)):
        raise PermissionDenied
    return School.objects.select_related("district").get(pk=school_id)


def require_district_role(request: HttpRequest) -> frozenset[int]:
    district_ids = access_for(request.user).district_ids
    if not district_ids:
        raise PermissionDenied
    return district_ids


def _roles_or_404(user, school_id: int) -> frozenset[Role]:
    roles = access_for(user).roles_at(school_id)
    if not roles:
        raise Http404
    return roles


# Object access ---------------------------------------------------------------------------------


def may_manage_classroom(user, classroom: Classroom) -> bool:
    """The school's administrators and the class's homeroom teacher manage its roster and codes."""
    school_access = access_for(user).schools.get(classroom.school_id)
    if school_access is None:
        return False
    return Role.ADMINISTRATOR in school_access.roles or classroom.pk in school_access.homeroom_classroom_ids


def get_classroom_for_user(user, pk: int, *, for_write: bool = False) -> Classroom:
    classroom = Classroom.objects.select_related("school", "homeroom_teacher").filter(pk=pk).first()
    if classroom is None:
        raise Http404
    roles = _roles_or_404(user, classroom.school_id)
    if may_manage_classroom(user, classroom):
        return classroom
    if not for_write and roles & SCHOOL_LEADERS:
        return classroom
    if roles <= {Role.PARENT, Role.PARENT_COMMITTEE, Role.DISTRICT_OFFICER}:
        raise Http404
    raise PermissionDenied


def get_student_for_user(user, pk: int, *, for_write: bool = False) -> Student:
    """Guardians see their own children; the class's homeroom teacher and school leaders see all."""
    student = Student.objects.select_related("school", "classroom__homeroom_teacher").filter(pk=pk).first()
    if student is None:
        raise Http404
    roles = _roles_or_404(user, student.school_id)
    if may_manage_classroom(user, student.classroom):
        return student
    if not for_write and (roles & SCHOOL_LEADERS or student.pk in access_for(user).child_ids):
        return student
    # A parent of the same school is an outsider to another family's child: 404, not 403.
    if roles <= {Role.PARENT, Role.PARENT_COMMITTEE, Role.DISTRICT_OFFICER}:
        raise Http404
    raise PermissionDenied


def get_staff_for_user(user, pk: int, *, for_write: bool = False) -> Staff:
    staff = Staff.objects.select_related("school", "user").filter(pk=pk).first()
    if staff is None:
        raise Http404
    roles = _roles_or_404(user, staff.school_id)
    if Role.ADMINISTRATOR in roles or (not for_write and Role.PRINCIPAL in roles):
        return staff
    if roles <= {Role.PARENT, Role.PARENT_COMMITTEE, Role.DISTRICT_OFFICER}:
        raise Http404
    raise PermissionDenied


def get_job_for_user(user, pk) -> Job:
    """A job is visible to the person who started it, and to nobody else."""
    job = Job.objects.filter(pk=pk, created_by=user).first()
    if job is None:
        raise Http404
    return job


# Personal data ---------------------------------------------------------------------------------


def may_see_full_phone(user, student: Student) -> bool:
    """Guardians' numbers are shown in full only to the child's homeroom teacher and the school's
    administrators (and to a guardian for their own child's family)."""
    access = access_for(user)
    school_access = access.schools.get(student.school_id)
    if school_access is None:
        return False
    return (
        Role.ADMINISTRATOR in school_access.roles
        or student.classroom_id in school_access.homeroom_classroom_ids
        or student.pk in school_access.child_ids
    )


def mask_phone(phone: str) -> str:
    if len(phone) != 11:
        return "*" * len(phone)
    return f"{phone[:3]}****{phone[-4:]}"


def shown_phone(user, student: Student, phone: str) -> str:
    return phone if may_see_full_phone(user, student) else mask_phone(phone)


def may_use_admin(user) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or Role.ADMINISTRATOR in access_for(user).all_roles


def admin_school_ids(user) -> frozenset[int]:
    access = access_for(user)
    return frozenset(sid for sid, sa in access.schools.items() if Role.ADMINISTRATOR in sa.roles)
