"""Main pages of each role on a large school (3,000 students, 150 staff): time and queries."""

import tempfile
from pathlib import Path

from bench.common import setup_django, summary, timed

DATABASE = Path(tempfile.gettempdir()) / "aftercare-bench-pages.sqlite3"


def main() -> None:
    fresh = not DATABASE.exists()
    setup_django(f"sqlite:///{DATABASE}")
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from aftercare.models import Classroom, School, Student, Term

    if fresh or not School.objects.filter(code="demo-1").exists():
        call_command("seed_demo", size="large", force=True)
    school = School.objects.get(code="demo-1")
    term = Term.objects.get(school=school)
    classroom = Classroom.objects.get(school=school, grade=3, number=1)
    student = Student.objects.filter(classroom=classroom).first()
    print(f"school: {Student.objects.filter(school=school).count()} students")

    pages = [
        ("principal", reverse("home")),
        ("schooladmin", reverse("core:classroom-list")),
        ("teacher", reverse("core:classroom-detail", args=[classroom.pk])),
        ("teacher", reverse("core:student-detail", args=[student.pk])),
        ("schooladmin", reverse("core:staff-list")),
        ("parent", reverse("catalogue:term-offer", args=[term.pk])),
        ("district", reverse("core:district-school-list")),
    ]
    clients = {}
    for username, path in pages:
        if username not in clients:
            client = Client()
            client.post(reverse("account_login"), {"login": username, "password": "demo12345"})
            clients[username] = client
        client = clients[username]
        client.get(path)
        queries = []
        with connection.execute_wrapper(
            lambda execute, sql, *args, seen=queries: seen.append(sql) or execute(sql, *args)
        ):
            response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        samples = timed(lambda c=client, p=path: c.get(p), repeat=30)
        print(f"{username:12} {path:32} {summary(samples)}   {len(queries):3d} queries")


if __name__ == "__main__":
    main()
