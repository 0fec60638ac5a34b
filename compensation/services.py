"""Every write of teachers' pay: the term's policy, fund and survey scores, drafting a payout run
and the principal's approval. Once a term's run is approved, every one of them refuses: the run is
frozen, and later corrections are listed on it for the next term."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from aftercare.models import Term
from aftercare.notifications import notify

from . import calculator, gather, selectors
from .models import (
    FundSource,
    PayModel,
    PayoutLine,
    PayoutRun,
    PayPolicy,
    RunStatus,
    SurveyScoreEntry,
    TermFund,
)

RUN_FROZEN = gettext_lazy("本学期的酬金已由校长审定，不能再修改；之后的更正列入下学期处理。")
ALREADY_APPROVED = gettext_lazy("这份酬金表已经审定过了。")
RUN_STALE = gettext_lazy("草稿生成后，%(what)s有了变化，请重新核算后再审定。")
RUN_EMPTY = gettext_lazy("这份草稿没有任何教师，不能审定。")
TERM_NOT_STARTED = gettext_lazy("学期还没有开始，没有可以核算的场次。")
CUT_OFF_OUTSIDE_TERM = gettext_lazy("核算截止日期须在学期之内（%(starts_on)s 至 %(ends_on)s）。")
CUT_OFF_IN_FUTURE = gettext_lazy("核算截止日期不能晚于今天（%(today)s）。")
FUND_NEGATIVE = gettext_lazy("可分配经费为 %(fund)s 元，不能为负数：请检查财政补贴和学校预留。")
FUND_AMOUNT_REQUIRED = gettext_lazy("选择直接录入时，请填写经费总额。")
RATIOS_ALL_ZERO = gettext_lazy("过程性奖励和终结性奖励的比例不能都为 0。")
HOURLY_RATE_REQUIRED = gettext_lazy("按课时计酬时，请填写课时单价。")
HOURLY_RATE_OUT_OF_BAND = gettext_lazy("课时单价 %(rate)s 元不在教育局规定的 %(low)s–%(high)s 元之间。")
POLICY_NO_LONGER_FITS = gettext_lazy("酬金规则与教育局现行标准不符，请先修改酬金规则：%(reason)s")
SURVEY_TEACHER_UNKNOWN = gettext_lazy("%(name)s不是本学期的授课教师。")

APPROVED_TITLE = gettext_lazy("%(term)s课后服务酬金已审定")
APPROVED_BODY = gettext_lazy("请在“我的酬金”中查看金额和每一场次的计算明细。")

POLICY_FIELDS = gather.POLICY_FIELDS


def ensure_term_open(term: Term) -> None:
    """Refuse any change to a term whose payout the principal has approved."""
    if PayoutRun.objects.filter(term=term, status=RunStatus.APPROVED).exists():
        raise ValidationError(RUN_FROZEN, code="frozen")


# Policy ----------------------------------------------------------------------------------------------


@transaction.atomic
def pay_policy_update(*, actor, term: Term, **fields) -> PayPolicy:
    ensure_term_open(term)
    unknown = set(fields) - set(POLICY_FIELDS)
    if unknown:
        raise TypeError(f"unknown policy fields: {sorted(unknown)}")
    # Saved once, so the first history row already names its author (get_or_create would not).
    policy = PayPolicy.objects.select_for_update().filter(term=term).first() or PayPolicy(term=term)
    for name, value in fields.items():
        setattr(policy, name, value)
    if not policy.process_ratio and not policy.terminal_ratio:
        raise ValidationError({"terminal_ratio": RATIOS_ALL_ZERO})
    if policy.model == PayModel.PER_HOUR and policy.hourly_rate is None:
        raise ValidationError({"hourly_rate": HOURLY_RATE_REQUIRED})
    if policy.hourly_rate is not None:
        low, high = gather.hourly_band(term)
        if not low <= policy.hourly_rate <= high:
            raise ValidationError(
                {
                    "hourly_rate": HOURLY_RATE_OUT_OF_BAND
                    % {"rate": policy.hourly_rate, "low": low, "high": high}
                }
            )
    policy.updated_by = actor
    policy._history_user = actor
    policy.save()
    return policy


# Fund ------------------------------------------------------------------------------------------------


@transaction.atomic
def term_fund_update(
    *,
    actor,
    term: Term,
    source: str,
    entered_amount: Decimal | None = None,
    fiscal_subsidy: Decimal = Decimal("0.00"),
    reserve: Decimal = Decimal("0.00"),
    note: str = "",
) -> TermFund:
    ensure_term_open(term)
    if source == FundSource.ENTERED and entered_amount is None:
        raise ValidationError({"entered_amount": FUND_AMOUNT_REQUIRED})
    fund = TermFund.objects.select_for_update().filter(term=term).first() or TermFund(term=term)
    fund.source = source
    fund.entered_amount = entered_amount
    fund.fiscal_subsidy = fiscal_subsidy
    fund.reserve = reserve
    fund.note = note
    fund.updated_by = actor
    fund._history_user = actor
    fund.save()
    return fund


# Survey scores ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreInput:
    teacher: object
    score: Decimal | None  # None: no score for this teacher (an existing one is removed)
    responses: int = 0
    eligible_for_terminal: bool = True


@transaction.atomic
def survey_scores_record(*, actor, term: Term, scores: list[ScoreInput]) -> int:
    """Save the term's scores as typed on the page; returns how many teachers now have one."""
    ensure_term_open(term)
    teachers = {teacher.pk for teacher in selectors.term_teachers(term)}
    for entry in scores:
        if entry.teacher.pk not in teachers:
            raise ValidationError(SURVEY_TEACHER_UNKNOWN % {"name": entry.teacher.display_name})
    existing = {
        entry.teacher_id: entry for entry in SurveyScoreEntry.objects.select_for_update().filter(term=term)
    }
    new, changed = [], []
    for entry in scores:
        current = existing.get(entry.teacher.pk)
        if entry.score is None:
            if current is not None:
                current._history_user = actor
                current.delete()
            continue
        values = (entry.score, entry.responses, entry.eligible_for_terminal)
        if current is None:
            new.append(
                SurveyScoreEntry(
                    term=term,
                    teacher=entry.teacher,
                    score=entry.score,
                    responses=entry.responses,
                    eligible_for_terminal=entry.eligible_for_terminal,
                    entered_by=actor,
                )
            )
        elif (current.score, current.responses, current.eligible_for_terminal) != values:
            current.score, current.responses, current.eligible_for_terminal = values
            current.entered_by = actor
            current.updated_at = timezone.now()  # bulk_update skips auto_now
            changed.append(current)
    if new:
        bulk_create_with_history(new, SurveyScoreEntry, default_user=actor)
    if changed:
        bulk_update_with_history(
            changed,
            SurveyScoreEntry,
            ["score", "responses", "eligible_for_terminal", "entered_by", "updated_at"],
            default_user=actor,
        )
    return SurveyScoreEntry.objects.filter(term=term).count()


# The run ---------------------------------------------------------------------------------------------


def check_cut_off(term: Term, cut_off: datetime.date) -> None:
    today = timezone.localdate()
    if today < term.starts_on:
        raise ValidationError(TERM_NOT_STARTED)
    if not term.starts_on <= cut_off <= term.ends_on:
        raise ValidationError(
            {
                "cut_off": CUT_OFF_OUTSIDE_TERM
                % {"starts_on": term.starts_on.isoformat(), "ends_on": term.ends_on.isoformat()}
            }
        )
    if cut_off > today:
        raise ValidationError({"cut_off": CUT_OFF_IN_FUTURE % {"today": today.isoformat()}})


def compute_preview(term: Term, cut_off: datetime.date, *, progress=None) -> gather.Preview:
    """The calculation a draft would store, with the calculator's and the fund's refusals turned into
    the messages the pages show. Reads only."""
    try:
        return gather.payout_preview(term, cut_off, progress=progress)
    except gather.NegativeFund as error:
        raise ValidationError(FUND_NEGATIVE % {"fund": error.fund}) from error
    except calculator.PolicyError as error:
        raise ValidationError(POLICY_NO_LONGER_FITS % {"reason": _policy_error_text(term, error)}) from error


def _policy_error_text(term: Term, error: calculator.PolicyError) -> str:
    # The calculator's messages are English constants; the pages speak Chinese.
    message = str(error)
    if message == calculator.HOURLY_RATE_REQUIRED:
        return str(HOURLY_RATE_REQUIRED)
    if message == calculator.RATIO_INVALID:
        return str(RATIOS_ALL_ZERO)
    policy = gather.pay_policy(term)
    low, high = gather.hourly_band(term)
    return str(HOURLY_RATE_OUT_OF_BAND % {"rate": policy.hourly_rate, "low": low, "high": high})


def _line(run: PayoutRun, teacher: calculator.TeacherPayout, preview: gather.Preview) -> PayoutLine:
    return PayoutLine(
        run=run,
        teacher_id=teacher.teacher_id,
        teacher_name=preview.teacher_name(teacher.teacher_id)[:50],
        units=teacher.units,
        deducted_units=-sum((d.units for d in teacher.deductions), Decimal(0)),
        process_share=teacher.process_share,
        terminal_share=teacher.terminal_share,
        hourly_pay=teacher.hourly_pay,
        total=teacher.total,
        session_count=len(preview.inputs.session_details.get(teacher.teacher_id, [])),
        deductions=[
            {"date": d.date.isoformat(), "units": str(d.units), "reason": d.reason}
            for d in teacher.deductions
        ],
        explanation=list(teacher.explanation),
        sessions=preview.inputs.session_details.get(teacher.teacher_id, []),
    )


def payout_draft_start(*, actor, term: Term, cut_off: datetime.date | None = None):
    """Check what can be checked at once and start the draft as a job (progress on the job's page)."""
    from aftercare.jobs import job_start

    from .job_kinds import PAYOUT_DRAFT

    ensure_term_open(term)
    check_cut_off(term, cut_off or gather.default_cut_off(term))
    return job_start(
        actor=actor,
        school=term.school,
        kind=PAYOUT_DRAFT,
        params={"term_id": term.pk, "cut_off": cut_off.isoformat() if cut_off else None},
    )


def payout_run_draft(*, actor, term: Term, cut_off: datetime.date | None = None, progress=None) -> PayoutRun:
    """Compute the term's payout and store it as the draft, replacing an earlier draft.

    The records are read before the transaction that stores the draft, so the job's progress is
    visible while they are read. ``drafted_at`` is the moment reading began: a record changed while
    the draft was computed counts as changed since the draft, and approval asks for a re-draft.
    """
    cut_off = cut_off or gather.default_cut_off(term)
    check_cut_off(term, cut_off)
    ensure_term_open(term)
    started_at = timezone.now()
    preview = compute_preview(term, cut_off, progress=progress)
    if progress:
        progress(80, gettext("正在保存酬金表"))
    return _draft_store(actor=actor, term=term, preview=preview, drafted_at=started_at)


def records_corrected(term_id: int) -> None:
    """Called by the services that change what pay is computed from (activity records and their
    ratings, teachers' attendance, ethics breaches, cancelled sessions): once the change commits, a
    draft of that term is computed again. An approved run is never touched; the change is listed on
    it as a correction after approval."""
    from .tasks import redraft_payout_task

    transaction.on_commit(lambda: redraft_payout_task.delay(term_id))


def payout_redraft_after_correction(term_id: int) -> PayoutRun | None:
    """Re-draft the term's draft for its cut-off, in the name of whoever drafted it; nothing when
    there is no draft or the run is approved."""
    run = PayoutRun.objects.select_related("term", "drafted_by").filter(term_id=term_id).first()
    if run is None or run.is_approved or run.drafted_by is None:
        return None
    return payout_run_draft(actor=run.drafted_by, term=run.term, cut_off=run.cut_off)


@transaction.atomic
def _draft_store(*, actor, term: Term, preview: gather.Preview, drafted_at: datetime.datetime) -> PayoutRun:
    # Lock the term's run (creating it is guarded by the one-run-per-term constraint) so a draft and
    # an approval never interleave; the approval may have happened while the records were read.
    run = PayoutRun.objects.select_for_update().filter(term=term).first()
    if run is not None and run.is_approved:
        raise ValidationError(RUN_FROZEN, code="frozen")
    result = preview.result
    if run is None:
        run = PayoutRun(school=term.school, term=term)
    run.status = RunStatus.DRAFT
    run.cut_off = preview.cut_off
    run.model = result.model
    run.policy = gather.policy_snapshot(preview.policy)
    run.fund_basis = preview.basis.as_json()
    run.inputs = preview.inputs.summary()
    run.warnings = preview.warnings
    run.fund = result.fund
    run.process_pool = result.process_pool
    run.terminal_pool = result.terminal_pool
    run.process_undistributed = result.process_undistributed
    run.terminal_undistributed = result.terminal_undistributed
    run.total = sum((teacher.total for teacher in result.teachers), Decimal("0.00"))
    run.teacher_count = len(result.teachers)
    run.session_count = preview.inputs.session_count
    run.drafted_by = actor
    run.drafted_at = drafted_at
    run._history_user = actor
    run.save()
    run.lines.all().delete()
    PayoutLine.objects.bulk_create([_line(run, teacher, preview) for teacher in result.teachers])
    return run


def run_changes_since_draft(run: PayoutRun) -> list[str]:
    """What changed after the draft was computed: records dated in the term, or the pay settings."""
    changed = selectors.settings_changed_since(run.term, run.drafted_at)
    kinds = {correction.what for correction in selectors.corrections_since(run.term, run.drafted_at)}
    return sorted(kinds, key=str) + changed


@transaction.atomic
def payout_run_approve(*, actor, run: PayoutRun) -> PayoutRun:
    """The principal's approval (校长审定): the run is frozen from now on, and each teacher is told."""
    run = PayoutRun.objects.select_for_update().select_related("term").get(pk=run.pk)
    if run.is_approved:
        raise ValidationError(ALREADY_APPROVED, code="approved")
    if run.teacher_count == 0:
        raise ValidationError(RUN_EMPTY)
    changed = run_changes_since_draft(run)
    if changed:
        raise ValidationError(RUN_STALE % {"what": "、".join(str(what) for what in changed)}, code="stale")
    run.status = RunStatus.APPROVED
    run.approved_by = actor
    run.approved_at = timezone.now()
    run._history_user = actor
    run.save(update_fields=["status", "approved_by", "approved_at"])
    notify(
        users=[line.teacher for line in run.lines.select_related("teacher")],
        title=str(APPROVED_TITLE % {"term": run.term.name}),
        body=str(APPROVED_BODY),
        url=reverse("compensation:my-pay"),
        school=run.school,
    )
    return run
