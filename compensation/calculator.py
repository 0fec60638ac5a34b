"""Teacher pay for one term (篇一, 篇八): plain functions over plain data, no ORM and no I/O.

Two models share one entry point, `calculate`:

- "pools" (篇一): the term fund is split 9 : 1 into a process pool, shared by workload units, and a
  terminal pool, shared by the parents' survey scores of the eligible teachers;
- "per_hour" (篇八): each unit is a class hour paid at a rate set within the district's band.

Every number is a `Policy` field because 篇一 说明3 lets higher documents change the rules each term.

Accounting: each session *earns* units (never negative); penalties are separate negative
`Deduction`s. A late arrival deducts a unit (篇一: 每迟到一次计-1个工作量), so a day may well end
below zero, and 篇一 gives no floor per session or per day; only the teacher's term total is floored
at zero, because a payout cannot be negative. Voiding a day (unexcused absence, incident) or a month
(ethics) removes what was *earned* then but keeps that period's late deductions: voiding is the heavier
penalty, and wiping a late's -1 with it would let a worse record pay more than a better one.
"""

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import astuple, dataclass, fields
from decimal import Decimal
from itertools import groupby
from typing import Literal, get_args

from aftercare.money import allocate, split_ratio, to_fen

PayModel = Literal["pools", "per_hour"]
LateMode = Literal["deduct", "replace"]
SessionKind = Literal["regular", "noon"]
RecordState = Literal["complete", "incomplete", "missing"]
Attendance = Literal["on_time", "late", "absent_excused", "absent_unexcused"]

UNKNOWN_CHOICE = "Unknown {field}: {value!r}."
UNITS_INVALID = "Policy field {field} must be a non-negative Decimal."
RATIO_INVALID = "The process and terminal ratios must be non-negative integers, not both zero."
MIN_RESPONSES_INVALID = "The minimum number of survey responses must be a non-negative integer."
RATE_BAND_INVALID = "The district's hourly band must run from a lower to a higher Decimal amount."
HOURLY_RATE_REQUIRED = "The per-class-hour model needs an hourly rate."
HOURLY_RATE_OUT_OF_BAND = (
    "The hourly rate of {rate} yuan is outside the district's band of {low}–{high} yuan."
)
SURVEY_INVALID = "Survey score and response count must be non-negative (teacher {teacher_id})."
SURVEY_DUPLICATE = "Teacher {teacher_id} has more than one survey score."

KIND_LABELS: dict[str, str] = {"regular": "常规课后服务", "noon": "午间课后服务"}
RECORD_LABELS: dict[str, str] = {
    "complete": "活动记录完整",
    "incomplete": "活动记录不完整",
    "missing": "无活动记录",
}
LATE_REASON = "迟到"
UNEXCUSED_ABSENCE_REASON = "无故缺勤，当天不计报酬"
INCIDENT_REASON = "发生失职或安全事故，当天不计报酬"
ETHICS_REASON = "师德失范，当月课后服务报酬全部取消"

ZERO = Decimal(0)
NO_MONEY = Decimal("0.00")


class PolicyError(ValueError):
    pass


def _check_choice(field: str, value: str, choices: object) -> None:
    if value not in get_args(choices):
        raise ValueError(UNKNOWN_CHOICE.format(field=field, value=value))


@dataclass(frozen=True)
class Policy:
    model: PayModel = "pools"
    process_ratio: int = 9
    terminal_ratio: int = 1
    complete_record_units: Decimal = Decimal(1)
    incomplete_record_units: Decimal = Decimal("0.5")
    missing_record_units: Decimal = Decimal(0)
    noon_units: Decimal = Decimal("0.5")
    late_mode: LateMode = "deduct"
    late_deduction_units: Decimal = Decimal(1)
    late_replacement_units: Decimal = Decimal(0)
    ethics_voids_terminal: bool = True
    min_survey_responses: int = 1
    hourly_rate: Decimal | None = None
    hourly_rate_low: Decimal = Decimal(40)
    hourly_rate_high: Decimal = Decimal(60)

    def __post_init__(self) -> None:
        _check_choice("model", self.model, PayModel)
        _check_choice("late_mode", self.late_mode, LateMode)
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name.endswith("_units") and (not isinstance(value, Decimal) or value < 0):
                raise PolicyError(UNITS_INVALID.format(field=field.name))
        ratios = (self.process_ratio, self.terminal_ratio)
        if any(type(ratio) is not int or ratio < 0 for ratio in ratios) or not any(ratios):
            raise PolicyError(RATIO_INVALID)
        if type(self.min_survey_responses) is not int or self.min_survey_responses < 0:
            raise PolicyError(MIN_RESPONSES_INVALID)
        low, high = self.hourly_rate_low, self.hourly_rate_high
        if not (isinstance(low, Decimal) and isinstance(high, Decimal) and 0 <= low <= high):
            raise PolicyError(RATE_BAND_INVALID)
        if self.model == "per_hour" and self.hourly_rate is None:
            raise PolicyError(HOURLY_RATE_REQUIRED)
        if self.hourly_rate is not None and not (
            isinstance(self.hourly_rate, Decimal) and low <= self.hourly_rate <= high
        ):
            raise PolicyError(HOURLY_RATE_OUT_OF_BAND.format(rate=self.hourly_rate, low=low, high=high))


@dataclass(frozen=True)
class SessionRecord:
    teacher_id: int
    date: datetime.date
    kind: SessionKind = "regular"
    record: RecordState = "complete"
    attendance: Attendance = "on_time"
    incident: bool = False

    def __post_init__(self) -> None:
        _check_choice("kind", self.kind, SessionKind)
        _check_choice("record", self.record, RecordState)
        _check_choice("attendance", self.attendance, Attendance)


@dataclass(frozen=True)
class EthicsBreach:
    teacher_id: int
    date: datetime.date


@dataclass(frozen=True)
class SurveyScore:
    teacher_id: int
    score: Decimal
    responses: int
    # The school's own judgement (篇一: the praised, innovative, dedicated), on top of the fixed rules.
    eligible_for_terminal: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.score, Decimal) or self.score < 0 or self.responses < 0:
            raise ValueError(SURVEY_INVALID.format(teacher_id=self.teacher_id))


@dataclass(frozen=True)
class Deduction:
    date: datetime.date
    units: Decimal  # negative: what comes off the teacher's term units
    reason: str


@dataclass(frozen=True)
class TeacherPayout:
    teacher_id: int
    units: Decimal  # term total, floored at zero
    process_share: Decimal
    terminal_share: Decimal
    hourly_pay: Decimal
    total: Decimal
    deductions: tuple[Deduction, ...]
    explanation: tuple[str, ...]


@dataclass(frozen=True)
class PayoutResult:
    model: PayModel
    fund: Decimal
    process_pool: Decimal
    terminal_pool: Decimal
    process_undistributed: Decimal
    terminal_undistributed: Decimal
    teachers: tuple[TeacherPayout, ...]

    @property
    def undistributed(self) -> Decimal:
        return self.process_undistributed + self.terminal_undistributed


@dataclass
class _Tally:
    units: Decimal
    deductions: list[Deduction]
    lines: list[str]
    had_incident: bool
    had_ethics_breach: bool


def calculate(
    policy: Policy,
    fund: Decimal,
    sessions: Iterable[SessionRecord],
    ethics_breaches: Iterable[EthicsBreach],
    surveys: Iterable[SurveyScore],
) -> PayoutResult:
    """Pay every teacher named in the inputs for one term, sorted by teacher id."""
    sessions_by_teacher: dict[int, list[SessionRecord]] = defaultdict(list)
    # Sorting on every field makes the explanation independent of the order rows were fetched in;
    # within a day "noon" sorts before "regular", which is also the order of the school day.
    for session in sorted(sessions, key=astuple):
        sessions_by_teacher[session.teacher_id].append(session)
    first_breach: dict[int, dict[tuple[int, int], datetime.date]] = defaultdict(dict)
    for breach in sorted(ethics_breaches, key=lambda breach: (breach.teacher_id, breach.date)):
        first_breach[breach.teacher_id].setdefault((breach.date.year, breach.date.month), breach.date)
    survey_by_teacher: dict[int, SurveyScore] = {}
    for survey in surveys:
        if survey.teacher_id in survey_by_teacher:
            raise ValueError(SURVEY_DUPLICATE.format(teacher_id=survey.teacher_id))
        survey_by_teacher[survey.teacher_id] = survey

    teacher_ids = sorted(set(sessions_by_teacher) | set(first_breach) | set(survey_by_teacher))
    tallies = {
        teacher_id: _tally(policy, sessions_by_teacher[teacher_id], first_breach[teacher_id])
        for teacher_id in teacher_ids
    }
    if policy.model == "per_hour":
        return _pay_per_hour(policy, fund, tallies)
    return _pay_from_pools(policy, fund, tallies, survey_by_teacher)


def _earned_units(policy: Policy, session: SessionRecord) -> Decimal:
    # 请假 (excused) simply earns nothing; 无故缺勤 (unexcused) also voids the day, see `_tally`.
    if session.attendance in ("absent_excused", "absent_unexcused"):
        return ZERO
    if session.record == "missing":
        earned = policy.missing_record_units
    elif session.kind == "noon":
        earned = policy.noon_units  # 篇一: noon counts 0.5 each time, complete record or not
    elif session.record == "incomplete":
        earned = policy.incomplete_record_units
    else:
        earned = policy.complete_record_units
    if session.attendance == "late" and policy.late_mode == "replace":
        # A late session never earns more than the same session on time would have.
        return min(earned, policy.late_replacement_units)
    return earned


def _session_line(policy: Policy, session: SessionRecord, earned: Decimal) -> str:
    head = f"{session.date.isoformat()} {KIND_LABELS[session.kind]}"
    if session.attendance == "absent_excused":
        return f"{head}，请假：{_signed(earned)}"
    if session.attendance == "absent_unexcused":
        return f"{head}，无故缺勤：{_signed(earned)}"
    if session.attendance == "late" and policy.late_mode == "replace":
        return f"{head}，{RECORD_LABELS[session.record]}，迟到按规定改计：{_signed(earned)}"
    return f"{head}，{RECORD_LABELS[session.record]}：{_signed(earned)}"


def _tally(
    policy: Policy,
    sessions: list[SessionRecord],
    ethics_months: dict[tuple[int, int], datetime.date],
) -> _Tally:
    """Count one teacher's units over sessions already sorted by date."""
    tally = _Tally(ZERO, [], [], had_incident=False, had_ethics_breach=bool(ethics_months))
    earned_in_ethics_month: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    for day, group in groupby(sessions, key=lambda session: session.date):
        day_sessions = list(group)
        earned_today = ZERO
        for session in day_sessions:
            earned = _earned_units(policy, session)
            earned_today += earned
            tally.lines.append(_session_line(policy, session, earned))
            if session.attendance == "late" and policy.late_mode == "deduct":
                _deduct(tally, day, policy.late_deduction_units, LATE_REASON)
        if any(session.incident for session in day_sessions):
            tally.had_incident = True
            _deduct(tally, day, earned_today, INCIDENT_REASON)
        elif any(session.attendance == "absent_unexcused" for session in day_sessions):
            _deduct(tally, day, earned_today, UNEXCUSED_ABSENCE_REASON)
        elif (day.year, day.month) in ethics_months:
            earned_in_ethics_month[(day.year, day.month)] += earned_today
        tally.units += earned_today
    for month, breach_date in sorted(ethics_months.items()):
        _deduct(tally, breach_date, earned_in_ethics_month[month], ETHICS_REASON)

    tally.lines.append(f"学期工作量合计：{_plain(tally.units)}")
    if tally.units < 0:
        # Only the term total is floored (see the module docstring): pay cannot be negative.
        tally.lines.append("工作量合计为负，按 0 计")
        tally.units = ZERO
    return tally


def _deduct(tally: _Tally, day: datetime.date, units: Decimal, reason: str) -> None:
    """Record a penalty; a void of nothing (0 earned) is still explained but not listed as a deduction."""
    if units:
        tally.deductions.append(Deduction(day, -units, reason))
        tally.units -= units
        tally.lines.append(f"{day.isoformat()} {reason}：{_signed(-units)}")
    else:
        tally.lines.append(f"{day.isoformat()} {reason}")


def _pay_from_pools(
    policy: Policy,
    fund: Decimal,
    tallies: dict[int, _Tally],
    survey_by_teacher: dict[int, SurveyScore],
) -> PayoutResult:
    process_pool, terminal_pool = split_ratio(fund, [policy.process_ratio, policy.terminal_ratio])
    teacher_ids = list(tallies)  # already sorted by id
    total_units = sum((tallies[teacher_id].units for teacher_id in teacher_ids), ZERO)
    process_shares = allocate(
        process_pool, [tallies[teacher_id].units for teacher_id in teacher_ids], keys=teacher_ids
    )
    reasons = [
        _terminal_ineligibility(policy, tallies[teacher_id], survey_by_teacher.get(teacher_id))
        for teacher_id in teacher_ids
    ]
    scores = [
        survey_by_teacher[teacher_id].score if reason is None else ZERO
        for teacher_id, reason in zip(teacher_ids, reasons, strict=True)
    ]
    terminal_shares = allocate(terminal_pool, scores, keys=teacher_ids)
    terminal_undistributed = terminal_pool - sum(terminal_shares, NO_MONEY)

    payouts = []
    for teacher_id, process_share, terminal_share, score, reason in zip(
        teacher_ids, process_shares, terminal_shares, scores, reasons, strict=True
    ):
        tally = tallies[teacher_id]
        if total_units:
            tally.lines.append(
                f"过程性考核：工作量 {_plain(tally.units)} / 全体 {_plain(total_units)}，"
                f"分得 {process_share} 元"
            )
        else:
            tally.lines.append("过程性考核：全体教师工作量为 0，奖励池未分配")
        if reason is not None:
            tally.lines.append(f"终结性考核：{reason}")
        elif terminal_undistributed:
            # Eligible teachers whose scores are all zero leave the pool undistributed too.
            tally.lines.append("终结性考核：符合条件教师的问卷得分合计为 0，奖励池未分配")
        else:
            tally.lines.append(
                f"终结性考核：家长问卷得分 {_plain(score)}，按得分比例分得 {terminal_share} 元"
            )
        total = process_share + terminal_share
        tally.lines.append(f"合计：{total} 元")
        payouts.append(_payout(teacher_id, tally, process_share, terminal_share, NO_MONEY, total))
    return PayoutResult(
        model=policy.model,
        fund=fund,
        process_pool=process_pool,
        terminal_pool=terminal_pool,
        process_undistributed=process_pool - sum(process_shares, NO_MONEY),
        terminal_undistributed=terminal_undistributed,
        teachers=tuple(payouts),
    )


def _terminal_ineligibility(policy: Policy, tally: _Tally, survey: SurveyScore | None) -> str | None:
    """Why the teacher has no part in the terminal pool, or None when they are eligible."""
    if survey is None:
        return "没有家长问卷得分，不参与期末奖励"
    if tally.had_incident:
        # 篇一: an incident costs the day's pay and the terminal reward.
        return "本学期发生失职或安全事故，不享受期末奖励"
    if tally.had_ethics_breach and policy.ethics_voids_terminal:
        return "本学期有师德失范行为，不享受期末奖励"
    if not survey.eligible_for_terminal:
        return "学校评定本学期不享受期末奖励"
    if survey.responses < policy.min_survey_responses:
        return f"家长问卷仅 {survey.responses} 份，少于 {policy.min_survey_responses} 份，不参与期末奖励"
    return None


def _pay_per_hour(policy: Policy, fund: Decimal, tallies: dict[int, _Tally]) -> PayoutResult:
    # 篇八: no pools and no terminal reward; the fund is kept in the result for the report only.
    assert policy.hourly_rate is not None  # guaranteed by Policy.__post_init__
    rate = policy.hourly_rate
    payouts = []
    for teacher_id, tally in tallies.items():
        pay = to_fen(tally.units * rate)
        tally.lines.append(f"按课时计酬：{_plain(tally.units)} 课时 × {rate} 元 = {pay} 元")
        tally.lines.append(f"合计：{pay} 元")
        payouts.append(_payout(teacher_id, tally, NO_MONEY, NO_MONEY, pay, pay))
    return PayoutResult(
        model=policy.model,
        fund=fund,
        process_pool=NO_MONEY,
        terminal_pool=NO_MONEY,
        process_undistributed=NO_MONEY,
        terminal_undistributed=NO_MONEY,
        teachers=tuple(payouts),
    )


def _payout(
    teacher_id: int,
    tally: _Tally,
    process_share: Decimal,
    terminal_share: Decimal,
    hourly_pay: Decimal,
    total: Decimal,
) -> TeacherPayout:
    return TeacherPayout(
        teacher_id=teacher_id,
        units=tally.units,
        process_share=process_share,
        terminal_share=terminal_share,
        hourly_pay=hourly_pay,
        total=total,
        deductions=tuple(tally.deductions),
        explanation=tuple(tally.lines),
    )


def _plain(units: Decimal) -> str:
    return format(units.normalize(), "f")


def _signed(units: Decimal) -> str:
    return f"+{_plain(units)}" if units >= 0 else f"-{_plain(-units)}"
