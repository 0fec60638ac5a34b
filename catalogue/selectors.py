"""Reads of the catalogue. ``sessions_on`` is the one answer to "which sessions run on day D"."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from decimal import Decimal
from functools import cached_property

from django.contrib.auth import get_user_model
from django.db.models import Case, Count, IntegerField, Prefetch, Q, Value, When

from aftercare.models import Classroom, School, Term
from aftercare.roles import Role

from . import calendar_rules
from .calendar_rules import SlotRule
from .models import (
    REQUIRED_DOMAINS,
    CalendarDate,
    CalendarDateKind,
    CertificateType,
    DistrictPolicy,
    FeeStandard,
    Offering,
    OfferingKind,
    OfferingStatus,
    Provider,
    ProviderKind,
    ProviderStaffMember,
    VettingStatus,
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
    """Places taken per offering: its active enrollments (one query, through the reverse relation
    so the catalogue does not import the enrollment app)."""
    if not offerings:
        return {}
    rows = (
        Offering.objects.filter(pk__in=[o.pk for o in offerings])
        .annotate(taken=Count("enrollments", filter=Q(enrollments__left_on__isnull=True)))
        .values_list("pk", "taken")
    )
    return dict(rows)


# Providers -------------------------------------------------------------------------------------

# A certificate that ends within this many days is flagged before it blocks publishing.
CERTIFICATE_WARNING_DAYS = 30

# The district works through what waits for it first (篇八: the school files, the district vets).
VETTING_ORDER = Case(
    When(vetting_status=VettingStatus.PENDING, then=Value(0)),
    When(vetting_status=VettingStatus.SUSPENDED, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


def _certificate_counts(today: date) -> dict:
    """Per provider, in SQL: staff, certificates expired, expiring soon, and institution staff
    without any certificate (which also blocks publishing)."""
    soon = today + timedelta(days=CERTIFICATE_WARNING_DAYS)
    expires_on = "staff_members__certificate_expires_on"
    return {
        "staff_count": Count("staff_members"),
        "expired_count": Count("staff_members", filter=Q(**{f"{expires_on}__lt": today})),
        "expiring_count": Count(
            "staff_members", filter=Q(**{f"{expires_on}__gte": today, f"{expires_on}__lte": soon})
        ),
        "uncertified_count": Count(
            "staff_members",
            filter=Q(kind=ProviderKind.INSTITUTION, staff_members__certificate_type=CertificateType.NONE),
        ),
    }


def school_providers(school: School, *, today: date):
    """The providers a school has filed, with staff and certificate counts (one query)."""
    return Provider.objects.filter(school=school).annotate(**_certificate_counts(today)).order_by("name")


def district_institutions(district_ids, *, today: date, status: str | None = None):
    """Institutions filed by the schools of these districts, those waiting for vetting first."""
    providers = Provider.objects.filter(district_id__in=district_ids, kind=ProviderKind.INSTITUTION)
    if status:
        providers = providers.filter(vetting_status=status)
    return (
        providers.select_related("school")
        .annotate(**_certificate_counts(today), vetting_order=VETTING_ORDER)
        .order_by("vetting_order", "school__name", "name")
    )


def provider_staff_rows(provider: Provider, *, today: date):
    """The provider's staff with ``certificate_state``: "expired", "expiring", "missing" (an
    institution's staff member without a certificate) or ""."""
    soon = today + timedelta(days=CERTIFICATE_WARNING_DAYS)
    missing = Value("missing") if provider.kind == ProviderKind.INSTITUTION else Value("")
    return (
        provider.staff_members.select_related("user")
        .annotate(
            certificate_state=Case(
                When(certificate_type=CertificateType.NONE, then=missing),
                When(certificate_expires_on__lt=today, then=Value("expired")),
                When(certificate_expires_on__lte=soon, then=Value("expiring")),
                default=Value(""),
            )
        )
        .order_by("name")
    )


def provider_offerings(provider: Provider):
    return provider.offerings.select_related("term").order_by("-term__starts_on", "kind", "name")


def provider_staff_user_choices(school_id: int, *, keep_user_id: int | None = None):
    """Accounts a provider's staff member may be linked to: active staff of the school with the
    provider-staff role (and the account already linked, so editing never drops it)."""
    eligible = Q(
        staff_records__school_id=school_id,
        staff_records__is_active=True,
        staff_records__roles__role=Role.PROVIDER_STAFF,
    )
    if keep_user_id is not None:
        eligible |= Q(pk=keep_user_id)
    return get_user_model().objects.filter(eligible).distinct().order_by("full_name", "username")


# Term set-up pages (catalogue/views/calendar.py) ------------------------------------------------


def terms_with_calendar(school: School) -> list[Term]:
    """The school's terms, newest first, each with ``service_day_count``, ``excluded_count``,
    ``makeup_count``, ``slot_count`` and ``is_free`` (None while no fee standard is saved).
    Two queries whatever the number of terms and dates."""
    from django.db.models import Count

    terms = list(
        Term.objects.filter(school=school)
        .select_related("fee_standard")
        .annotate(slot_count=Count("time_slots"))
        .prefetch_related(Prefetch("calendar_dates", queryset=CalendarDate.objects.order_by("date")))
        .order_by("-starts_on")
    )
    for term in terms:
        rows = term.calendar_dates.all()
        excluded = {r.date: r.reason for r in rows if r.kind == CalendarDateKind.EXCLUDED}
        makeup = {r.date: r.reason for r in rows if r.kind == CalendarDateKind.MAKEUP}
        term.service_day_count = len(
            TermCalendar(term=term, slots=[], excluded=excluded, makeup=makeup).service_days
        )
        term.excluded_count = len(excluded)
        term.makeup_count = len(makeup)
        standard = getattr(term, "fee_standard", None)
        term.is_free = standard.is_free if standard is not None else None
    return terms


@dataclass(frozen=True)
class CalendarCell:
    """One day of a month table: ``state`` is service, makeup, excluded, off (in the term, no
    service) or outside (before or after the term)."""

    day: date
    state: str
    winter: bool = False
    note: str = ""


@dataclass(frozen=True)
class SpecialDate:
    day: date
    reason: str
    # An excluded day on a service weekday, or a make-up day on a weekday without service: the
    # date changes the count. Otherwise it is written down but changes nothing.
    has_effect: bool


@dataclass
class CalendarMonth:
    first_day: date
    weeks: list[list[CalendarCell | None]]


@dataclass
class CalendarSummary:
    service_day_count: int
    winter_service_day_count: int
    first_day: date | None
    last_day: date | None
    excluded: list[SpecialDate]
    makeup: list[SpecialDate]
    months: list[CalendarMonth]


def term_calendar_summary(calendar: TermCalendar) -> CalendarSummary:
    """What the saved calendar comes to, for the administrator to check: counts, the special dates
    and one table per month (Monday first). No queries beyond those of ``term_calendar``."""
    import calendar as month_tables

    term = calendar.term
    days = calendar.service_days
    weekdays = set(term.service_weekdays)

    def state_of(day: date) -> str:
        if not term.starts_on <= day <= term.ends_on:
            return "outside"
        if calendar.is_service_day(day):
            return "makeup" if day in calendar.makeup else "service"
        return "excluded" if day in calendar.excluded else "off"

    months = []
    first_of_month = date(term.starts_on.year, term.starts_on.month, 1)
    while first_of_month <= term.ends_on:
        weeks = [
            [
                None
                if day.month != first_of_month.month
                else CalendarCell(
                    day=day,
                    state=state_of(day),
                    winter=calendar.is_service_day(day) and calendar.is_winter(day),
                    note=calendar.excluded.get(day) or calendar.makeup.get(day) or "",
                )
                for day in week
            ]
            for week in month_tables.Calendar(firstweekday=0).monthdatescalendar(
                first_of_month.year, first_of_month.month
            )
        ]
        months.append(CalendarMonth(first_day=first_of_month, weeks=weeks))
        year, month = divmod(first_of_month.month, 12)
        first_of_month = date(first_of_month.year + year, month + 1, 1)
    return CalendarSummary(
        service_day_count=len(days),
        winter_service_day_count=sum(1 for day in days if calendar.is_winter(day)),
        first_day=days[0] if days else None,
        last_day=days[-1] if days else None,
        excluded=[
            SpecialDate(day, reason, has_effect=day.weekday() in weekdays)
            for day, reason in sorted(calendar.excluded.items())
        ],
        makeup=[
            SpecialDate(day, reason, has_effect=day.weekday() not in weekdays)
            for day, reason in sorted(calendar.makeup.items())
        ],
        months=months,
    )


def charged_offering_count(term: Term) -> int:
    """Offerings of the term that charge a fee: what declaring the term free would change."""
    from .models import FeeMode

    return Offering.objects.filter(term=term).exclude(fee_mode=FeeMode.FREE).count()


# Offerings pages (catalogue/views/offerings.py) ------------------------------------------------


@dataclass(frozen=True)
class TimeBand:
    """When an offering meets in one season; ``season`` is empty when one band covers the term."""

    season: str
    starts_at: time | None
    ends_at: time | None


@dataclass(frozen=True)
class OfferingSummary:
    """One offering with what its pages show beside it: days, time bands and what a term costs."""

    offering: Offering
    grades_label: str
    weekdays_label: str
    bands: list[TimeBand]
    session_count: int
    term_cost: Decimal


def offering_time_bands(calendar: TermCalendar, offering: Offering) -> list[TimeBand]:
    """The band of each season of the term; a course across grade bands keeps its youngest grade's
    band, as in ``sessions_on``. One band when the term has no winter timetable or both agree."""
    from .models import Season

    grade = offering.classroom.grade if offering.classroom else min(offering.grades or [1])
    summer = calendar_rules.slot_for(calendar.slots, kind=offering.slot_kind, grade=grade, winter=False)
    if calendar.term.winter_starts_on is None:
        seasons = [("", summer)]
    else:
        winter = calendar_rules.slot_for(calendar.slots, kind=offering.slot_kind, grade=grade, winter=True)
        if winter == summer:
            seasons = [("", summer)]
        else:
            seasons = [(str(Season.SUMMER.label), summer), (str(Season.WINTER.label), winter)]
    return [
        TimeBand(season, slot.starts_at if slot else None, slot.ends_at if slot else None)
        for season, slot in seasons
    ]


def grades_label(grades: list[int]) -> str:
    """Grades as words: 三年级, 三年级、五年级, or a run of three or more as 一年级至六年级."""
    from django.utils.translation import gettext as _

    from aftercare.models import Grade

    ordered = sorted(set(grades))
    labels = [str(Grade(g).label) for g in ordered]
    if len(ordered) >= 3 and ordered[-1] - ordered[0] == len(ordered) - 1:
        return _("%(first)s至%(last)s") % {"first": labels[0], "last": labels[-1]}
    return "、".join(labels)


def offering_summary(calendar: TermCalendar, offering: Offering) -> OfferingSummary:
    from .fees import term_cost

    session_count = calendar.session_count(offering)
    return OfferingSummary(
        offering=offering,
        grades_label=grades_label([offering.classroom.grade] if offering.classroom else offering.grades),
        weekdays_label=calendar_rules.weekday_label(offering.weekdays),
        bands=offering_time_bands(calendar, offering),
        session_count=session_count,
        term_cost=term_cost(offering.fee_mode, offering.fee_amount, session_count),
    )


@dataclass
class TermCatalogue:
    """Everything the term's offering list shows, read in a constant number of queries."""

    term: Term
    basic_care: list[OfferingSummary]
    courses: list[OfferingSummary]
    compliance: Compliance
    # Names of last term's low-satisfaction courses that are on this term's list again.
    reoffered_names: frozenset[str]


def term_catalogue(term: Term) -> TermCatalogue:
    offerings = list(
        offering_queryset()
        .filter(term=term)
        .order_by("kind", "classroom__grade", "classroom__number", "name")
    )
    calendar = term_calendar(term)
    summaries = [offering_summary(calendar, offering) for offering in offerings]
    result = compliance(term, offerings, district_policy(term.school.district))
    course_names = {o.name for o in offerings if o.is_course}
    return TermCatalogue(
        term=term,
        basic_care=[s for s in summaries if not s.offering.is_course],
        courses=[s for s in summaries if s.offering.is_course],
        compliance=result,
        reoffered_names=frozenset(o.name for o in result.low_satisfaction if o.name in course_names),
    )


def teacher_choices(school: School, *, keep_ids=()):
    """Who may be named an offering's teacher: the school's active service teachers and its homeroom
    teachers (they lead basic care), plus whoever already teaches the offering being edited."""
    return (
        get_user_model()
        .objects.filter(
            Q(
                staff_records__school=school,
                staff_records__is_active=True,
                staff_records__roles__role=Role.SERVICE_TEACHER,
            )
            | Q(homeroom_classrooms__school=school)
            | Q(pk__in=list(keep_ids))
        )
        .distinct()
        # The offering's own teachers first, so an edit shows at once who teaches it.
        .annotate(is_kept=Case(When(pk__in=list(keep_ids), then=Value(0)), default=Value(1)))
        .order_by("is_kept", "full_name", "username")
    )


def provider_staff_choices(school: School):
    return ProviderStaffMember.objects.filter(provider__school=school).select_related("provider")


# The public offer (公示) ------------------------------------------------------------------------


@dataclass
class OfferLine:
    offering: Offering
    session_count: int
    term_cost: Decimal
    places_left: int
    times: list[tuple[str, SlotRule]]
    weekdays: str


@dataclass
class BasicCareSummary:
    """A grade's basic care in one line: every class has its own, with the same times."""

    lines: list[OfferLine]

    @property
    def first(self) -> OfferLine:
        return self.lines[0]

    @property
    def class_count(self) -> int:
        return len(self.lines)

    @property
    def costs(self) -> list[Decimal]:
        return sorted({line.term_cost for line in self.lines})

    @property
    def places_left(self) -> int:
        return sum(line.places_left for line in self.lines)

    @property
    def capacity(self) -> int:
        return sum(line.offering.capacity for line in self.lines)


@dataclass
class GradeOffer:
    grade: int
    basic_care: BasicCareSummary | None
    courses: list[OfferLine]


@dataclass
class PublicOffer:
    term: Term
    calendar: TermCalendar
    standard: FeeStandard
    policy: DistrictPolicy
    grades: list[GradeOffer]
    slot_rows: list[SlotRule]

    @property
    def service_day_count(self) -> int:
        return len(self.calendar.service_days)

    @property
    def excluded_runs(self) -> list[tuple[date, date, str]]:
        return calendar_rules.date_runs(self.calendar.excluded)

    @property
    def makeup_runs(self) -> list[tuple[date, date, str]]:
        return calendar_rules.date_runs(self.calendar.makeup)


def public_offer(term: Term, *, first_grades: frozenset[int] = frozenset()) -> PublicOffer:
    """Everything the school publishes for a term: times, offerings per grade with places left,
    fee standards. The grades in ``first_grades`` (a parent's children's) come first. A constant
    number of queries."""
    from .fees import term_cost

    calendar = term_calendar(term)
    offerings = list(
        offering_queryset().filter(term=term, status=OfferingStatus.PUBLISHED).order_by("kind", "name")
    )
    taken = places_taken(offerings)
    lines: dict[int, OfferLine] = {}
    for offering in offerings:
        count = calendar.session_count(offering)
        grade = offering.classroom.grade if offering.classroom else min(offering.grades or [1])
        times = []
        for label, winter in (("summer", False), ("winter", True)):
            slot = calendar_rules.slot_for(
                calendar.slots, kind=offering.slot_kind, grade=grade, winter=winter
            )
            if slot is not None:
                times.append((label, slot))
        lines[offering.pk] = OfferLine(
            offering=offering,
            session_count=count,
            term_cost=term_cost(offering.fee_mode, offering.fee_amount, count),
            places_left=max(0, offering.capacity - taken.get(offering.pk, 0)),
            times=times,
            weekdays=calendar_rules.weekday_label(offering.weekdays),
        )
    grades = []
    for grade, grade_offerings in offerings_by_grade(offerings).items():
        basic = [lines[o.pk] for o in grade_offerings if not o.is_course]
        grades.append(
            GradeOffer(
                grade=grade,
                basic_care=BasicCareSummary(basic) if basic else None,
                courses=[lines[o.pk] for o in grade_offerings if o.is_course],
            )
        )
    grades.sort(key=lambda g: (g.grade not in first_grades, g.grade))
    return PublicOffer(
        term=term,
        calendar=calendar,
        standard=fee_standard(term),
        policy=district_policy(term.school.district),
        grades=grades,
        slot_rows=sorted(calendar.slots, key=lambda s: (s.kind, s.season, s.grade_from)),
    )
