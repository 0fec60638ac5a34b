import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from aftercare.models import Classroom, School, Staff, Student
from aftercare.permissions import load_access
from aftercare.roles import Role

DEMO_LOGINS = {
    "district": {Role.DISTRICT_OFFICER},
    "principal": {Role.PRINCIPAL},
    "schooladmin": {Role.ADMINISTRATOR},
    "finance": {Role.FINANCE},
    "inspector": {Role.INSPECTOR},
    "teacher": {Role.HOMEROOM_TEACHER, Role.SERVICE_TEACHER},
    "provider": {Role.PROVIDER_STAFF},
    "parent": {Role.PARENT},
    "committee": {Role.PARENT, Role.PARENT_COMMITTEE},
    "otherparent": {Role.PARENT},
}


def test_seed_demo_refuses_with_debug_off(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        call_command("seed_demo")
    assert not School.objects.exists()


def test_seed_demo_builds_the_demo_district_once(db):
    call_command("seed_demo", force=True)
    call_command("seed_demo", force=True)  # idempotent
    school = School.objects.get(code="demo-1")
    assert School.objects.count() == 2
    assert Classroom.objects.filter(school=school).count() == 24
    per_class = [c.students.count() for c in Classroom.objects.filter(school=school)]
    assert min(per_class) >= 40 and max(per_class) <= 50
    assert Staff.objects.filter(school=school).count() == 60
    assert school.terms.count() == 1

    users = get_user_model().objects.in_bulk(DEMO_LOGINS, field_name="username")
    for username, roles in DEMO_LOGINS.items():
        user = users[username]
        assert user.check_password("demo12345"), username
        assert load_access(user).all_roles == roles, username
    teacher_class = Classroom.objects.get(homeroom_teacher=users["teacher"])
    assert teacher_class.short_name == "3-1"
    grades = sorted(
        Student.objects.filter(guardians__user=users["parent"]).values_list("classroom__grade", flat=True)
    )
    assert grades == [2, 5]
    other = Student.objects.get(guardians__user=users["otherparent"])
    assert other.school.code == "demo-2"


def test_seed_demo_if_empty_leaves_a_used_database_alone(db):
    School.objects.create(district_id=None or _district(), name="已有学校", code="existing")
    call_command("seed_demo", force=True, if_empty=True)
    assert not School.objects.filter(code="demo-1").exists()


def _district():
    from aftercare.models import District

    return District.objects.create(name="某区", code="some").pk
