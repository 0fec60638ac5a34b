"""Roll-call (点名) on a large school with 90 service days of history: the page and the save, their
queries and time, for sessions of different sizes (the counts must not grow with the class).

The database is ``seed_demo --size large --history-days 90`` (3,000 students, 150 staff), built once
and reused by bench.attendance_export and bench.payout. The history runs past the real today when
fewer than 90 service days have gone by (see bench/README.md); the benchmarks then take "today" to
be the service day after the 90th, so the roll-call is taken on a fresh day at the end of a long
history, as a teacher would at 16:10.
"""

import functools
import os
import statistics
import tempfile
import time
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from unittest import mock

from bench.common import setup_django

DATABASE = Path(tempfile.gettempdir()) / "aftercare-bench-attendance.sqlite3"
HISTORY_DAYS = 90
REPEAT = 30


def attendance_database() -> None:
    """Django ready on the attendance benchmarks' database, seeded if it is new. Celery tasks are
    queued (in memory) rather than run inside the request, as with a real broker and worker."""
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "false")
    fresh = not DATABASE.exists()
    setup_django(f"sqlite:///{DATABASE}")
    from django.core.management import call_command

    from aftercare.models import School

    if fresh or not School.objects.filter(code="demo-1").exists():
        started = time.perf_counter()
        call_command("seed_demo", size="large", force=True, history_days=HISTORY_DAYS, verbosity=0)
        print(
            f"seeded the large school with {HISTORY_DAYS} service days in {time.perf_counter() - started:.0f} s"
        )


def history_days(school) -> list[date]:
    """The seeded service days: those with teachers' attendance (the benchmarks never write any)."""
    from attendance.models import Session

    return sorted(
        Session.objects.filter(school=school, teacher_attendance__isnull=False)
        .order_by("date")
        .values_list("date", flat=True)
        .distinct()
    )


def freeze_today(school) -> date:
    """Make the service day after the history's last day "today" for the rest of the process."""
    from catalogue.selectors import term_calendar

    last = history_days(school)[-1]
    term = school.terms.get()
    today = next(day for day in term_calendar(term).service_days if day > last)
    mock.patch("django.utils.timezone.localdate", return_value=today).start()
    return today


class FormFields(HTMLParser):
    """The fields a browser would post from the roll-call form: hidden inputs, the checked radio of
    each child, and the text inputs (notes)."""

    def __init__(self) -> None:
        super().__init__()
        self.in_form = False
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form" and "data-rollcall" in attributes:
            self.in_form = True
        if tag != "input" or not self.in_form or "name" not in attributes:
            return
        kind = attributes.get("type", "text")
        if kind in ("hidden", "text") or (kind == "radio" and "checked" in attributes):
            self.fields[attributes["name"]] = attributes.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False


def form_fields(html: str) -> dict[str, str]:
    parser = FormFields()
    parser.feed(html)
    return parser.fields


def counted(function):
    """Run ``function`` once; return its result and the SQL it ran."""
    from django.db import connection

    queries = []
    with connection.execute_wrapper(lambda execute, sql, *args: queries.append(sql) or execute(sql, *args)):
        result = function()
    return result, queries


def reset_roll(session) -> None:
    """Forget a session's roll-call (marks, cases), as if nobody had taken it yet."""
    from attendance.models import AbsenceCase, ChildAttendance, Session

    AbsenceCase.objects.filter(session=session).delete()
    ChildAttendance.objects.filter(session=session).delete()
    Session.objects.filter(pk=session.pk).update(roll_version=0, roll_taken_at=None, roll_taken_by=None)


def timed_requests(send, repeat: int, prepare=None) -> tuple[list[float], list[str]]:
    """Milliseconds of ``repeat`` requests and the SQL of the last. ``prepare(n)`` runs untimed before
    each and its result is what ``send`` gets (by default the round's number)."""
    samples, queries = [], []
    for round_number in range(repeat):
        argument = prepare(round_number) if prepare is not None else round_number
        started = time.perf_counter()
        response, queries = counted(functools.partial(send, argument))
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code in (200, 302), response.status_code
    return samples, queries


def bench_session(client, session, size: int) -> dict[str, tuple[list[float], list[str]]]:
    """The page, first saves (with and without an absence), re-saves and corrections of one session."""
    from django.urls import reverse

    from attendance.models import ChildAttendance, Mark, Session

    url = reverse("attendance:roll-call", args=[session.pk])
    reset_roll(session)
    client.get(url)
    figures = {"page": timed_requests(lambda _n: client.get(url), REPEAT)}

    fields = form_fields(client.get(url).content.decode())
    children = sorted(key for key in fields if key.startswith("mark-"))
    assert len(children) == size, (len(children), size)
    # All present, then two exceptions: one late, one on leave. And the same with an absence without
    # leave instead of the leave, which opens a follow-up case and alerts the family.
    posted = {
        **fields,
        **dict.fromkeys(children, Mark.PRESENT),
        children[0]: Mark.LATE,
        children[1]: Mark.LEAVE,
    }
    alerting = {**posted, children[1]: Mark.ABSENT}
    first_repeat = max(5, REPEAT // 3)
    figures["with alert"] = timed_requests(
        lambda _n: client.post(url, alerting), first_repeat, prepare=lambda _n: reset_roll(session)
    )
    figures["first save"] = timed_requests(
        lambda _n: client.post(url, posted), first_repeat, prepare=lambda _n: reset_roll(session)
    )
    assert ChildAttendance.objects.filter(session=session).count() == size

    version = Session.objects.get(pk=session.pk).roll_version
    figures["re-save"] = timed_requests(lambda _n: client.post(url, {**posted, "version": version}), REPEAT)

    def corrected(round_number: int) -> dict:
        # Two children change each time: one turns late, the other back to present.
        late, present = (children[2], children[3]) if round_number % 2 == 0 else (children[3], children[2])
        version = Session.objects.get(pk=session.pk).roll_version
        return {**posted, "version": version, late: Mark.LATE, present: Mark.PRESENT}

    figures["correction"] = timed_requests(lambda sheet: client.post(url, sheet), REPEAT, prepare=corrected)
    return figures


WHAT = {
    "page": "the sheet (GET)",
    "first save": "all present, one late, one on leave",
    "with alert": "all present, one late, one absent: a case and alerts",
    "re-save": "the same sheet again: nothing changes",
    "correction": "two children late <-> present",
}


def main() -> None:
    attendance_database()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from aftercare.models import School
    from attendance.models import ChildAttendance, Session
    from attendance.sessions import enrolled_on, sessions_prepare
    from enrollment.models import Enrollment

    school = School.objects.get(code="demo-1")
    today = freeze_today(school)
    sessions_prepare(school=school, day=today)
    days = history_days(school)
    print(
        f"school: 3,000 students; {len(days)} service days of history ({days[0]} to {days[-1]}), "
        f"{ChildAttendance.objects.count():,} marks; today = {today}"
    )

    todays = [
        s
        for s in Session.objects.filter(school=school, date=today)
        .select_related("offering")
        .prefetch_related("offering__teachers")
        if s.offering.teachers.all()
    ]
    sized = sorted(
        ((Enrollment.objects.filter(enrolled_on(s.offering_id, s.date)).count(), s) for s in todays),
        key=lambda pair: (pair[0], pair[1].pk),
    )
    # The smallest session a teacher of the school takes today, one of about twenty, the largest.
    chosen = [sized[0], min(sized, key=lambda pair: abs(pair[0] - 20)), sized[-1]]
    chosen = sorted({s.pk: (n, s) for n, s in chosen}.values(), key=lambda pair: pair[0])

    for size, session in chosen:
        teacher = get_user_model().objects.filter(taught_offerings=session.offering).order_by("pk").first()
        client = Client()
        client.force_login(teacher)
        figures = bench_session(client, session, size)
        print(f"{session.offering.name} ({size} children)")
        for name, (samples, queries) in figures.items():
            p95 = sorted(samples)[min(len(samples) - 1, int(len(samples) * 0.95))]
            print(
                f"  {name:11} median {statistics.median(samples):6.1f} ms  p95 {p95:6.1f} ms  "
                f"{len(queries):2d} queries   ({WHAT[name]})"
            )
            if os.environ.get("BENCH_SQL"):
                for sql in queries:
                    print("      ", sql[:150])


if __name__ == "__main__":
    main()
