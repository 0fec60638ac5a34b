"""Reads that span relations or depend on who asks. Each returns its rows in a constant number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import groupby

from django.db.models import Count, Exists, IntegerField, OuterRef, Prefetch, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import (
    Classroom,
    Guardian,
    InvitationCode,
    School,
    Staff,
    StaffRole,
    Student,
    Term,
)


def current_term(school: School) -> Term | None:
    today = timezone.localdate()
    return (
        Term.objects.filter(school=school, starts_on__lte=today, ends_on__gte=today).first()
        or Term.objects.filter(school=school, starts_on__gt=today).order_by("starts_on").first()
    )


def _joined_guardian():
    return Exists(Guardian.objects.filter(student=OuterRef("pk"), user__isnull=False))


def classrooms_with_counts(school: School, *, only_ids=None):
    students = Q(students__is_active=True)
    joined = Q(students__is_active=True, students__guardians__user__isnull=False)
    queryset = Classroom.objects.filter(school=school).select_related("homeroom_teacher")
    if only_ids is not None:
        queryset = queryset.filter(pk__in=only_ids)
    return queryset.annotate(
        student_count=Count("students", filter=students, distinct=True),
        joined_count=Count("students", filter=joined, distinct=True),
    ).order_by("grade", "number")


def school_counts(school: School) -> dict:
    student_counts = (
        Student.objects.filter(school=school, is_active=True)
        .annotate(has_guardian=_joined_guardian())
        .aggregate(total=Count("pk"), joined=Count("pk", filter=Q(has_guardian=True)))
    )
    classroom_counts = Classroom.objects.filter(school=school).aggregate(
        total=Count("pk"), without_teacher=Count("pk", filter=Q(homeroom_teacher__isnull=True))
    )
    return {
        "students": student_counts["total"],
        "students_joined": student_counts["joined"],
        "students_not_joined": student_counts["total"] - student_counts["joined"],
        "classrooms": classroom_counts["total"],
        "classrooms_without_teacher": classroom_counts["without_teacher"],
        "staff": Staff.objects.filter(school=school, is_active=True).count(),
    }


def classroom_roster(classroom: Classroom):
    open_codes = InvitationCode.objects.filter(used_at__isnull=True, revoked_at__isnull=True)
    return (
        classroom.students.filter(is_active=True)
        .prefetch_related(
            Prefetch("guardians", queryset=Guardian.objects.select_related("user").order_by("pk")),
            Prefetch("invitation_codes", queryset=open_codes, to_attr="open_codes"),
        )
        .order_by("student_number")
    )


def children_of(user):
    return (
        Student.objects.filter(guardians__user=user, is_active=True)
        .select_related("school", "classroom__homeroom_teacher")
        .order_by("school__name", "classroom__grade", "name")
    )


def staff_of(school: School):
    return (
        Staff.objects.filter(school=school)
        .select_related("user")
        .prefetch_related(Prefetch("roles", queryset=StaffRole.objects.order_by("role")))
        .order_by("-is_active", "user__full_name")
    )


def _count_of(queryset):
    """A correlated COUNT subquery: one per school, never a join that multiplies rows."""
    return Coalesce(
        Subquery(
            queryset.order_by().values("school_id").annotate(n=Count("pk")).values("n"),
            output_field=IntegerField(),
        ),
        0,
    )


def district_schools(district_ids):
    school = OuterRef("pk")
    return (
        School.objects.filter(district_id__in=district_ids)
        .select_related("district")
        .annotate(
            student_count=_count_of(Student.objects.filter(school=school, is_active=True)),
            classroom_count=_count_of(Classroom.objects.filter(school=school)),
            staff_count=_count_of(Staff.objects.filter(school=school, is_active=True)),
        )
        .order_by("district__name", "name")
    )


# Audit trail -----------------------------------------------------------------------------------


@dataclass
class AuditEntry:
    when: datetime
    who: str
    what: str
    action: str
    subject: str
    changes: list[tuple[str, str, str]]
    reason: str


ACTIONS = {"+": _("创建"), "~": _("修改"), "-": _("删除")}


def _audited_histories(school: School):
    """(label, history queryset of rows belonging to the school)."""
    school_students = Student.objects.filter(school=school).values("pk")
    school_staff = Staff.objects.filter(school=school).values("pk")
    return [
        (Student._meta.verbose_name, Student.history.filter(school_id=school.pk), [], lambda r: r.name),
        (
            Guardian._meta.verbose_name,
            Guardian.history.filter(student_id__in=school_students),
            ["student"],
            lambda r: f"{r.name} → {r.student.name}",
        ),
        (
            Classroom._meta.verbose_name,
            Classroom.history.filter(school_id=school.pk),
            [],
            lambda r: f"{r.grade}-{r.number}",
        ),
        (
            Staff._meta.verbose_name,
            Staff.history.filter(school_id=school.pk),
            ["user"],
            lambda r: str(r.user),
        ),
        (
            StaffRole._meta.verbose_name,
            StaffRole.history.filter(staff_id__in=school_staff),
            ["staff__user"],
            lambda r: f"{r.staff.user} · {r.get_role_display()}",
        ),
    ]


def audit_entries(school: School, *, limit: int = 100) -> list[AuditEntry]:
    """The latest changes to the school's core records with before/after, in 2 queries per model."""
    entries: list[AuditEntry] = []
    for label, history, related, subject in _audited_histories(school):
        window = list(
            history.select_related("history_user", *related).order_by("-history_date", "-history_id")[:limit]
        )
        if not window:
            continue
        object_ids = {row.id for row in window}
        # Each row's predecessor: the previous version of the same object, fetched in one query.
        earlier = history.model.objects.filter(
            id__in=object_ids, history_date__lte=max(r.history_date for r in window)
        )
        versions = sorted(
            earlier.order_by("id", "history_date", "history_id"),
            key=lambda r: (r.id, r.history_date, r.history_id),
        )
        previous: dict[int, object] = {}
        for _object_id, rows in groupby(versions, key=lambda r: r.id):
            before = None
            for row in rows:
                previous[row.history_id] = before
                before = row
        fields = [f for f in history.model.instance_type._meta.fields if f.name not in {"id"}]
        for row in window:
            before = previous.get(row.history_id)
            changes = []
            for field in fields:
                new = getattr(row, field.attname, None)
                old = getattr(before, field.attname, None) if before is not None else None
                if row.history_type == "~" and old == new:
                    continue
                if row.history_type == "-":
                    continue
                changes.append(
                    (
                        str(field.verbose_name),
                        "" if old is None else str(old),
                        "" if new is None else str(new),
                    )
                )
            entries.append(
                AuditEntry(
                    when=row.history_date,
                    who=str(row.history_user) if row.history_user else str(_("系统")),
                    what=str(label),
                    action=str(ACTIONS.get(row.history_type, row.history_type)),
                    subject=subject(row),
                    changes=changes,
                    reason=row.history_change_reason or "",
                )
            )
    entries.sort(key=lambda e: e.when, reverse=True)
    return entries[:limit]
