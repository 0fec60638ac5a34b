"""Teachers' pay for a term (篇一, 篇八): the term's policy and fund, the survey scores entered by hand
until the surveys issue lands, and payout runs with one line per teacher.

A run keeps everything it was computed from (policy snapshot, fund basis, each teacher's sessions
and the explanation), so an approved run reads the same whatever happens to the records later.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from aftercare.models import School, Term

from . import calculator

# The seed's values (篇一) are the calculator's defaults; the database starts from the same numbers.
DEFAULT_POLICY = calculator.Policy()


def plain_units(value: Decimal) -> str:
    """Units as people write them: 10, 10.5, 0.25 (not 10.00 or 1E+1)."""
    return format(value.normalize(), "f")


class PayModel(models.TextChoices):
    POOLS = "pools", _("过程性与终结性奖励（按比例分配经费）")
    PER_HOUR = "per_hour", _("按课时计酬")


class LateMode(models.TextChoices):
    DEDUCT = "deduct", _("每迟到一次扣减工作量")
    REPLACE = "replace", _("迟到的场次改计为规定工作量")


def units_field(label, default):
    return models.DecimalField(label, max_digits=5, decimal_places=2, default=default)


class PayPolicy(models.Model):
    """The term's pay rules (篇一 说明3: every number may change with higher documents)."""

    term = models.OneToOneField(Term, on_delete=models.CASCADE, related_name="pay_policy")
    model = models.CharField(_("计酬方式"), max_length=10, choices=PayModel.choices, default=PayModel.POOLS)
    process_ratio = models.PositiveSmallIntegerField(
        _("过程性奖励比例"), default=DEFAULT_POLICY.process_ratio
    )
    terminal_ratio = models.PositiveSmallIntegerField(
        _("终结性奖励比例"), default=DEFAULT_POLICY.terminal_ratio
    )
    complete_record_units = units_field(
        _("活动记录完整的场次（工作量）"), DEFAULT_POLICY.complete_record_units
    )
    incomplete_record_units = units_field(
        _("活动记录不完整的场次（工作量）"), DEFAULT_POLICY.incomplete_record_units
    )
    missing_record_units = units_field(_("没有活动记录的场次（工作量）"), DEFAULT_POLICY.missing_record_units)
    noon_units = units_field(_("午间场次（工作量）"), DEFAULT_POLICY.noon_units)
    late_mode = models.CharField(
        _("迟到的计法"), max_length=10, choices=LateMode.choices, default=LateMode.DEDUCT
    )
    late_deduction_units = units_field(_("每次迟到扣减（工作量）"), DEFAULT_POLICY.late_deduction_units)
    late_replacement_units = units_field(
        _("迟到的场次改计为（工作量）"), DEFAULT_POLICY.late_replacement_units
    )
    ethics_voids_terminal = models.BooleanField(
        _("师德失范同时取消期末奖励"), default=DEFAULT_POLICY.ethics_voids_terminal
    )
    min_survey_responses = models.PositiveIntegerField(
        _("参与期末奖励至少需要的家长问卷份数"), default=DEFAULT_POLICY.min_survey_responses
    )
    hourly_rate = models.DecimalField(
        _("课时单价（元）"), max_digits=6, decimal_places=2, null=True, blank=True
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("酬金规则")
        verbose_name_plural = _("酬金规则")
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    complete_record_units__gte=0,
                    incomplete_record_units__gte=0,
                    missing_record_units__gte=0,
                    noon_units__gte=0,
                    late_deduction_units__gte=0,
                    late_replacement_units__gte=0,
                ),
                name="pay_policy_units_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(process_ratio__gt=0) | Q(terminal_ratio__gt=0),
                name="pay_policy_ratio_not_all_zero",
            ),
            models.CheckConstraint(
                condition=~Q(model="per_hour") | Q(hourly_rate__isnull=False),
                name="pay_policy_per_hour_has_rate",
            ),
        ]

    def __str__(self) -> str:
        return str(self.term)


class FundSource(models.TextChoices):
    ENTERED = "entered", _("直接录入经费总额")
    LEDGER = "ledger", _("按收费台账计算（收费 − 退费 + 财政补贴 − 学校预留）")


def money_field(label, **kwargs):
    return models.DecimalField(label, max_digits=12, decimal_places=2, **kwargs)


class TermFund(models.Model):
    """Where the term's fund comes from (篇一: fees plus fiscal subsidy)."""

    term = models.OneToOneField(Term, on_delete=models.CASCADE, related_name="pay_fund")
    source = models.CharField(
        _("经费来源"), max_length=10, choices=FundSource.choices, default=FundSource.LEDGER
    )
    entered_amount = money_field(_("经费总额（元）"), null=True, blank=True)
    fiscal_subsidy = money_field(_("财政补贴（元）"), default=Decimal("0.00"))
    reserve = money_field(_("学校预留（元）"), default=Decimal("0.00"))
    note = models.CharField(_("说明"), max_length=200, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("酬金经费")
        verbose_name_plural = _("酬金经费")
        constraints = [
            models.CheckConstraint(
                condition=Q(fiscal_subsidy__gte=0, reserve__gte=0)
                & (Q(entered_amount__isnull=True) | Q(entered_amount__gte=0)),
                name="term_fund_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=~Q(source="entered") | Q(entered_amount__isnull=False),
                name="term_fund_entered_has_amount",
            ),
        ]

    def __str__(self) -> str:
        return str(self.term)


class SurveyScoreEntry(models.Model):
    """A teacher's parent-survey score for the term, entered by the administrator until the surveys
    issue fills it; the calculator does not care where it comes from."""

    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="survey_score_entries")
    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("教师"), on_delete=models.PROTECT, related_name="+"
    )
    score = models.DecimalField(_("问卷得分"), max_digits=6, decimal_places=2)
    responses = models.PositiveIntegerField(_("问卷份数"))
    # The school's own judgement (篇一: the praised, innovative, dedicated), on top of the fixed rules.
    eligible_for_terminal = models.BooleanField(_("学校评定可享受期末奖励"), default=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("家长问卷得分")
        verbose_name_plural = _("家长问卷得分")
        ordering = ["term", "teacher"]
        constraints = [
            models.UniqueConstraint(fields=["term", "teacher"], name="one_survey_score_per_teacher_and_term"),
            models.CheckConstraint(condition=Q(score__gte=0), name="survey_score_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.teacher} {self.score}"


class RunStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    APPROVED = "approved", _("已审定")


class PayoutRun(models.Model):
    """The term's payout: drafted (and re-drafted) by the administrator, approved by the principal.
    Approval freezes it: no service changes it afterwards."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="payout_runs")
    term = models.OneToOneField(Term, on_delete=models.PROTECT, related_name="payout_run")
    status = models.CharField(_("状态"), max_length=10, choices=RunStatus.choices, default=RunStatus.DRAFT)
    cut_off = models.DateField(_("核算截止日期"))
    model = models.CharField(_("计酬方式"), max_length=10, choices=PayModel.choices)
    # What the run was computed from, as it was then: amounts and units as strings.
    policy = models.JSONField(_("酬金规则"), default=dict)
    fund_basis = models.JSONField(_("经费来源"), default=dict)
    inputs = models.JSONField(_("核算依据"), default=dict)
    warnings = models.JSONField(_("提醒"), default=list)
    fund = money_field(_("经费（元）"))
    process_pool = money_field(_("过程性奖励池（元）"))
    terminal_pool = money_field(_("终结性奖励池（元）"))
    process_undistributed = money_field(_("过程性奖励未分配（元）"))
    terminal_undistributed = money_field(_("终结性奖励未分配（元）"))
    total = money_field(_("发放合计（元）"))
    teacher_count = models.PositiveIntegerField(_("教师人数"))
    session_count = models.PositiveIntegerField(_("计入场次"))
    drafted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    drafted_at = models.DateTimeField(_("核算时间"))
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(_("审定时间"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("酬金发放表")
        verbose_name_plural = _("酬金发放表")
        ordering = ["-drafted_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="draft", approved_at__isnull=True)
                | Q(status="approved", approved_at__isnull=False),
                name="payout_run_approved_has_time",
            ),
            models.CheckConstraint(
                condition=Q(fund__gte=0, total__gte=0), name="payout_run_amounts_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.term} {self.get_status_display()}"

    @property
    def is_approved(self) -> bool:
        return self.status == RunStatus.APPROVED

    @property
    def undistributed(self) -> Decimal:
        return self.process_undistributed + self.terminal_undistributed


class PayoutLine(models.Model):
    """One teacher's pay in a run. Derived from the run's inputs and replaced whole by a re-draft;
    the run's own history records who drafted it and when."""

    run = models.ForeignKey(PayoutRun, on_delete=models.CASCADE, related_name="lines")
    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payout_lines"
    )
    teacher_name = models.CharField(_("姓名"), max_length=50)
    units = models.DecimalField(_("工作量"), max_digits=10, decimal_places=2)
    deducted_units = models.DecimalField(_("扣减工作量"), max_digits=10, decimal_places=2)
    process_share = money_field(_("过程性奖励（元）"))
    terminal_share = money_field(_("终结性奖励（元）"))
    hourly_pay = money_field(_("课时酬金（元）"))
    total = money_field(_("合计（元）"))
    session_count = models.PositiveIntegerField(_("场次"))
    # [{"date", "units", "reason"}] with units negative, as the calculator gives them.
    deductions = models.JSONField(default=list)
    explanation = models.JSONField(default=list)
    # Every session that counted: [{"session_id", "date", "offering", "kind", "rating", "record",
    # "attendance", "incident"}].
    sessions = models.JSONField(default=list)

    class Meta:
        verbose_name = _("酬金明细")
        verbose_name_plural = _("酬金明细")
        ordering = ["run", "teacher_name", "teacher_id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "teacher"], name="one_payout_line_per_teacher"),
            models.CheckConstraint(
                condition=Q(units__gte=0, deducted_units__gte=0, total__gte=0),
                name="payout_line_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.teacher_name} {self.total}"

    @property
    def units_text(self) -> str:
        return plain_units(self.units)

    @property
    def deducted_units_text(self) -> str:
        return plain_units(self.deducted_units)
