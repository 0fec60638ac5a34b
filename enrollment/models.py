"""Applications for a term's after-school service, signed agreements, review and approval, and the
enrollments, waiting lists, bills, payments and refunds that follow (篇三, 篇六, 篇七, 篇九)."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from aftercare.models import School, Student, Term
from catalogue.models import Offering


class AgreementVersion(models.Model):
    """A version of the school's service agreement (with the safety agreement). Never edited: a
    change is a new version, and a new version needs a new signature."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="agreement_versions")
    version = models.PositiveIntegerField(_("版本"))
    title = models.CharField(_("标题"), max_length=100)
    body = models.TextField(_("协议正文"))
    effective_from = models.DateField(_("生效日期"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("服务协议版本")
        verbose_name_plural = _("服务协议版本")
        ordering = ["school", "-version"]
        constraints = [models.UniqueConstraint(fields=["school", "version"], name="agreement_version_once")]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"


class ApplicationStatus(models.TextChoices):
    SUBMITTED = "submitted", _("待班级审核")
    RETURNED = "returned", _("已退回修改")
    CLASS_APPROVED = "class_approved", _("待校长审定")
    APPROVED = "approved", _("已审定")
    REJECTED = "rejected", _("未通过")
    WITHDRAWN = "withdrawn", _("已撤回")


class WaiverStatus(models.TextChoices):
    NONE = "none", _("未申请")
    PENDING = "pending", _("待审核")
    GRANTED = "granted", _("已批准")
    REFUSED = "refused", _("未批准")


class Application(models.Model):
    """One application per child and term (报名表): basic care and/or courses."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="applications")
    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="applications")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="applications")
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="applications"
    )
    status = models.CharField(
        _("状态"), max_length=20, choices=ApplicationStatus.choices, default=ApplicationStatus.SUBMITTED
    )
    wants_basic_care = models.BooleanField(_("参加基础托管"), default=False)
    waiver_status = models.CharField(
        _("减免申请"), max_length=10, choices=WaiverStatus.choices, default=WaiverStatus.NONE
    )
    waiver_reason = models.TextField(_("减免理由"), blank=True)
    waiver_amount = models.DecimalField(
        _("减免金额（元）"), max_digits=8, decimal_places=2, default=Decimal("0.00")
    )
    waiver_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(_("提交时间"))
    class_reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    class_reviewed_at = models.DateTimeField(null=True, blank=True)
    return_reason = models.CharField(_("退回原因"), max_length=200, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reject_reason = models.CharField(_("未通过原因"), max_length=200, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("报名表")
        verbose_name_plural = _("报名表")
        ordering = ["submitted_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["term", "student"], name="one_application_per_child_and_term"),
            models.CheckConstraint(condition=Q(waiver_amount__gte=0), name="waiver_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.student} · {self.term}"

    @property
    def is_editable(self) -> bool:
        """The family may change the choices until the class review."""
        return self.status in (ApplicationStatus.SUBMITTED, ApplicationStatus.RETURNED)


class ChoiceStatus(models.TextChoices):
    REQUESTED = "requested", _("已申请")
    ENROLLED = "enrolled", _("已录取")
    WAITLISTED = "waitlisted", _("候补中")
    CANCELLED = "cancelled", _("已取消")


class Choice(models.Model):
    """One offering chosen in an application (the class's basic care, or a course)."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="choices")
    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="choices")
    status = models.CharField(
        _("状态"), max_length=12, choices=ChoiceStatus.choices, default=ChoiceStatus.REQUESTED
    )
    # The waiting list is ordered by application time (then id), per offering.
    waitlisted_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("报名项目")
        verbose_name_plural = _("报名项目")
        ordering = ["application", "offering__kind", "offering__name"]
        constraints = [
            models.UniqueConstraint(fields=["application", "offering"], name="choice_once_per_offering")
        ]

    def __str__(self) -> str:
        return f"{self.application} · {self.offering}"


class Signature(models.Model):
    """A guardian's signature of one agreement version for one application. Never changed."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="signatures")
    agreement = models.ForeignKey(AgreementVersion, on_delete=models.PROTECT, related_name="signatures")
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    typed_name = models.CharField(_("签名（监护人姓名）"), max_length=50)
    text_sha256 = models.CharField(max_length=64)
    signed_at = models.DateTimeField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("协议签署")
        verbose_name_plural = _("协议签署")
        ordering = ["-signed_at"]
        constraints = [
            models.UniqueConstraint(fields=["application", "agreement"], name="signature_once_per_version")
        ]

    def __str__(self) -> str:
        return f"{self.typed_name} · {self.agreement}"

    def save(self, *args, **kwargs):
        # A signed agreement is evidence: it is written once and never updated.
        if self.pk is not None and Signature.objects.filter(pk=self.pk).exists():
            raise ValueError("a signature is never changed")
        super().save(*args, **kwargs)


class Enrollment(models.Model):
    """A child in an offering for a term, with its history: joined, left (date, reason). Never deleted."""

    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="enrollments")
    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="enrollments")
    term = models.ForeignKey(Term, on_delete=models.PROTECT, related_name="enrollments")
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="enrollments")
    joined_on = models.DateField(_("加入日期"))
    left_on = models.DateField(_("退出日期"), null=True, blank=True)
    leave_reason = models.CharField(_("退出原因"), max_length=200, blank=True)
    # What the term costs this child for this offering, after any waiver share (a bill line).
    amount_due = models.DecimalField(_("应缴（元）"), max_digits=8, decimal_places=2, default=Decimal("0.00"))

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("在读记录")
        verbose_name_plural = _("在读记录")
        ordering = ["offering", "student"]
        constraints = [
            models.UniqueConstraint(
                fields=["student", "offering"], condition=Q(left_on__isnull=True), name="one_open_enrollment"
            ),
            models.CheckConstraint(condition=Q(amount_due__gte=0), name="amount_due_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.student} · {self.offering}"

    @property
    def is_active(self) -> bool:
        return self.left_on is None


class PaymentMethod(models.TextChoices):
    CASH = "cash", _("现金")
    BANK_TRANSFER = "bank_transfer", _("银行转账")
    SCHOOL_PLATFORM = "school_platform", _("学校缴费平台")


class Payment(models.Model):
    """Money received for a child's term (finance records it; an online provider may later)."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="payments")
    term = models.ForeignKey(Term, on_delete=models.PROTECT, related_name="payments")
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(_("金额（元）"), max_digits=8, decimal_places=2)
    method = models.CharField(_("方式"), max_length=20, choices=PaymentMethod.choices)
    paid_by = models.CharField(_("缴费人"), max_length=50)
    paid_on = models.DateField(_("缴费日期"))
    reference = models.CharField(_("凭证号"), max_length=60, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("缴费")
        verbose_name_plural = _("缴费")
        ordering = ["-paid_on", "-pk"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_positive")]

    def __str__(self) -> str:
        return f"{self.student} {self.amount}"


class Refund(models.Model):
    """Money returned when a child leaves mid-term, pro rata to the service not yet held."""

    enrollment = models.ForeignKey(Enrollment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(_("退费（元）"), max_digits=8, decimal_places=2)
    basis = models.CharField(_("计算依据"), max_length=200)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    paid_on = models.DateField(_("退款日期"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("退费")
        verbose_name_plural = _("退费")
        ordering = ["-recorded_at"]
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0), name="refund_not_negative")]

    def __str__(self) -> str:
        return f"{self.enrollment} −{self.amount}"
