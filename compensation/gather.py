"""The database side of the calculator: read a term's records in a constant number of queries, turn
them into the calculator's plain data, and compute a payout without storing anything.

Rules that are choices of ours, not of the seeds (shown on the pay sheet as well):

- A session counts for each of its offering's teachers (school staff). Provider staff are paid by
  their institution under its contract, not from the school's fund: they are left out and named.
- No teacher-attendance row means on time: the inspector records the exceptions (篇一 考勤由专人负责).
- An activity record written but not yet rated counts as *incomplete* until someone rates it: the
  teacher did write it, so "missing" (0) would punish them for the school's delay, while "complete"
  would pay for what nobody checked. The draft lists every unrated record so the administrator has
  them rated before the principal approves.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from aftercare.models import Term
from aftercare.money import to_fen
from attendance.models import (
    EthicsBreach,
    IncidentKind,
    RecordRating,
    Session,
    SessionStatus,
    TeacherAttendance,
    TeacherPresence,
)
from catalogue.models import Offering, SlotKind
from catalogue.selectors import district_policy
from enrollment.models import Payment, Refund

from . import calculator
from .models import FundSource, PayPolicy, SurveyScoreEntry, TermFund

ZERO_MONEY = Decimal("0.00")

# How a rating of the activity record reaches the calculator (see the module docstring).
RECORD_FOR_RATING = {
    RecordRating.COMPLETE: "complete",
    RecordRating.INCOMPLETE: "incomplete",
    RecordRating.UNRATED: "incomplete",
    None: "missing",
}

WARNING_UNRATED = "unrated"
WARNING_NO_RECORD = "no_record"
WARNING_NO_ROLL = "no_roll"
WARNING_NO_TEACHER = "no_teacher"
WARNING_CUT_OFF_EARLY = "cut_off_early"
WARNING_OVER_FUND = "over_fund"
WARNING_UNDISTRIBUTED = "undistributed"


def default_cut_off(term: Term) -> datetime.date:
    """The term's last day, or today while the term is still running."""
    return min(term.ends_on, timezone.localdate())


# The term's settings ------------------------------------------------------------------------------


def pay_policy(term: Term) -> PayPolicy:
    """The term's policy; the seed's defaults until the administrator saves one."""
    return PayPolicy.objects.filter(term=term).first() or PayPolicy(term=term)


def term_fund(term: Term) -> TermFund:
    return TermFund.objects.filter(term=term).first() or TermFund(term=term)


POLICY_FIELDS = (
    "model",
    "process_ratio",
    "terminal_ratio",
    "complete_record_units",
    "incomplete_record_units",
    "missing_record_units",
    "noon_units",
    "late_mode",
    "late_deduction_units",
    "late_replacement_units",
    "ethics_voids_terminal",
    "min_survey_responses",
    "hourly_rate",
)


def calculator_policy(policy: PayPolicy, band_low: Decimal, band_high: Decimal) -> calculator.Policy:
    """Raises calculator.PolicyError when the saved rules no longer fit (e.g. the district band moved)."""
    return calculator.Policy(
        **{name: getattr(policy, name) for name in POLICY_FIELDS},
        hourly_rate_low=band_low,
        hourly_rate_high=band_high,
    )


def policy_snapshot(policy: calculator.Policy) -> dict:
    """The policy as JSON: Decimals as strings, so nothing is rounded on the way."""
    return {
        name: (str(value) if isinstance(value, Decimal) else value) for name, value in vars(policy).items()
    }


def settings_snapshot(policy: PayPolicy, band_low: Decimal, band_high: Decimal) -> dict:
    """The saved rules in the shape of ``policy_snapshot``, without the calculator's checks: the
    term's page shows them even when they no longer fit the district's band."""
    values = {name: getattr(policy, name) for name in POLICY_FIELDS}
    values.update(hourly_rate_low=band_low, hourly_rate_high=band_high)
    return {name: (str(value) if isinstance(value, Decimal) else value) for name, value in values.items()}


def hourly_band(term: Term) -> tuple[Decimal, Decimal]:
    district = district_policy(term.school.district)
    return district.hourly_pay_min, district.hourly_pay_max


@dataclass(frozen=True)
class FundBasis:
    source: str
    fund: Decimal
    payments: Decimal = ZERO_MONEY
    refunds: Decimal = ZERO_MONEY
    fiscal_subsidy: Decimal = ZERO_MONEY
    reserve: Decimal = ZERO_MONEY
    note: str = ""

    @property
    def income(self) -> Decimal:
        return self.payments - self.refunds

    def as_json(self) -> dict:
        return {
            "source": self.source,
            "fund": str(self.fund),
            "payments": str(self.payments),
            "refunds": str(self.refunds),
            "income": str(self.income),
            "fiscal_subsidy": str(self.fiscal_subsidy),
            "reserve": str(self.reserve),
            "note": self.note,
        }


def fund_basis(term: Term, fund: TermFund | None = None) -> FundBasis:
    """The term's fund and how it was found. From the books: payments received for the term minus
    refunds paid out, plus the fiscal subsidy, minus what the school keeps back. May be negative:
    the caller refuses to pay out of a negative fund."""
    fund = fund or term_fund(term)
    if fund.source == FundSource.ENTERED:
        return FundBasis(source=fund.source, fund=fund.entered_amount or ZERO_MONEY, note=fund.note)
    # Sums of amounts in fen are exact; to_fen only writes them with two places (SQLite drops them).
    payments = to_fen(Payment.objects.filter(term=term).aggregate(total=Sum("amount"))["total"] or 0)
    refunds = to_fen(
        Refund.objects.filter(enrollment__term=term, paid_on__isnull=False).aggregate(total=Sum("amount"))[
            "total"
        ]
        or 0
    )
    return FundBasis(
        source=fund.source,
        fund=payments - refunds + fund.fiscal_subsidy - fund.reserve,
        payments=payments,
        refunds=refunds,
        fiscal_subsidy=fund.fiscal_subsidy,
        reserve=fund.reserve,
        note=fund.note,
    )


# The records -------------------------------------------------------------------------------------


@dataclass
class Inputs:
    """A term's records up to the cut-off, as the calculator takes them, plus what the pages show."""

    sessions: list[calculator.SessionRecord] = field(default_factory=list)
    ethics_breaches: list[calculator.EthicsBreach] = field(default_factory=list)
    surveys: list[calculator.SurveyScore] = field(default_factory=list)
    teacher_names: dict[int, str] = field(default_factory=dict)
    # teacher id -> the sessions that counted for them, as stored on their line.
    session_details: dict[int, list[dict]] = field(default_factory=lambda: defaultdict(list))
    session_count: int = 0
    provider_staff: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)

    def summary(self) -> dict:
        """The run-level inputs kept as JSON (each teacher's sessions are kept on their line)."""
        return {
            "session_count": self.session_count,
            "ethics_breaches": [
                {
                    "teacher_id": b.teacher_id,
                    "teacher": self.teacher_names.get(b.teacher_id, ""),
                    "date": b.date.isoformat(),
                }
                for b in self.ethics_breaches
            ],
            "surveys": [
                {
                    "teacher_id": s.teacher_id,
                    "teacher": self.teacher_names.get(s.teacher_id, ""),
                    "score": str(s.score),
                    "responses": s.responses,
                    "eligible_for_terminal": s.eligible_for_terminal,
                }
                for s in self.surveys
            ],
            "provider_staff": self.provider_staff,
        }


def _session_warning(kind: str, session_id: int, day: datetime.date, offering: str, teachers) -> dict:
    return {
        "kind": kind,
        "session_id": session_id,
        "date": day.isoformat(),
        "offering": offering,
        "teachers": teachers,
    }


def gather_inputs(term: Term, cut_off: datetime.date) -> Inputs:
    """Seven queries whatever the number of teachers and sessions."""
    inputs = Inputs()
    sessions = list(
        Session.objects.filter(term=term, date__lte=cut_off)
        .exclude(status=SessionStatus.CANCELLED)
        .order_by("date", "starts_at", "pk")
        .values_list(
            "pk",
            "date",
            "offering_id",
            "offering__name",
            "offering__slot_kind",
            "activity_record__rating",
            "roll_taken_at",
        )
    )
    teachers_of: dict[int, list[int]] = defaultdict(list)
    for offering_id, user_id in (
        Offering.teachers.through.objects.filter(offering__term=term)
        .order_by("offering_id", "user_id")
        .values_list("offering_id", "user_id")
    ):
        teachers_of[offering_id].append(user_id)
    provider_staff_of: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for offering_id, staff_name, provider_name in (
        Offering.provider_staff.through.objects.filter(offering__term=term)
        .order_by("providerstaffmember__name")
        .values_list("offering_id", "providerstaffmember__name", "providerstaffmember__provider__name")
    ):
        provider_staff_of[offering_id].append((staff_name, provider_name))
    attendance = {
        (session_id, teacher_id): (presence, incident)
        for session_id, teacher_id, presence, incident in TeacherAttendance.objects.filter(
            session__term=term, session__date__lte=cut_off
        ).values_list("session_id", "teacher_id", "presence", "incident")
    }
    breaches = list(
        EthicsBreach.objects.filter(term=term, is_withdrawn=False, date__lte=cut_off)
        .order_by("teacher_id", "date")
        .values_list("teacher_id", "date")
    )
    scores = list(
        SurveyScoreEntry.objects.filter(term=term)
        .order_by("teacher_id")
        .values_list("teacher_id", "score", "responses", "eligible_for_terminal")
    )

    provider_sessions: dict[tuple[str, str], int] = defaultdict(int)
    pending_warnings: list[tuple[str, int, datetime.date, str, list[int]]] = []
    for session_id, day, offering_id, offering_name, slot_kind, rating, roll_taken_at in sessions:
        teacher_ids = teachers_of.get(offering_id, [])
        for staff in provider_staff_of.get(offering_id, []):
            provider_sessions[staff] += 1
        if not teacher_ids:
            if offering_id not in provider_staff_of:
                pending_warnings.append((WARNING_NO_TEACHER, session_id, day, offering_name, []))
            continue
        inputs.session_count += 1
        kind = "noon" if slot_kind == SlotKind.NOON else "regular"
        record = RECORD_FOR_RATING[rating]
        if rating == RecordRating.UNRATED:
            pending_warnings.append((WARNING_UNRATED, session_id, day, offering_name, teacher_ids))
        elif rating is None:
            pending_warnings.append((WARNING_NO_RECORD, session_id, day, offering_name, teacher_ids))
        if roll_taken_at is None:
            pending_warnings.append((WARNING_NO_ROLL, session_id, day, offering_name, teacher_ids))
        for teacher_id in teacher_ids:
            presence, incident = attendance.get((session_id, teacher_id), (TeacherPresence.ON_TIME, ""))
            has_incident = incident != IncidentKind.NONE
            inputs.sessions.append(
                calculator.SessionRecord(
                    teacher_id=teacher_id,
                    date=day,
                    kind=kind,
                    record=record,
                    attendance=presence,
                    incident=has_incident,
                )
            )
            inputs.session_details[teacher_id].append(
                {
                    "session_id": session_id,
                    "date": day.isoformat(),
                    "offering": offering_name,
                    "kind": kind,
                    "rating": rating or "",
                    "record": record,
                    "attendance": presence,
                    "incident": incident,
                }
            )
    inputs.ethics_breaches = [calculator.EthicsBreach(teacher_id, day) for teacher_id, day in breaches]
    inputs.surveys = [
        calculator.SurveyScore(teacher_id, score, responses, eligible)
        for teacher_id, score, responses, eligible in scores
    ]

    teacher_ids = (
        set(inputs.session_details)
        | {teacher_id for teacher_id, _day in breaches}
        | {row[0] for row in scores}
    )
    inputs.teacher_names = {
        pk: full_name or username
        for pk, full_name, username in get_user_model()
        .objects.filter(pk__in=teacher_ids)
        .values_list("pk", "full_name", "username")
    }
    inputs.warnings = [
        _session_warning(kind, session_id, day, offering, [inputs.teacher_names[t] for t in teachers])
        for kind, session_id, day, offering, teachers in pending_warnings
    ]
    inputs.provider_staff = [
        {"name": name, "provider": provider, "sessions": count}
        for (name, provider), count in sorted(provider_sessions.items())
    ]
    return inputs


# A whole computation, without storing it ------------------------------------------------------------


@dataclass
class Preview:
    term: Term
    cut_off: datetime.date
    policy: calculator.Policy
    basis: FundBasis
    inputs: Inputs
    result: calculator.PayoutResult
    warnings: list[dict]

    def teacher_name(self, teacher_id: int) -> str:
        return self.inputs.teacher_names.get(teacher_id, str(teacher_id))


def payout_preview(term: Term, cut_off: datetime.date, *, progress=None) -> Preview:
    """Gather, check and calculate. Raises calculator.PolicyError for rules that no longer fit and
    ValueError for a fund that is negative or finer than the fen (the callers translate both)."""
    report = progress or (lambda percent, message="": None)
    band_low, band_high = hourly_band(term)
    policy = calculator_policy(pay_policy(term), band_low, band_high)
    basis = fund_basis(term)
    if basis.fund < 0:
        raise NegativeFund(basis.fund)
    report(20, _("正在汇总场次、活动记录和教师考勤"))
    inputs = gather_inputs(term, cut_off)
    report(50, _("正在计算每位教师的酬金"))
    result = calculator.calculate(policy, basis.fund, inputs.sessions, inputs.ethics_breaches, inputs.surveys)
    warnings = list(inputs.warnings)
    if cut_off < term.ends_on:
        warnings.insert(
            0,
            {
                "kind": WARNING_CUT_OFF_EARLY,
                "cut_off": cut_off.isoformat(),
                "ends_on": term.ends_on.isoformat(),
            },
        )
    paid = sum((teacher.total for teacher in result.teachers), ZERO_MONEY)
    if result.model == "per_hour" and paid > basis.fund:
        warnings.insert(0, {"kind": WARNING_OVER_FUND, "total": str(paid), "fund": str(basis.fund)})
    if result.undistributed:
        warnings.insert(0, {"kind": WARNING_UNDISTRIBUTED, "amount": str(result.undistributed)})
    return Preview(term, cut_off, policy, basis, inputs, result, warnings)


class NegativeFund(ValueError):
    def __init__(self, fund: Decimal) -> None:
        super().__init__(f"negative fund {fund}")
        self.fund = fund
