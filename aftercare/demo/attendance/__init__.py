"""Demo history of the daily operations: the school's families enrolled for the term, and every
service day so far run as a school would run it (roll-call, leave, absence follow-ups, hand-over,
activity records and their ratings, teachers' attendance, inspections), so that each page and the
term's payout have real records to show.

Everything here is the system's seeding, not a person's action: rows are written with
``bulk_create`` in batches and without history rows (django-simple-history records what people
change later). The randomness is seeded, so two runs build the same school.

Today is never marked: if today is a service day its sessions are prepared and left for the
``teacher`` login to take roll, with a leave and an early pick-up waiting on the class 3-1 sheet.
"""

from __future__ import annotations

import random
from datetime import date

from django.contrib.auth import get_user_model
from django.utils import timezone

from attendance.sessions import sessions_prepare
from catalogue.selectors import term_calendar

from .base import HistorySummary, People
from .families import enroll_families
from .history import History, leave_for_the_teachers_class
from .texts import CANCEL_REASON

__all__ = ["CANCEL_REASON", "HistorySummary", "build_attendance_history", "history_dates"]

# By default the history covers every service day before today, at most this many.
HISTORY_DAYS_CAP = 90


def history_dates(service_days: list[date], today: date, count: int | None = None) -> list[date]:
    """The service days the history covers. By default every one before today, at most
    ``HISTORY_DAYS_CAP`` (the latest). An explicit ``count`` larger than the days so far goes on
    past today inside the term (for benchmarks that need a full term); today itself is never in it."""
    before = [day for day in service_days if day < today]
    if count is None:
        return before[-HISTORY_DAYS_CAP:]
    if count <= len(before):
        return before[len(before) - count :] if count else []
    after = [day for day in service_days if day > today]
    return before + after[: count - len(before)]


def build_attendance_history(*, school, seed: int, history_days: int | None = None) -> HistorySummary:
    """Enroll the school's families and run its service days so far (see the module's docstring).
    ``history_days=0`` leaves the school as the enrollment demo made it, with today prepared."""
    rng = random.Random(f"{seed}-attendance")
    today = timezone.localdate()
    term = school.terms.get()
    user_model = get_user_model()
    users = user_model.objects.in_bulk(
        ["schooladmin", "principal", "inspector", "teacher"], field_name="username"
    )
    people = People(users["schooladmin"], users["principal"], users["inspector"], users["teacher"])
    summary = HistorySummary()
    calendar = term_calendar(term)
    if history_days != 0:
        summary.families, summary.enrollments = enroll_families(rng, school, term, calendar, people)
        summary.days = history_dates(calendar.service_days, today, history_days)
        if summary.days:
            History(rng, school, term, people, summary).run()
    if calendar.is_service_day(today):
        sessions_prepare(school=school, day=today)
    upcoming = [day for day in calendar.service_days if day >= today and day not in summary.days]
    if upcoming:
        leave_for_the_teachers_class(school, upcoming[0])
    return summary
