"""What a school publishes for a term before parents apply: calendar, time bands, providers,
offerings (basic care and featured courses) and fee standards within the district's caps."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from aftercare.models import Classroom, District, School, Term


class Season(models.TextChoices):
    ANY = "any", _("全年")
    SUMMER = "summer", _("夏季作息")
    WINTER = "winter", _("冬季作息")


class SlotKind(models.TextChoices):
    MORNING = "morning", _("早间")
    NOON = "noon", _("午间")
    AFTER_SCHOOL = "after_school", _("课后")


class TimeSlot(models.Model):
    """A named time band of a term, for a range of grades and a season (篇三, 篇七)."""

    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="time_slots")
    kind = models.CharField(_("时段"), max_length=20, choices=SlotKind.choices, default=SlotKind.AFTER_SCHOOL)
    season = models.CharField(_("作息"), max_length=10, choices=Season.choices, default=Season.ANY)
    grade_from = models.PositiveSmallIntegerField(
        _("起始年级"), validators=[MinValueValidator(1), MaxValueValidator(6)]
    )
    grade_to = models.PositiveSmallIntegerField(
        _("结束年级"), validators=[MinValueValidator(1), MaxValueValidator(6)]
    )
    starts_at = models.TimeField(_("开始时间"))
    ends_at = models.TimeField(_("结束时间"))

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("服务时段")
        verbose_name_plural = _("服务时段")
        ordering = ["term", "kind", "season", "grade_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__lt=models.F("ends_at")), name="slot_starts_before_end"
            ),
            models.CheckConstraint(
                condition=Q(grade_from__lte=models.F("grade_to")), name="slot_grades_ordered"
            ),
            models.UniqueConstraint(fields=["term", "kind", "season", "grade_from"], name="slot_unique_band"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.grade_from}-{self.grade_to} {self.starts_at:%H:%M}–{self.ends_at:%H:%M}"


class CalendarDateKind(models.TextChoices):
    EXCLUDED = "excluded", _("不开展（节假日等）")
    MAKEUP = "makeup", _("调休补班（照常开展）")


class CalendarDate(models.Model):
    """A single date that departs from the weekly pattern: a holiday, or a make-up working day."""

    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="calendar_dates")
    date = models.DateField(_("日期"))
    kind = models.CharField(_("类型"), max_length=10, choices=CalendarDateKind.choices)
    reason = models.CharField(_("原因"), max_length=100, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("特殊日期")
        verbose_name_plural = _("特殊日期")
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["term", "date"], name="calendar_date_once_per_term")]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()}"


class DistrictPolicy(models.Model):
    """The district's fee caps per student per term and the band for teachers' hourly pay (篇八)."""

    district = models.OneToOneField(District, on_delete=models.CASCADE, related_name="policy")
    basic_care_cap = models.DecimalField(
        _("基础托管每生每学期上限（元）"), max_digits=8, decimal_places=2, default=Decimal("350.00")
    )
    course_cap = models.DecimalField(
        _("特色课程每生每学期上限（元）"), max_digits=8, decimal_places=2, default=Decimal("600.00")
    )
    hourly_pay_min = models.DecimalField(
        _("课时酬金下限（元）"), max_digits=6, decimal_places=2, default=Decimal("40.00")
    )
    hourly_pay_max = models.DecimalField(
        _("课时酬金上限（元）"), max_digits=6, decimal_places=2, default=Decimal("60.00")
    )
    low_satisfaction_percent = models.DecimalField(
        _("满意度低于此值的课程下学期不再开设（%）"), max_digits=5, decimal_places=2, default=Decimal("60.00")
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("教育局收费与酬金标准")
        verbose_name_plural = _("教育局收费与酬金标准")
        constraints = [
            models.CheckConstraint(
                condition=Q(basic_care_cap__gte=0, course_cap__gte=0), name="caps_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(hourly_pay_min__lte=models.F("hourly_pay_max")), name="pay_band_ordered"
            ),
        ]

    def __str__(self) -> str:
        return str(self.district)


class FeeStandard(models.Model):
    """The school's published fee standard for a term (公示): free, or priced within the caps."""

    term = models.OneToOneField(Term, on_delete=models.CASCADE, related_name="fee_standard")
    is_free = models.BooleanField(_("课后服务全部免费"), default=False)
    legal_basis = models.TextField(_("收费依据"), blank=True)
    complaint_phone = models.CharField(_("投诉电话"), max_length=30, blank=True)
    refund_rule = models.TextField(_("退费办法"), blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("收费标准")
        verbose_name_plural = _("收费标准")

    def __str__(self) -> str:
        return str(self.term)


class ProviderKind(models.TextChoices):
    PARENT_VOLUNTEER = "parent_volunteer", _("家长志愿者")
    INSTITUTION = "institution", _("校外机构")


class VettingStatus(models.TextChoices):
    PENDING = "pending", _("待审核")
    APPROVED = "approved", _("已通过")
    SUSPENDED = "suspended", _("已暂停")


class Provider(models.Model):
    """Someone other than the school who runs courses. Institutions are vetted by the district (篇八)."""

    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="providers")
    school = models.ForeignKey(
        School, on_delete=models.CASCADE, related_name="providers", verbose_name=_("备案学校")
    )
    kind = models.CharField(_("类型"), max_length=20, choices=ProviderKind.choices)
    name = models.CharField(_("名称"), max_length=100)
    licence_number = models.CharField(_("办学许可证/营业执照号"), max_length=60, blank=True)
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
    phone = models.CharField(_("联系电话"), max_length=30, blank=True)
    vetting_status = models.CharField(
        _("审核状态"), max_length=10, choices=VettingStatus.choices, default=VettingStatus.PENDING
    )
    vetting_note = models.CharField(_("审核意见"), max_length=200, blank=True)
    vetted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    vetted_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("服务提供方")
        verbose_name_plural = _("服务提供方")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["school", "name"], name="provider_name_unique_in_school")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def needs_vetting(self) -> bool:
        return self.kind == ProviderKind.INSTITUTION


class CertificateType(models.TextChoices):
    TEACHER = "teacher", _("教师资格证")
    PROFESSIONAL = "professional", _("专业技能证书")
    NONE = "none", _("无（家长志愿者）")


class ProviderStaffMember(models.Model):
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="staff_members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="provider_seats",
    )
    name = models.CharField(_("姓名"), max_length=50)
    certificate_type = models.CharField(_("证书类型"), max_length=20, choices=CertificateType.choices)
    certificate_number = models.CharField(_("证书编号"), max_length=60, blank=True)
    certificate_expires_on = models.DateField(_("证书有效期至"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("机构授课人员")
        verbose_name_plural = _("机构授课人员")
        ordering = ["provider", "name"]

    def __str__(self) -> str:
        return self.name


class Domain(models.TextChoices):
    """Five domains of education (德智体美劳)."""

    MORAL = "moral", _("德")
    INTELLECTUAL = "intellectual", _("智")
    PHYSICAL = "physical", _("体")
    AESTHETIC = "aesthetic", _("美")
    LABOUR = "labour", _("劳")


# Each school offers at least one published course in each of these (篇八).
REQUIRED_DOMAINS = (Domain.PHYSICAL, Domain.AESTHETIC, Domain.LABOUR)


class OfferingKind(models.TextChoices):
    BASIC_CARE = "basic_care", _("基础托管")
    COURSE = "course", _("特色课程")


class FeeMode(models.TextChoices):
    FREE = "free", _("免费")
    PER_SESSION = "per_session", _("按次收费")
    PER_TERM = "per_term", _("按学期收费")


class OfferingStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PUBLISHED = "published", _("已发布")
    CLOSED = "closed", _("已关闭")


class Offering(models.Model):
    """Basic care of one class, or a featured course across classes and grades, in one term."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="offerings")
    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="offerings")
    kind = models.CharField(_("类型"), max_length=20, choices=OfferingKind.choices)
    name = models.CharField(_("名称"), max_length=60)
    description = models.TextField(_("内容介绍"), blank=True)
    domain = models.CharField(_("领域"), max_length=20, choices=Domain.choices, blank=True)
    classroom = models.ForeignKey(
        Classroom,
        verbose_name=_("班级"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="offerings",
    )
    grades = models.JSONField(_("面向年级"), default=list)
    capacity = models.PositiveIntegerField(_("容纳人数"))
    weekdays = models.JSONField(_("上课日"), default=list)
    slot_kind = models.CharField(
        _("时段"), max_length=20, choices=SlotKind.choices, default=SlotKind.AFTER_SCHOOL
    )
    place = models.CharField(_("地点"), max_length=60, blank=True)
    teachers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("授课教师"), blank=True, related_name="taught_offerings"
    )
    provider = models.ForeignKey(
        Provider,
        verbose_name=_("提供方"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="offerings",
        help_text=_("留空表示由本校教师开设"),
    )
    provider_staff = models.ManyToManyField(
        ProviderStaffMember, verbose_name=_("机构授课人员"), blank=True, related_name="offerings"
    )
    fee_mode = models.CharField(_("收费方式"), max_length=20, choices=FeeMode.choices, default=FeeMode.FREE)
    fee_amount = models.DecimalField(
        _("收费金额（元）"), max_digits=8, decimal_places=2, default=Decimal("0.00")
    )
    status = models.CharField(
        _("状态"), max_length=10, choices=OfferingStatus.choices, default=OfferingStatus.DRAFT
    )
    photo = models.ImageField(_("照片"), upload_to="offerings/%Y/", blank=True)
    # Filled by the term-end parent survey (surveys app); drives next term's catalogue (篇八).
    satisfaction_percent = models.DecimalField(
        _("家长满意度（%）"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    published_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords(m2m_fields=[teachers])

    class Meta:
        verbose_name = _("课后服务项目")
        verbose_name_plural = _("课后服务项目")
        ordering = ["term", "kind", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(fee_amount__gte=0), name="offering_fee_not_negative"),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="offering_capacity_positive"),
            models.CheckConstraint(
                condition=~Q(kind="basic_care") | Q(classroom__isnull=False), name="basic_care_has_classroom"
            ),
            models.UniqueConstraint(
                fields=["term", "classroom"],
                condition=Q(kind="basic_care"),
                name="one_basic_care_per_class_and_term",
            ),
            models.UniqueConstraint(
                fields=["term", "name"], condition=Q(kind="course"), name="course_name_unique_in_term"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_course(self) -> bool:
        return self.kind == OfferingKind.COURSE
