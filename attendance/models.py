"""Each day of the service (篇一, 篇三, 篇六, 篇七, 篇九): sessions, roll-call, leave, absence cases,
hand-over, activity records, teachers' attendance, ethics breaches and inspections.

Every row a person writes keeps its history (django-simple-history): who changed what, before and
after. Services save row by row or through ``bulk_*_with_history`` so no change escapes the record.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from aftercare.models import School, Student, Term
from catalogue.models import Offering


class SessionStatus(models.TextChoices):
    PLANNED = "planned", _("正常")
    CANCELLED = "cancelled", _("已取消")


class Session(models.Model):
    """One offering on one service day: prepared from the calendar (``sessions_on``) by the nightly
    task or when a teacher opens the day. The teachers are the offering's."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="sessions")
    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="sessions")
    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="sessions")
    date = models.DateField(_("日期"))
    starts_at = models.TimeField(_("开始时间"), null=True, blank=True)
    ends_at = models.TimeField(_("结束时间"), null=True, blank=True)
    place = models.CharField(_("地点"), max_length=60, blank=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=SessionStatus.choices, default=SessionStatus.PLANNED
    )
    cancel_reason = models.CharField(_("取消原因"), max_length=200, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # Bumped by every roll-call save: a save made from an older version is a conflict.
    roll_version = models.PositiveIntegerField(default=0)
    roll_taken_at = models.DateTimeField(_("点名时间"), null=True, blank=True)
    roll_taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Alerts sent once: roll not taken 15 minutes after the start; children not handed over at the end.
    unmarked_alerted_at = models.DateTimeField(null=True, blank=True)
    handover_alerted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(
        excluded_fields=["roll_version", "unmarked_alerted_at", "handover_alerted_at"]
    )

    class Meta:
        verbose_name = _("课后服务场次")
        verbose_name_plural = _("课后服务场次")
        ordering = ["date", "starts_at", "offering"]
        constraints = [
            models.UniqueConstraint(fields=["offering", "date"], name="one_session_per_offering_and_day"),
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True)
                | Q(ends_at__isnull=True)
                | Q(starts_at__lt=models.F("ends_at")),
                name="session_starts_before_it_ends",
            ),
        ]
        indexes = [models.Index(fields=["school", "date"], name="session_school_date")]

    def __str__(self) -> str:
        return f"{self.offering.name} {self.date:%Y-%m-%d}"

    @property
    def is_cancelled(self) -> bool:
        return self.status == SessionStatus.CANCELLED


class Mark(models.TextChoices):
    PRESENT = "present", _("出勤")
    LATE = "late", _("迟到")
    LEAVE = "leave", _("请假")
    ABSENT = "absent", _("缺勤")


class ChildAttendance(models.Model):
    """A child's mark in one session (点名). Corrections are new history rows, never lost."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="marks")
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="attendance_marks")
    mark = models.CharField(_("考勤"), max_length=10, choices=Mark.choices)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    marked_at = models.DateTimeField(_("点名时间"))

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("学生考勤")
        verbose_name_plural = _("学生考勤")
        ordering = ["session", "student"]
        constraints = [
            models.UniqueConstraint(fields=["session", "student"], name="one_mark_per_child_and_session")
        ]
        indexes = [models.Index(fields=["student", "session"], name="mark_student_session")]

    def __str__(self) -> str:
        return f"{self.student} · {self.session} · {self.get_mark_display()}"


class LeaveKind(models.TextChoices):
    ABSENT = "absent", _("请假（不参加）")
    EARLY_PICKUP = "early_pickup", _("提前接走")


class LeaveStatus(models.TextChoices):
    ACTIVE = "active", _("有效")
    CANCELLED = "cancelled", _("已撤销")


class LeaveRequest(models.Model):
    """A guardian's leave (请假) for a date or a range, or to collect the child early at a time on a
    day. It takes effect when submitted (the school is told, as with a note to the teacher); the
    guardian may withdraw it before the day."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="leave_requests")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="leave_requests")
    kind = models.CharField(_("类型"), max_length=20, choices=LeaveKind.choices, default=LeaveKind.ABSENT)
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"))
    pickup_at = models.TimeField(_("接走时间"), null=True, blank=True)
    reason = models.CharField(_("事由"), max_length=200)
    status = models.CharField(
        _("状态"), max_length=10, choices=LeaveStatus.choices, default=LeaveStatus.ACTIVE
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("请假")
        verbose_name_plural = _("请假")
        ordering = ["-starts_on", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_on__lte=models.F("ends_on")), name="leave_starts_before_it_ends"
            ),
            models.CheckConstraint(
                condition=Q(kind="absent") | Q(pickup_at__isnull=False, starts_on=models.F("ends_on")),
                name="early_pickup_has_one_day_and_a_time",
            ),
        ]
        indexes = [models.Index(fields=["student", "starts_on", "ends_on"], name="leave_student_dates")]

    def __str__(self) -> str:
        return f"{self.student} {self.starts_on}–{self.ends_on}"


class CaseStatus(models.TextChoices):
    OPEN = "open", _("跟踪中")
    CLOSED = "closed", _("已处理")


class CaseOutcome(models.TextChoices):
    REACHED_PARENT = "reached_parent", _("已联系家长")
    CHILD_FOUND = "child_found", _("已找到学生")
    COLLECTED_EARLY = "collected_early", _("家长已提前接走")
    MARKED_WRONGLY = "marked_wrongly", _("点名有误")
    OTHER = "other", _("其他")


class AbsenceCase(models.Model):
    """A child expected but absent without leave (无故脱管): reported and followed up (篇九) until
    someone records what happened."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="absence_cases")
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="absence_cases")
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="absence_cases")
    status = models.CharField(_("状态"), max_length=10, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    opened_at = models.DateTimeField(_("发现时间"))
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    outcome = models.CharField(_("处理结果"), max_length=20, choices=CaseOutcome.choices, blank=True)
    outcome_note = models.CharField(_("处理说明"), max_length=300, blank=True)
    closed_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("脱管跟踪")
        verbose_name_plural = _("脱管跟踪")
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(fields=["session", "student"], name="one_case_per_child_and_session")
        ]
        indexes = [models.Index(fields=["school", "status"], name="case_school_status")]

    def __str__(self) -> str:
        return f"{self.student} · {self.session}"

    @property
    def is_open(self) -> bool:
        return self.status == CaseStatus.OPEN


class PickupArrangement(models.Model):
    """What a child's guardians allow at the end of the day: whether the child may go home alone."""

    student = models.OneToOneField(Student, on_delete=models.CASCADE, related_name="pickup_arrangement")
    may_go_home_alone = models.BooleanField(_("允许自行回家"), default=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("接送安排")
        verbose_name_plural = _("接送安排")

    def __str__(self) -> str:
        return str(self.student)


class PickupPerson(models.Model):
    """Someone the guardians authorise to collect the child, besides the guardians themselves."""

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="pickup_people")
    name = models.CharField(_("姓名"), max_length=50)
    relation = models.CharField(_("关系"), max_length=20)
    phone = models.CharField(_("手机号码"), max_length=11)
    is_active = models.BooleanField(default=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("授权接送人")
        verbose_name_plural = _("授权接送人")
        ordering = ["student", "name"]

    def __str__(self) -> str:
        return f"{self.name}（{self.relation}）"


class HandOver(models.Model):
    """Who collected a child at the end of a session and when, or that the child went home alone
    with the guardians' permission (交接)."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="hand_overs")
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="hand_overs")
    # One of: a guardian, an authorised pick-up person, or nobody (went home alone).
    guardian = models.ForeignKey(
        "aftercare.Guardian", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    pickup_person = models.ForeignKey(
        PickupPerson, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    went_home_alone = models.BooleanField(_("自行回家"), default=False)
    collected_by_name = models.CharField(_("接走人"), max_length=60, blank=True)
    handed_over_at = models.DateTimeField(_("交接时间"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("交接记录")
        verbose_name_plural = _("交接记录")
        ordering = ["session", "student"]
        constraints = [
            models.UniqueConstraint(fields=["session", "student"], name="one_hand_over_per_child_and_session")
        ]

    def __str__(self) -> str:
        return f"{self.student} · {self.collected_by_name or _('自行回家')}"


class RecordRating(models.TextChoices):
    UNRATED = "unrated", _("未评定")
    COMPLETE = "complete", _("完整")
    INCOMPLETE = "incomplete", _("不完整")


class ActivityRecord(models.Model):
    """The session's activity record (活动记录表), rated by an inspector or administrator: complete
    counts 1 workload unit, incomplete 0.5 (篇一)."""

    session = models.OneToOneField(Session, on_delete=models.CASCADE, related_name="activity_record")
    content = models.TextField(_("活动内容"))
    homework_progress = models.TextField(_("作业辅导情况"), blank=True)
    notes = models.TextField(_("备注"), blank=True)
    written_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    written_at = models.DateTimeField(_("填写时间"))
    updated_at = models.DateTimeField(auto_now=True)
    rating = models.CharField(
        _("评定"), max_length=10, choices=RecordRating.choices, default=RecordRating.UNRATED
    )
    rating_note = models.CharField(_("评定意见"), max_length=200, blank=True)
    rated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    rated_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("活动记录")
        verbose_name_plural = _("活动记录")

    def __str__(self) -> str:
        return str(self.session)


def activity_photo_path(instance, filename: str) -> str:
    return f"activity/{instance.record.session.school_id}/{instance.record.session.date:%Y/%m}/{filename}"


class ActivityPhoto(models.Model):
    record = models.ForeignKey(ActivityRecord, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(_("照片"), upload_to=activity_photo_path)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("活动照片")
        verbose_name_plural = _("活动照片")
        ordering = ["uploaded_at"]

    def __str__(self) -> str:
        return self.image.name


class TeacherPresence(models.TextChoices):
    ON_TIME = "on_time", _("准时")
    LATE = "late", _("迟到")
    ABSENT_EXCUSED = "absent_excused", _("请假缺勤")
    ABSENT_UNEXCUSED = "absent_unexcused", _("无故缺勤")


class IncidentKind(models.TextChoices):
    NONE = "", _("无")
    DERELICTION = "dereliction", _("失职")
    SAFETY = "safety", _("安全事故")


class TeacherAttendance(models.Model):
    """An inspector's record of one teacher in one session (篇一: 考勤由专人负责). Feeds pay."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="teacher_attendance")
    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="service_attendance"
    )
    presence = models.CharField(
        _("出勤"), max_length=20, choices=TeacherPresence.choices, default=TeacherPresence.ON_TIME
    )
    late_minutes = models.PositiveSmallIntegerField(_("迟到分钟"), default=0)
    incident = models.CharField(
        _("事故"), max_length=20, choices=IncidentKind.choices, blank=True, default=""
    )
    incident_description = models.CharField(_("事故说明"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    recorded_at = models.DateTimeField(_("记录时间"))

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("教师考勤")
        verbose_name_plural = _("教师考勤")
        ordering = ["session", "teacher"]
        constraints = [
            models.UniqueConstraint(fields=["session", "teacher"], name="one_record_per_teacher_and_session"),
            models.CheckConstraint(
                condition=Q(presence="late", late_minutes__gt=0) | ~Q(presence="late") & Q(late_minutes=0),
                name="late_minutes_only_when_late",
            ),
            models.CheckConstraint(
                condition=Q(incident="") | ~Q(incident_description=""),
                name="incident_has_a_description",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.teacher} · {self.session} · {self.get_presence_display()}"


class EthicsBreach(models.Model):
    """A breach of teachers' ethics (师德失范): that month's after-school pay is forfeited (篇一)."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="ethics_breaches")
    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="ethics_breaches")
    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ethics_breaches"
    )
    date = models.DateField(_("日期"))
    description = models.CharField(_("情况说明"), max_length=300)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    is_withdrawn = models.BooleanField(_("已撤销"), default=False)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("师德失范记录")
        verbose_name_plural = _("师德失范记录")
        ordering = ["-date"]

    def __str__(self) -> str:
        return f"{self.teacher} {self.date}"


class Finding(models.TextChoices):
    VIOLATION = "violation", _("违规行为")
    SLACKNESS = "slackness", _("工作懈怠")
    RECORDS_MISSING = "records_missing", _("记录未填写")


class Inspection(models.Model):
    """A duty leader's round (巡查) through one session: what was found, with optional photos."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="inspections")
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="inspections")
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    inspected_at = models.DateTimeField(_("巡查时间"))
    # A list of ``Finding`` values; empty means all in order.
    findings = models.JSONField(_("发现问题"), default=list, blank=True)
    description = models.TextField(_("情况说明"), blank=True)
    photo = models.ImageField(_("照片"), upload_to="inspections/%Y/%m/", blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("巡查记录")
        verbose_name_plural = _("巡查记录")
        ordering = ["-inspected_at"]

    def __str__(self) -> str:
        return f"{self.session} {self.inspected_at:%H:%M}"

    @property
    def is_in_order(self) -> bool:
        return not self.findings
