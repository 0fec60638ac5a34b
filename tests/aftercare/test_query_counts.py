"""Pages run a constant number of queries whatever the number of rows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aftercare.models import Guardian, Student
from tests.factories import make_staff


def grow(world, students: int) -> None:
    """Add ``students`` children (with a guardian each) across the two classes, and staff."""
    start = Student.objects.count()
    rows = [
        Student(
            school=world.school,
            classroom=(world.classroom, world.other_classroom)[n % 2],
            name=f"学生{start + n}",
            student_number=f"G{start + n:06d}",
            gender="M",
        )
        for n in range(students)
    ]
    Student.objects.bulk_create(rows)
    Guardian.objects.bulk_create(
        [Guardian(student=s, name="家长", relation="mother", phone=f"135{s.pk:08d}") for s in rows]
    )
    for n in range(students // 100):
        make_staff(world.school, "service_teacher", username=f"extra{start}-{n}")


PAGES = [
    ("principal", lambda w: reverse("home"), 10),
    ("admin", lambda w: reverse("home"), 10),
    ("homeroom", lambda w: reverse("home"), 12),
    ("parent", lambda w: reverse("home"), 7),
    ("district", lambda w: reverse("home"), 6),
    ("admin", lambda w: reverse("core:classroom-list"), 5),
    ("homeroom", lambda w: reverse("core:classroom-detail", args=[w.classroom.pk]), 7),
    ("admin", lambda w: reverse("core:student-detail", args=[w.child.pk]), 6),
    ("admin", lambda w: reverse("core:staff-list"), 6),
    ("principal", lambda w: reverse("core:audit-log"), 14),
    ("district", lambda w: reverse("core:district-school-list"), 5),
]


@pytest.mark.parametrize(("persona", "url", "expected"), PAGES)
def test_query_count_is_constant(world, as_user, persona, url, expected):
    client = as_user(persona)
    path = url(world)
    client.get(path)  # the first request of a session writes it; measure the ones after
    counts = []
    # 10 children, then 1,000 more: the same number of queries.
    for students in (10, 1000):
        grow(world, students)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts == [expected, expected], [q["sql"][:120] for q in queries.captured_queries]
