"""Role personas. Each says in a comment what it may see.

The world: one district with school A (classes 3-1 and 3-2) and school B (class 1-1).
"""

from dataclasses import dataclass

import pytest
from django.test import Client

from aftercare.roles import Role
from tests.factories import (
    PASSWORD,
    ClassroomFactory,
    DistrictFactory,
    GuardianFactory,
    InvitationCodeFactory,
    SchoolFactory,
    StudentFactory,
    TermFactory,
    UserFactory,
    make_committee,
    make_district_officer,
    make_parent,
    make_staff,
)


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    # PBKDF2 at full strength costs ~0.3 s a user; the tests create dozens.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def empty_cache():
    # Sign-in rate limits live in the cache; every test starts with none used.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@dataclass
class World:
    district: object
    school: object
    other_school: object
    classroom: object  # 3-1 at school A
    other_classroom: object  # 3-2 at school A
    far_classroom: object  # 1-1 at school B
    child: object  # in 3-1, the parent's child
    other_child: object  # in 3-2, another family's child
    far_child: object  # at school B
    users: dict


@pytest.fixture
def world(db) -> World:
    district = DistrictFactory(name="示范区")
    school = SchoolFactory(district=district, name="甲小学")
    other_school = SchoolFactory(district=district, name="乙小学")
    TermFactory(school=school, name="2026秋季学期")
    classroom = ClassroomFactory(school=school, grade=3, number=1)
    other_classroom = ClassroomFactory(school=school, grade=3, number=2)
    far_classroom = ClassroomFactory(school=other_school, grade=1, number=1)
    child = StudentFactory(classroom=classroom, name="张小明")
    other_child = StudentFactory(classroom=other_classroom, name="李小红")
    far_child = StudentFactory(classroom=far_classroom, name="赵小刚")
    GuardianFactory(student=child, name="张爸爸", relation="father", phone="13812341234")
    GuardianFactory(student=other_child, name="李妈妈", phone="13900001111")

    users = {
        # A parent of school A: sees their own child (3-1) only.
        "parent": make_parent(child, username="parent", full_name="张妈妈"),
        # Another family's parent at school A (child in 3-2): must never see the first family.
        "other_parent": make_parent(other_child, username="other_parent"),
        # A parent at school B: sees nothing of school A.
        "far_parent": make_parent(far_child, username="far_parent"),
        # Homeroom teacher of 3-1 at school A: sees and manages 3-1, full phone numbers of 3-1.
        "homeroom": make_staff(school, Role.SERVICE_TEACHER, username="homeroom"),
        # Homeroom teacher of 3-2 at school A: not 3-1.
        "other_homeroom": make_staff(school, Role.SERVICE_TEACHER, username="other_homeroom"),
        # A service teacher at school A without a class.
        "service_teacher": make_staff(school, Role.SERVICE_TEACHER, username="service_teacher"),
        # Provider staff at school A.
        "provider": make_staff(school, Role.PROVIDER_STAFF, username="provider"),
        # Inspector at school A.
        "inspector": make_staff(school, Role.INSPECTOR, username="inspector"),
        # Principal of school A: sees all of school A, masked phones.
        "principal": make_staff(school, Role.PRINCIPAL, username="principal"),
        # Administrator of school A: manages school A, full phones.
        "admin": make_staff(school, Role.ADMINISTRATOR, username="admin"),
        # Finance at school A.
        "finance": make_staff(school, Role.FINANCE, username="finance"),
        # Principal of school B: nothing of school A.
        "far_principal": make_staff(other_school, Role.PRINCIPAL, username="far_principal"),
        # District officer: the district's schools, read-only summaries.
        "district": make_district_officer(district, username="district"),
        # A signed-in user with no role at all.
        "nobody": UserFactory(username="nobody"),
    }
    classroom.homeroom_teacher = users["homeroom"]
    classroom.save()
    other_classroom.homeroom_teacher = users["other_homeroom"]
    other_classroom.save()
    # Parent committee chair of 3-1 (also a parent there).
    committee_child = StudentFactory(classroom=classroom, name="陈小华")
    users["committee"] = make_committee(classroom, make_parent(committee_child, username="committee"))
    InvitationCodeFactory(student=other_child, code="OTHER234")
    return World(
        district=district,
        school=school,
        other_school=other_school,
        classroom=classroom,
        other_classroom=other_classroom,
        far_classroom=far_classroom,
        child=child,
        other_child=other_child,
        far_child=far_child,
        users=users,
    )


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user, backend="aftercare.auth_backends.UsernameOrPhoneBackend")
    return client


@pytest.fixture
def as_user(world):
    """Returns a signed-in test client for a persona name."""

    def make(name: str) -> Client:
        return client_for(world.users[name])

    return make


@pytest.fixture
def password():
    return PASSWORD
