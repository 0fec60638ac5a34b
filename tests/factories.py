import factory
from django.contrib.auth import get_user_model

from aftercare.models import (
    Classroom,
    CommitteeMember,
    District,
    DistrictOfficer,
    Guardian,
    InvitationCode,
    School,
    Staff,
    StaffRole,
    Student,
    Term,
)

PASSWORD = "correct-horse-42"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"用户{n}")
    phone = factory.Sequence(lambda n: f"138{n:08d}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class DistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = District

    name = factory.Sequence(lambda n: f"第{n}区教育局")
    code = factory.Sequence(lambda n: f"d{n}")


class SchoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = School

    district = factory.SubFactory(DistrictFactory)
    name = factory.Sequence(lambda n: f"第{n}小学")
    code = factory.Sequence(lambda n: f"s{n}")


class TermFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Term

    school = factory.SubFactory(SchoolFactory)
    name = factory.Sequence(lambda n: f"学期{n}")
    starts_on = factory.LazyFunction(lambda: __import__("datetime").date(2026, 9, 1))
    ends_on = factory.LazyFunction(lambda: __import__("datetime").date(2027, 1, 20))


class ClassroomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Classroom

    school = factory.SubFactory(SchoolFactory)
    grade = 3
    number = factory.Sequence(lambda n: n + 1)


class StudentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Student

    classroom = factory.SubFactory(ClassroomFactory)
    school = factory.SelfAttribute("classroom.school")
    name = factory.Sequence(lambda n: f"学生{n}")
    student_number = factory.Sequence(lambda n: f"N{n:06d}")
    gender = "F"


class GuardianFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Guardian

    student = factory.SubFactory(StudentFactory)
    user = None
    name = factory.Sequence(lambda n: f"家长{n}")
    relation = "mother"
    phone = factory.Sequence(lambda n: f"137{n:08d}")


class InvitationCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InvitationCode

    student = factory.SubFactory(StudentFactory)


def make_staff(school, *roles, user=None, **user_fields) -> object:
    user = user or UserFactory(**user_fields)
    staff, _ = Staff.objects.get_or_create(school=school, user=user)
    for role in roles:
        StaffRole.objects.create(staff=staff, role=role)
    return user


def make_parent(student, user=None, **user_fields):
    user = user or UserFactory(**user_fields)
    GuardianFactory(student=student, user=user, name=user.full_name, phone=user.phone)
    return user


def make_committee(classroom, user, position="chair"):
    CommitteeMember.objects.create(classroom=classroom, user=user, position=position)
    return user


def make_district_officer(district, **user_fields):
    user = UserFactory(**user_fields)
    DistrictOfficer.objects.create(district=district, user=user)
    return user
