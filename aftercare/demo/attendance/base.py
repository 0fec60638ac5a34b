"""What the parts of the demo history share: the batched writer, aware times, the people who act."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.utils import timezone

BATCH_SIZE = 2000


@dataclass
class HistorySummary:
    days: list[date] = field(default_factory=list)
    families: int = 0
    enrollments: int = 0
    sessions: int = 0
    marks: int = 0
    hand_overs: int = 0
    leave_requests: int = 0
    absence_cases: int = 0
    records: int = 0
    teacher_attendance: int = 0
    inspections: int = 0

    def __str__(self) -> str:
        if not self.days:
            return f"{self.families} families enrolled; no history"
        return (
            f"{self.families} families enrolled ({self.enrollments} places); {len(self.days)} service days "
            f"{self.days[0]}–{self.days[-1]}: {self.sessions} sessions, {self.marks} marks, "
            f"{self.hand_overs} hand-overs, {self.leave_requests} leave requests, "
            f"{self.absence_cases} absence cases, {self.records} activity records, "
            f"{self.teacher_attendance} teachers' attendance rows, {self.inspections} inspections"
        )


def at(day: date, moment: time, minutes: float = 0) -> datetime:
    start = datetime.combine(day, moment, tzinfo=timezone.get_current_timezone())
    return start + timedelta(minutes=minutes)


class Writer:
    """Buffers new rows per model and writes them in batches (the history runs to ~500,000 rows)."""

    def __init__(self) -> None:
        self.rows: dict[type, list] = defaultdict(list)
        self.counts: dict[type, int] = defaultdict(int)

    def add(self, row) -> None:
        model = type(row)
        self.rows[model].append(row)
        self.counts[model] += 1
        if len(self.rows[model]) >= BATCH_SIZE:
            self.flush(model)

    def flush(self, model=None) -> None:
        for each in [model] if model else list(self.rows):
            if self.rows[each]:
                each.objects.bulk_create(self.rows[each], batch_size=BATCH_SIZE)
                self.rows[each] = []


@dataclass
class People:
    admin: object
    principal: object
    inspector: object
    teacher: object
