"""Build the demo district: two schools, a current term, staff, students, guardians and demo logins."""

import random
from datetime import date

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from aftercare.demo.names import person_name
from aftercare.models import (
    Classroom,
    CommitteeMember,
    CommitteePosition,
    District,
    DistrictOfficer,
    Gender,
    Guardian,
    InvitationCode,
    Relation,
    School,
    Staff,
    StaffRole,
    Student,
    Term,
)
from aftercare.roles import Role

DEMO_PASSWORD = "demo12345"  # noqa: S105  (the documented demo password)

TEACHERS_CLASS_SIZE = 51
SIZES = {
    # classes per grade, (min, max) students per class, staff
    "normal": (4, (40, 50), 60),
    "large": (10, (50, 50), 150),
}


def current_term_dates(today: date) -> tuple[str, date, date, date | None, date | None]:
    """The school term that contains ``today`` (autumn: September to January; spring: February to July)."""
    if today.month >= 8 or today.month == 1:
        year = today.year if today.month >= 8 else today.year - 1
        return (
            f"{year}-{year + 1}学年第一学期",
            date(year, 9, 1),
            date(year + 1, 1, 20),
            date(year, 11, 1),
            None,
        )
    return (
        f"{today.year - 1}-{today.year}学年第二学期",
        date(today.year, 2, 16),
        date(today.year, 7, 5),
        date(today.year, 2, 16),
        date(today.year, 4, 30),
    )


class Command(BaseCommand):
    help = "Create the demo district, schools and logins (password demo12345). Safe to run twice."

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=sorted(SIZES), default="normal")
        parser.add_argument("--force", action="store_true", help="run even with DEBUG off")
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing if the database has any school"
        )
        parser.add_argument("--seed", type=int, default=20260901)
        parser.add_argument(
            "--history-days",
            type=int,
            default=None,
            help="service days of daily-operations history (default: every day before today, at most 90; "
            "a larger number goes on past today inside the term, for benchmarks; 0: none)",
        )

    def handle(self, *args, size, force, if_empty, seed, history_days=None, **options):
        if history_days is not None and history_days < 0:
            raise CommandError("--history-days must be 0 or more.")
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo creates accounts with a known password; with DEBUG off pass --force."
            )
        if if_empty and School.objects.exists():
            self.stdout.write("The database already has schools; demo data not added.")
            return
        if School.objects.filter(code="demo-1").exists():
            self.stdout.write("Demo data already present; nothing to do.")
            return
        rng = random.Random(seed)
        with transaction.atomic():
            self._build(rng, size)
            from aftercare.demo.attendance import build_attendance_history
            from aftercare.demo.pay import build_pay_settings

            school = School.objects.get(code="demo-1")
            history = build_attendance_history(school=school, seed=seed, history_days=history_days)
            build_pay_settings(rng=random.Random(seed), school=school)
        self.stdout.write(f"Daily operations: {history}.")
        self.stdout.write(
            self.style.SUCCESS(f"Demo district created ({size}). Logins use password {DEMO_PASSWORD}.")
        )

    def _build(self, rng: random.Random, size: str) -> None:
        classes_per_grade, class_size, staff_count = SIZES[size]
        self.password_hash = make_password(DEMO_PASSWORD)
        self.user_model = get_user_model()
        self.phone_serial = 0

        district = District.objects.create(name="示范区教育局", code="demo")
        school = School.objects.create(
            district=district,
            name="示范区第一实验小学",
            code="demo-1",
            address="示范区学府路1号",
            phone="0755-12345678",
        )
        other_school = School.objects.create(
            district=district,
            name="示范区第二小学",
            code="demo-2",
            address="示范区育才路8号",
            phone="0755-87654321",
        )
        today = timezone.localdate()
        for each in (school, other_school):
            name, starts_on, ends_on, winter_starts_on, winter_ends_on = current_term_dates(today)
            Term.objects.create(
                school=each,
                name=name,
                starts_on=starts_on,
                ends_on=ends_on,
                winter_starts_on=winter_starts_on,
                winter_ends_on=winter_ends_on,
            )

        # Staff: the named demo logins first, then generated teachers.
        principal = self._staff(school, "principal", "李校长", "校长", [Role.PRINCIPAL])
        self._staff(school, "schooladmin", "周主任", "教导处主任", [Role.ADMINISTRATOR])
        self._staff(school, "finance", "钱会计", "财务", [Role.FINANCE])
        self._staff(school, "inspector", "孙老师", "值日领导", [Role.INSPECTOR])
        teacher = self._staff(school, "teacher", "王老师", "语文教师", [Role.SERVICE_TEACHER])
        self._staff(school, "provider", "赵教练", "校外机构教练", [Role.PROVIDER_STAFF])
        generated = [
            self._staff(school, f"t{n:03d}", person_name(rng), "教师", [Role.SERVICE_TEACHER])
            for n in range(1, staff_count - 6 + 1)
        ]
        del principal

        classrooms = []
        teachers = iter(generated)
        for grade in range(1, 7):
            for number in range(1, classes_per_grade + 1):
                homeroom = teacher if (grade, number) == (3, 1) else next(teachers)
                classrooms.append(
                    Classroom(school=school, grade=grade, number=number, homeroom_teacher=homeroom)
                )
        Classroom.objects.bulk_create(classrooms)
        students = self._students(rng, school, classrooms, class_size, prefix="S")

        # The second school: smaller, with its own principal and one parent login.
        other_principal = self._staff(other_school, "otherprincipal", "陈校长", "校长", [Role.PRINCIPAL])
        del other_principal
        other_classrooms = [Classroom(school=other_school, grade=g, number=1) for g in range(1, 7)]
        Classroom.objects.bulk_create(other_classrooms)
        other_students = self._students(rng, other_school, other_classrooms, (30, 30), prefix="T")

        self._guardians(rng, students + other_students)
        InvitationCode.objects.bulk_create([InvitationCode(student=s) for s in students + other_students])

        # Demo parents and committee.
        by_class = {}
        for student in students:
            by_class.setdefault(student.classroom.short_name, []).append(student)
        parent = self._user("parent", "刘女士")
        self._link(parent, by_class["2-1"][0], Relation.MOTHER)
        self._link(parent, by_class["5-2"][0], Relation.MOTHER)
        committee = self._user("committee", "陈先生")
        self._link(committee, by_class["3-1"][1], Relation.FATHER)
        CommitteeMember.objects.create(
            classroom=by_class["3-1"][1].classroom, user=committee, position=CommitteePosition.CHAIR
        )
        other_parent = self._user("otherparent", "黄女士")
        self._link(other_parent, other_students[0], Relation.MOTHER)

        officer = self._user("district", "教育局林科长")
        DistrictOfficer.objects.create(district=district, user=officer)

        from aftercare.demo.catalogue import build_catalogue

        build_catalogue(school=school, other_school=other_school, officer=officer, rng=rng)

        from aftercare.demo.enrollment import build_enrollment

        build_enrollment(school=school)

    def _next_phone(self) -> str:
        self.phone_serial += 1
        return f"139{self.phone_serial:08d}"

    def _user(self, username: str, full_name: str):
        return self.user_model.objects.create(
            username=username, full_name=full_name, phone=self._next_phone(), password=self.password_hash
        )

    def _staff(self, school, username, full_name, title, roles):
        user = self._user(username, full_name)
        staff = Staff.objects.create(school=school, user=user, title=title)
        StaffRole.objects.bulk_create([StaffRole(staff=staff, role=role) for role in roles])
        return user

    def _students(self, rng, school, classrooms, class_size, *, prefix: str) -> list[Student]:
        students = []
        serial = 0
        for classroom in classrooms:
            # The `teacher` login's class 3-1 is a full one: 45 children in basic care to take roll for.
            is_teachers_class = prefix == "S" and (classroom.grade, classroom.number) == (3, 1)
            for _ in range(TEACHERS_CLASS_SIZE if is_teachers_class else rng.randint(*class_size)):
                serial += 1
                students.append(
                    Student(
                        school=school,
                        classroom=classroom,
                        name=person_name(rng),
                        student_number=f"{prefix}{2026 - classroom.grade + 1}{serial:05d}",
                        gender=rng.choice(Gender.values),
                    )
                )
        return Student.objects.bulk_create(students, batch_size=1000)

    def _guardians(self, rng, students) -> None:
        guardians = []
        for student in students:
            surname = student.name[0]
            guardians.append(
                Guardian(
                    student=student,
                    name=surname + person_name(rng)[1:],
                    relation=Relation.FATHER,
                    phone=self._next_phone(),
                )
            )
            if rng.random() < 0.6:
                guardians.append(
                    Guardian(
                        student=student,
                        name=person_name(rng),
                        relation=Relation.MOTHER,
                        phone=self._next_phone(),
                    )
                )
        Guardian.objects.bulk_create(guardians, batch_size=1000)

    def _link(self, user, student, relation) -> None:
        Guardian.objects.create(
            student=student, user=user, name=user.full_name, relation=relation, phone=user.phone
        )
        InvitationCode.objects.filter(student=student).update(used_at=timezone.now(), used_by=user)
