"""Roster import at a large school's scale: time, peak memory and queries of the check and the import.

The workbook: 3,000 students in 72 classes (grades 1–6, 12 classes each), two guardians each, and
150 staff of whom 72 are homeroom teachers and 10 have an initial password. Three runs:

1. the check (``roster_import_validate``) and the import (``roster_import_apply``) into an empty school,
   timed, with queries counted;
2. the same workbook imported again (every row matched, nothing to change), timed;
3. run 1 again into a second school under tracemalloc, for the peak Python memory (tracemalloc
   slows Python down, so its times are not reported).

Runs the services directly, not through Celery: the job adds two small UPDATEs.
"""

import io
import os
import resource
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

from bench.common import setup_django

DATABASE = Path(tempfile.gettempdir()) / "bench-roster.sqlite3"
STUDENTS = 3_000
STAFF = 150
CLASSES_PER_GRADE = 12
WITH_PASSWORD = 10


def build_workbook(tag: str) -> bytes:
    """As Excel or WPS would save it (shared strings, a <dimension>), not as our exports write it."""
    from openpyxl import Workbook

    from aftercare.roster_import import CLASS_COLUMNS, STAFF_COLUMNS, STUDENT_COLUMNS

    workbook = Workbook()
    workbook.remove(workbook.active)
    students = workbook.create_sheet("学生")
    students.append(STUDENT_COLUMNS)
    classes = [(grade, number) for grade in range(1, 7) for number in range(1, CLASSES_PER_GRADE + 1)]
    for n in range(STUDENTS):
        grade, number = classes[n % len(classes)]
        student = [grade, number, f"{tag}{n:05d}", f"学生{n}", "男" if n % 2 else "女"]
        guardians = [f"家长{n}", "父亲", f"13{n:09d}", f"家长{n}乙", "母亲", f"15{n:09d}"]
        students.append(student + guardians)
    staff = workbook.create_sheet("教职工")
    staff.append(STAFF_COLUMNS)
    for n in range(STAFF):
        password = f"Bench-{tag}-{n}-pw" if n < WITH_PASSWORD else None
        roles = "课后服务教师、考勤检查员" if n % 5 else "课后服务教师"
        staff.append([f"{tag}t{n:03d}", f"教师{n}", None, "教师", roles, password])
    homerooms = workbook.create_sheet("班级")
    homerooms.append(CLASS_COLUMNS)
    for n, (grade, number) in enumerate(classes):
        homerooms.append([grade, number, f"{tag}t{n:03d}"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def new_school(tag: str):
    from aftercare.models import District, School, Staff, StaffRole, User
    from aftercare.roles import Role

    district, _ = District.objects.get_or_create(code="bench", defaults={"name": "基准测试区"})
    school = School.objects.create(district=district, name=f"基准小学{tag}", code=f"bench-{tag}")
    admin = User.objects.create(username=f"{tag}admin", full_name="管理员")
    staff = Staff.objects.create(school=school, user=admin)
    StaffRole.objects.create(staff=staff, role=Role.ADMINISTRATOR)
    return school, admin


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def check_and_import(school, admin, content: bytes) -> dict:
    """Validate then apply one upload; returns seconds, queries and the import's counts."""
    from django.core.files.base import ContentFile
    from django.db import connection

    from aftercare.models import RosterImport, RosterImportStatus
    from aftercare.roster_import import roster_import_apply, roster_import_validate

    roster_import = RosterImport(school=school, uploaded_by=admin, original_name="bench.xlsx")
    roster_import.file.save("bench.xlsx", ContentFile(content))
    figures = {}
    for step in ("check", "import"):
        counter = QueryCounter()
        started = time.perf_counter()
        with connection.execute_wrapper(counter):
            if step == "check":
                roster_import = roster_import_validate(roster_import=roster_import)
            else:
                roster_import = roster_import_apply(actor=admin, roster_import=roster_import)
        figures[step] = (time.perf_counter() - started, counter.count)
        if step == "check":
            assert roster_import.status == RosterImportStatus.VALID, roster_import.errors[:5]
            RosterImport.objects.filter(pk=roster_import.pk).update(status=RosterImportStatus.IMPORTING)
            roster_import.status = RosterImportStatus.IMPORTING
            # Memory of the check is measured on its own: tracemalloc's peak is reset between steps.
            if tracemalloc.is_tracing():
                figures["check_peak"] = tracemalloc.get_traced_memory()[1]
                tracemalloc.reset_peak()
    assert roster_import.status == RosterImportStatus.IMPORTED, roster_import.errors[:5]
    if tracemalloc.is_tracing():
        figures["import_peak"] = tracemalloc.get_traced_memory()[1]
    figures["counts"] = roster_import.summary
    return figures


def main() -> None:
    if "DATABASE_URL" not in os.environ:
        DATABASE.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-roster-media-") as media:
        os.environ["MEDIA_ROOT"] = media
        run()


def run() -> None:
    started = time.perf_counter()
    setup_django(f"sqlite:///{DATABASE}")
    print(f"database migrated in {time.perf_counter() - started:.1f} s")

    from django.contrib.auth.hashers import make_password
    from django.db import connection

    from aftercare.models import Classroom, Guardian, Staff, Student

    tag = uuid.uuid4().hex[:4]
    started = time.perf_counter()
    content = build_workbook(tag)
    print(
        f"workbook: {STUDENTS} students, {2 * STUDENTS} guardians, {STAFF} staff "
        f"({WITH_PASSWORD} with an initial password), {6 * CLASSES_PER_GRADE} classes; "
        f"{len(content) / 1024:.0f} KB, built in {time.perf_counter() - started:.1f} s"
    )
    started = time.perf_counter()
    make_password("Bench-one-password")
    hash_seconds = time.perf_counter() - started
    print(
        f"database: {connection.vendor}; one password hash takes {hash_seconds:.2f} s "
        f"(the first import hashes {WITH_PASSWORD}, before its transaction)"
    )

    school, admin = new_school(tag)
    first = check_and_import(school, admin, content)
    assert Student.objects.filter(school=school).count() == STUDENTS
    assert Guardian.objects.filter(student__school=school).count() == 2 * STUDENTS
    assert Staff.objects.filter(school=school).count() == STAFF + 1
    assert Classroom.objects.filter(school=school, homeroom_teacher__isnull=False).count() == 72
    for step in ("check", "import"):
        seconds, queries = first[step]
        print(f"first import   {step:6}  {seconds:6.2f} s  {queries:4d} queries")
    print(f"               counts  {first['counts']}")

    again = check_and_import(school, admin, content)
    for step in ("check", "import"):
        seconds, queries = again[step]
        print(f"same again     {step:6}  {seconds:6.2f} s  {queries:4d} queries")
    print(f"               counts  {again['counts']}")

    other_tag = uuid.uuid4().hex[:4]
    other_content = build_workbook(other_tag)
    other_school, other_admin = new_school(other_tag)
    tracemalloc.start()
    measured = check_and_import(other_school, other_admin, other_content)
    tracemalloc.stop()
    print(
        f"peak Python memory (tracemalloc): check {measured['check_peak'] / 2**20:.1f} MiB, "
        f"import {measured['import_peak'] / 2**20:.1f} MiB"
    )
    print(f"process max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
