import secrets
import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .roles import STAFF_ROLES

phone_validator = RegexValidator(r"^1\d{10}$", _("请输入11位手机号码。"))


class User(AbstractUser):
    full_name = models.CharField(_("姓名"), max_length=50, blank=True)
    phone = models.CharField(
        _("手机号码"), max_length=11, unique=True, null=True, blank=True, validators=[phone_validator]
    )

    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def display_name(self) -> str:
        return self.full_name or self.username


class District(models.Model):
    name = models.CharField(_("名称"), max_length=100, unique=True)
    code = models.SlugField(_("代码"), max_length=30, unique=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("教育局（区县）")
        verbose_name_plural = _("教育局（区县）")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class School(models.Model):
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="schools")
    name = models.CharField(_("名称"), max_length=100)
    code = models.SlugField(_("代码"), max_length=30, unique=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    phone = models.CharField(_("联系电话"), max_length=30, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("学校")
        verbose_name_plural = _("学校")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["district", "name"], name="school_name_unique_in_district")
        ]

    def __str__(self) -> str:
        return self.name


def default_service_weekdays() -> list[int]:
    return [0, 1, 2, 3, 4]


class Term(models.Model):
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="terms")
    name = models.CharField(_("名称"), max_length=60)
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"))
    # The winter timetable (earlier end of day, 篇三) runs from this date to winter_ends_on.
    winter_starts_on = models.DateField(_("冬季作息开始"), null=True, blank=True)
    winter_ends_on = models.DateField(_("冬季作息结束"), null=True, blank=True)
    # Weekdays with service (0 = Monday). A weekly day off, such as Thursday's teacher study (篇七),
    # is a weekday left out; holidays and make-up days are single dates in the catalogue's calendar.
    service_weekdays = models.JSONField(_("服务日"), default=default_service_weekdays)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("学期")
        verbose_name_plural = _("学期")
        ordering = ["-starts_on"]
        constraints = [
            models.UniqueConstraint(fields=["school", "name"], name="term_name_unique_in_school"),
            models.CheckConstraint(
                condition=Q(starts_on__lt=models.F("ends_on")), name="term_starts_before_end"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def is_winter(self, day) -> bool:
        if self.winter_starts_on is None or day < self.winter_starts_on:
            return False
        return self.winter_ends_on is None or day <= self.winter_ends_on


class Grade(models.IntegerChoices):
    ONE = 1, _("一年级")
    TWO = 2, _("二年级")
    THREE = 3, _("三年级")
    FOUR = 4, _("四年级")
    FIVE = 5, _("五年级")
    SIX = 6, _("六年级")


class Classroom(models.Model):
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="classrooms")
    grade = models.PositiveSmallIntegerField(_("年级"), choices=Grade.choices)
    number = models.PositiveSmallIntegerField(
        _("班号"), validators=[MinValueValidator(1), MaxValueValidator(99)]
    )
    homeroom_teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("班主任"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="homeroom_classrooms",
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("班级")
        verbose_name_plural = _("班级")
        ordering = ["school", "grade", "number"]
        constraints = [
            models.UniqueConstraint(fields=["school", "grade", "number"], name="classroom_unique_in_school"),
            models.CheckConstraint(condition=Q(grade__gte=1, grade__lte=6), name="classroom_grade_1_to_6"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return _("%(grade)s（%(number)s）班") % {"grade": self.get_grade_display(), "number": self.number}

    @property
    def short_name(self) -> str:
        return f"{self.grade}-{self.number}"


class Gender(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")


class Student(models.Model):
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="students")
    classroom = models.ForeignKey(
        Classroom, verbose_name=_("班级"), on_delete=models.PROTECT, related_name="students"
    )
    name = models.CharField(_("姓名"), max_length=50)
    student_number = models.CharField(_("学号"), max_length=30)
    gender = models.CharField(_("性别"), max_length=1, choices=Gender.choices)
    is_active = models.BooleanField(_("在读"), default=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("学生")
        verbose_name_plural = _("学生")
        ordering = ["classroom__grade", "classroom__number", "student_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "student_number"], name="student_number_unique_in_school"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Relation(models.TextChoices):
    FATHER = "father", _("父亲")
    MOTHER = "mother", _("母亲")
    GRANDPARENT = "grandparent", _("祖父母/外祖父母")
    OTHER = "other", _("其他监护人")


class Guardian(models.Model):
    """A guardian of one child: from the school's roster, and linked to a user once they join."""

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="guardians")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="guardianships",
    )
    name = models.CharField(_("姓名"), max_length=50)
    relation = models.CharField(_("关系"), max_length=20, choices=Relation.choices)
    phone = models.CharField(_("手机号码"), max_length=11, validators=[phone_validator])

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("监护人")
        verbose_name_plural = _("监护人")
        ordering = ["student", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["student", "user"],
                condition=Q(user__isnull=False),
                name="guardian_user_once_per_student",
            ),
        ]

    def __str__(self) -> str:
        return _("%(name)s（%(relation)s）") % {"name": self.name, "relation": self.get_relation_display()}


INVITATION_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_invitation_code() -> str:
    return "".join(secrets.choice(INVITATION_ALPHABET) for _ in range(8))


class InvitationCode(models.Model):
    """The code printed for a child; a guardian enters it once to join and be linked to the child."""

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="invitation_codes")
    code = models.CharField(_("邀请码"), max_length=16, unique=True, default=new_invitation_code)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("邀请码")
        verbose_name_plural = _("邀请码")
        constraints = [
            models.UniqueConstraint(
                fields=["student"],
                condition=Q(used_at__isnull=True, revoked_at__isnull=True),
                name="one_open_invitation_per_student",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def is_open(self) -> bool:
        return self.used_at is None and self.revoked_at is None


class Staff(models.Model):
    """A person working at a school; what they may do there is in their roles."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="staff")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_records")
    title = models.CharField(_("职务"), max_length=50, blank=True)
    is_active = models.BooleanField(_("在职"), default=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("教职工")
        verbose_name_plural = _("教职工")
        ordering = ["school", "user__full_name"]
        constraints = [models.UniqueConstraint(fields=["school", "user"], name="staff_once_per_school")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.school}"


class StaffRole(models.Model):
    staff = models.ForeignKey(Staff, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(_("角色"), max_length=30, choices=[(r.value, r.label) for r in STAFF_ROLES])

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("教职工角色")
        verbose_name_plural = _("教职工角色")
        constraints = [models.UniqueConstraint(fields=["staff", "role"], name="staff_role_once")]

    def __str__(self) -> str:
        return self.get_role_display()


class CommitteePosition(models.TextChoices):
    CHAIR = "chair", _("主任")
    MEMBER = "member", _("委员")


class CommitteeMember(models.Model):
    """Parent committee of a class: a chair and two members (篇三)."""

    classroom = models.ForeignKey(Classroom, on_delete=models.CASCADE, related_name="committee_members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="committee_seats"
    )
    position = models.CharField(_("职务"), max_length=10, choices=CommitteePosition.choices)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("家委会成员")
        verbose_name_plural = _("家委会成员")
        constraints = [
            models.UniqueConstraint(fields=["classroom", "user"], name="committee_seat_once"),
            models.UniqueConstraint(
                fields=["classroom"], condition=Q(position="chair"), name="committee_one_chair_per_class"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_position_display()})"


class DistrictOfficer(models.Model):
    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="officers")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="district_seats"
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("教育局人员")
        verbose_name_plural = _("教育局人员")
        constraints = [models.UniqueConstraint(fields=["district", "user"], name="district_officer_once")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.district}"


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("进行中")
    SUCCEEDED = "succeeded", _("已完成")
    FAILED = "failed", _("失败")


class Job(models.Model):
    """A long task started from a page. Its state lives here, so a page never waits on the broker."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    school = models.ForeignKey(School, on_delete=models.CASCADE, null=True, blank=True, related_name="jobs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=60)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    message = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    result_file = models.FileField(upload_to="jobs/%Y/%m/", blank=True)
    result_name = models.CharField(max_length=200, blank=True)
    result_url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("后台任务")
        verbose_name_plural = _("后台任务")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "dispatched_at"], name="job_status_dispatched")]
        constraints = [models.CheckConstraint(condition=Q(progress__lte=100), name="job_progress_max_100")]

    def __str__(self) -> str:
        return f"{self.kind} {self.id}"

    @property
    def is_finished(self) -> bool:
        return self.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)


class RosterImportStatus(models.TextChoices):
    CHECKING = "checking", _("检查中")
    INVALID = "invalid", _("有错误")
    VALID = "valid", _("待确认导入")
    IMPORTING = "importing", _("导入中")
    IMPORTED = "imported", _("已导入")
    EXPIRED = "expired", _("已过期（未确认）")


def roster_upload_path(instance, filename: str) -> str:
    # Never the uploaded name: the file lists children and guardians' phones, and may hold passwords.
    return f"roster-imports/{uuid.uuid4().hex}.xlsx"


class RosterImport(models.Model):
    """An uploaded roster workbook: checked into a preview, then imported all at once or not at all.

    The file is kept only while it may still be imported (aftercare/roster_import.py deletes it once
    the import is refused or done); what was found is kept in ``summary`` and ``errors``.
    """

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="roster_imports")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    file = models.FileField(upload_to=roster_upload_path, blank=True)
    original_name = models.CharField(_("文件名"), max_length=200)
    status = models.CharField(
        _("状态"), max_length=10, choices=RosterImportStatus.choices, default=RosterImportStatus.CHECKING
    )
    summary = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)
    error_count = models.PositiveIntegerField(default=0)
    job = models.ForeignKey(Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    imported_at = models.DateTimeField(null=True, blank=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("名单导入")
        verbose_name_plural = _("名单导入")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="imported") | Q(imported_at__isnull=False),
                name="roster_import_imported_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.get_status_display()})"


class Notification(models.Model):
    """An in-app message to one person (also sent by email when they have an address)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    school = models.ForeignKey(School, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    title = models.CharField(_("标题"), max_length=120)
    body = models.TextField(_("内容"), blank=True)
    url = models.CharField(_("链接"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_user_unread")]

    def __str__(self) -> str:
        return self.title
