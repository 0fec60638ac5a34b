"""Reads of the catalogue. ``sessions_on`` is the one answer to "which sessions run on day D"."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal
from functools import cached_property

from django.db.models import Prefetch, Q

from aftercare.models import Classroom, School, Term

from . import calendar_rules
from .calendar_rules import SlotRule
from .models import (
    REQUIRED_DOMAINS,
    CalendarDate,
    CalendarDateKind,
    DistrictPolicy,
    FeeStandard,
    Offering,
    OfferingKind,
    OfferingStatus,
    ProviderStaffMember,
)


@dataclass
class TermCalendar:
    """A term's calendar loaded once (two queries) and expanded in memory."""

    term: Term
    slots: list[SlotRule]
    excluded: dict[date, str]
    makeup: dict[date, str]

    @cached_property
    def service_days(self) -> list[date]:
        return calendar_rules.service_days(
            self.term.starts_on, self.term.ends_on, self.term.service_weekdays, self.excluded, self.makeup
        )

    @cached_property
    def service_day_set(self) -> frozenset[date]:
        return frozenset(self.service_days)

    def is_service_day(self, day: date) -> bool:
        return day in self.service_day_set

    def is_winter(self, day: date) -> bool:
        return calendar_rules.is_winter(day, self.term.winter_starts_on, self.term.winter_ends_on)

    def slot(self, *, kind: str, grade: int, day: date) -> SlotRule | None:
        return calendar_rules.slot_for(self.slots, kind=kind, grade=grade, winter=self.is_winter(day))

    def offering_days(self, offering: Offering) -> list[date]:
        return calendar_rules.offering_days(self.service_days, offering.weekdays, self.makeup)

    def session_count(self, offering: Offering) -> int:
        return len(self.offering_days(offering))


def term_calendar(term: Term) -> TermCalendar:
    slots = [
        SlotRule(s.kind, s.season, s.grade_from, s.grade_to, s.starts_at, s.ends_at)
        for s in term.time_slots.all().order_by("kind", "season", "grade_from")
    ]
    excluded: dict[date, str] = {}
    makeup: dict[date, str] = {}
    for row in CalendarDate.objects.filter(term=term).order_by("date"):
        (excluded if row.kind == CalendarDateKind.EXCLUDED else makeup)[row.date] = row.reason
    return TermCalendar(term=term, slots=slots, excluded=excluded, makeup=makeup)


def term_on(school: School, day: date) -> Term | None:
    return Term.objects.filter(school=school, starts_on__lte=day, ends_on__gte=day).first()


@dataclass(frozen=True)
class PlannedSession:
    """One offering on one day, with its time band: what later becomes a roll-call session."""

    offering: Offering
    date: date
    starts_at: time | None
    ends_at: time | None

    @property
    def place(self) -> str:
        return self.offering.place


def offering_queryset():
    return Offering.objects.select_related("classroom", "provider", "term").prefetch_related(
        "teachers", Prefetch("provider_staff", queryset=ProviderStaffMember.objects.order_by("name"))
    )


def sessions_on(
    day: date, *, school: School, classroom: Classroom | None = None, teacher=None
) -> list[PlannedSession]:
    """Which published offerings run on ``day`` at ``school``; for one class (its basic care and the
    courses open to its grade) or for one teacher. A constant number of queries."""
    term = term_on(school, day)
    if term is None:
        return []
    calendar = term_calendar(term)
    if not calendar.is_service_day(day):
        return []
    offerings = offering_queryset().filter(term=term, status=OfferingStatus.PUBLISHED)
    if classroom is not None:
        offerings = offerings.filter(Q(classroom=classroom) | Q(kind=OfferingKind.COURSE))
    if teacher is not None:
        offerings = offerings.filter(Q(teachers=teacher) | Q(provider_staff__user=teacher)).distinct()
    sessions = []
    for offering in offerings:
        if classroom is not None and offering.is_course and classroom.grade not in offering.grades:
            continue
        if day not in calendar.makeup and day.weekday() not in offering.weekdays:
            continue
        grade = offering.classroom.grade if offering.classroom else min(offering.grades or [1])
        # A course across grade bands keeps the band of its youngest grade (the earliest end).
        slot = calendar.slot(kind=offering.slot_kind, grade=grade, day=day)
        sessions.append(
            PlannedSession(
                offering=offering,
                date=day,
                starts_at=slot.starts_at if slot else None,
                ends_at=slot.ends_at if slot else None,
            )
        )
    sessions.sort(key=lambda s: (s.starts_at or time.min, s.offering.kind, s.offering.name))
    return sessions


def district_policy(district) -> DistrictPolicy:
    """The district's caps; the defaults of 篇八 until the district edits them."""
    policy = DistrictPolicy.objects.filter(district=district).first()
    return policy or DistrictPolicy(district=district)


def fee_standard(term: Term) -> FeeStandard:
    return FeeStandard.objects.filter(term=term).first() or FeeStandard(term=term)


@dataclass
class Compliance:
    domains: dict[str, bool]
    low_satisfaction: list[Offering] = field(default_factory=list)
    threshold: Decimal = Decimal("60")

    @property
    def meets_domains(self) -> bool:
        return all(self.domains.values())


def previous_term(term: Term) -> Term | None:
    return (
        Term.objects.filter(school_id=term.school_id, ends_on__lt=term.starts_on).order_by("-ends_on").first()
    )


def compliance(term: Term, offerings: list[Offering], policy: DistrictPolicy) -> Compliance:
    """体、美、劳 each offered (篇八), and last term's courses whose satisfaction fell below the line."""
    published = {o.domain for o in offerings if o.is_course and o.status == OfferingStatus.PUBLISHED}
    result = Compliance(
        domains={str(domain.label): domain.value in published for domain in REQUIRED_DOMAINS},
        threshold=policy.low_satisfaction_percent,
    )
    before = previous_term(term)
    if before is not None:
        result.low_satisfaction = list(
            Offering.objects.filter(
                term=before,
                kind=OfferingKind.COURSE,
                satisfaction_percent__lt=policy.low_satisfaction_percent,
            ).order_by("satisfaction_percent", "name")
        )
    return result


def offerings_by_grade(offerings: list[Offering]) -> dict[int, list[Offering]]:
    by_grade: dict[int, list[Offering]] = defaultdict(list)
    for offering in offerings:
        grades = [offering.classroom.grade] if offering.classroom else offering.grades
        for grade in grades:
            by_grade[grade].append(offering)
    return dict(sorted(by_grade.items()))


def places_taken(offerings: list[Offering]) -> dict[int, int]:
    """Places taken per offering. Filled from enrollments once enrollment lands (issue 4)."""
    return {}
