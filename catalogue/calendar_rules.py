"""Calendar rules as plain functions over plain data: which days have service, which season a day
is in, and which time band applies to a grade (篇三 time bands, 篇七 weekly day off)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta

from django.utils.translation import gettext_lazy as _

MONDAY_TO_FRIDAY = (0, 1, 2, 3, 4)
WEEKDAY_NAMES = (_("周一"), _("周二"), _("周三"), _("周四"), _("周五"), _("周六"), _("周日"))


@dataclass(frozen=True)
class SlotRule:
    kind: str  # "morning", "noon", "after_school"
    season: str  # "any", "summer", "winter"
    grade_from: int
    grade_to: int
    starts_at: time
    ends_at: time


# The seeds' defaults (篇三): after school, summer 16:10–17:30 for grades 1–2 and 16:10–17:45 for
# grades 3–6; winter 16:10–17:15 and 16:10–17:30.
DEFAULT_SLOTS = (
    SlotRule("after_school", "summer", 1, 2, time(16, 10), time(17, 30)),
    SlotRule("after_school", "summer", 3, 6, time(16, 10), time(17, 45)),
    SlotRule("after_school", "winter", 1, 2, time(16, 10), time(17, 15)),
    SlotRule("after_school", "winter", 3, 6, time(16, 10), time(17, 30)),
)


def service_days(
    starts_on: date,
    ends_on: date,
    weekdays: Iterable[int],
    excluded: Iterable[date] = (),
    makeup: Iterable[date] = (),
) -> list[date]:
    """Days with service: the weekly pattern, minus excluded dates, plus make-up days, within the term."""
    pattern = set(weekdays)
    excluded_days = set(excluded)
    makeup_days = {day for day in makeup if starts_on <= day <= ends_on}
    days = []
    day = starts_on
    while day <= ends_on:
        if (day.weekday() in pattern or day in makeup_days) and day not in excluded_days:
            days.append(day)
        day += timedelta(days=1)
    return days


def is_winter(day: date, winter_starts_on: date | None, winter_ends_on: date | None) -> bool:
    if winter_starts_on is None or day < winter_starts_on:
        return False
    return winter_ends_on is None or day <= winter_ends_on


def slot_for(slots: Sequence[SlotRule], *, kind: str, grade: int, winter: bool) -> SlotRule | None:
    """The band for a grade on a day: a season-specific band wins over one for the whole year."""
    season = "winter" if winter else "summer"
    matching = [s for s in slots if s.kind == kind and s.grade_from <= grade <= s.grade_to]
    for wanted in (season, "any"):
        for slot in matching:
            if slot.season == wanted:
                return slot
    return None


def offering_days(days: Iterable[date], weekdays: Iterable[int], makeup: Iterable[date] = ()) -> list[date]:
    """The service days on which an offering that meets on ``weekdays`` runs.

    A make-up day (调休) follows the timetable of the weekday it stands in for; schools announce that
    day by day, so an offering runs on every make-up day unless the day is excluded for it.
    """
    pattern = set(weekdays)
    makeup_days = set(makeup)
    return [day for day in days if day.weekday() in pattern or day in makeup_days]


def date_runs(dates: dict[date, str]) -> list[tuple[date, date, str]]:
    """Consecutive days with the same reason, as (first, last, reason): a holiday week is one run."""
    runs: list[tuple[date, date, str]] = []
    for day, reason in sorted(dates.items()):
        if runs and runs[-1][1] + timedelta(days=1) == day and runs[-1][2] == reason:
            runs[-1] = (runs[-1][0], day, reason)
        else:
            runs.append((day, day, reason))
    return runs


def weekday_label(weekdays: Iterable[int]) -> str:
    return "、".join(str(WEEKDAY_NAMES[d]) for d in sorted(set(weekdays)))
