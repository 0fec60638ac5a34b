"""Every write to the school's core records. Each function is atomic and leaves an audit trail."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.utils import update_change_reason

from .models import Guardian, InvitationCode, Relation, School, Staff, StaffRole, Student
from .permissions import forget_access
from .roles import STAFF_ROLES

INVALID_INVITATION_CODE = _("邀请码无效或已被使用，请向班主任索取新的邀请码。")
ALREADY_GUARDIAN = _("您已经是这名学生的监护人。")
USERNAME_TAKEN = _("该用户名已被使用。")
PHONE_TAKEN = _("该手机号码已注册，请直接登录后再输入邀请码。")
UNKNOWN_ROLE = _("未知的角色。")


def normalize_code(code: str) -> str:
    return "".join(code.split()).upper()


@transaction.atomic
def invitation_issue(*, actor, student: Student) -> InvitationCode:
    """A new single-use code for the child; any code still open is revoked (reissue)."""
    now = timezone.now()
    InvitationCode.objects.select_for_update().filter(
        student=student, used_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now)
    return InvitationCode.objects.create(student=student, created_by=actor)


@transaction.atomic
def invitations_ensure_for_classroom(*, actor, classroom) -> list[InvitationCode]:
    """An open code for every active child of the class who has none; existing codes are kept."""
    students = list(classroom.students.filter(is_active=True).order_by("student_number"))
    open_codes = {
        code.student_id: code
        for code in InvitationCode.objects.filter(
            student__in=students, used_at__isnull=True, revoked_at__isnull=True
        )
    }
    missing = [InvitationCode(student=s, created_by=actor) for s in students if s.pk not in open_codes]
    InvitationCode.objects.bulk_create(missing)
    open_codes.update({code.student_id: code for code in missing})
    result = []
    for student in students:
        code = open_codes[student.pk]
        code.student = student  # already loaded: no query per child when the letters are printed
        result.append(code)
    return result


@transaction.atomic
def guardian_join(
    *,
    code: str,
    relation: str,
    user=None,
    username: str = "",
    full_name: str = "",
    phone: str = "",
    password: str = "",
) -> Guardian:
    """A guardian enters a child's invitation code: with a new account (``user`` None) or their own.

    The code is locked so two people typing it at once cannot both use it.
    """
    invitation = (
        InvitationCode.objects.select_for_update()
        .select_related("student")
        .filter(code=normalize_code(code), used_at__isnull=True, revoked_at__isnull=True)
        .first()
    )
    if invitation is None or not invitation.student.is_active:
        raise ValidationError(INVALID_INVITATION_CODE, code="invalid_code")
    if relation not in Relation.values:
        raise ValidationError(_("请选择与学生的关系。"), code="relation")
    student = invitation.student

    if user is None:
        user_model = get_user_model()
        if user_model.objects.filter(username__iexact=username).exists():
            raise ValidationError({"username": USERNAME_TAKEN})
        if phone and user_model.objects.filter(phone=phone).exists():
            raise ValidationError({"phone": PHONE_TAKEN})
        user = user_model(username=username, full_name=full_name, phone=phone or None)
        validate_password(password, user)
        user.set_password(password)
        try:
            user.save()
        except IntegrityError as error:
            raise ValidationError({"username": USERNAME_TAKEN}) from error
    elif Guardian.objects.filter(student=student, user=user).exists():
        raise ValidationError(ALREADY_GUARDIAN, code="already_guardian")

    phone_for_roster = phone or user.phone or ""
    # The roster may already list this guardian by phone: link that row rather than add a second.
    guardian = Guardian.objects.filter(student=student, user__isnull=True, phone=phone_for_roster).first()
    if guardian is None or not phone_for_roster:
        guardian = Guardian(student=student, phone=phone_for_roster, name=user.display_name)
    guardian.user = user
    guardian.relation = relation
    guardian._history_user = user
    guardian._change_reason = "joined with invitation code"
    guardian.save()

    invitation.used_at = timezone.now()
    invitation.used_by = user
    invitation.save(update_fields=["used_at", "used_by"])
    forget_access(user)
    return guardian


def _set_staff_roles(actor, staff: Staff, roles: list[str]) -> None:
    wanted = set(roles)
    if not wanted <= {role.value for role in STAFF_ROLES}:
        raise ValidationError(UNKNOWN_ROLE)
    # Row by row (a handful at most) so every granted and withdrawn role is in the history.
    for staff_role in staff.roles.all():
        if staff_role.role not in wanted:
            staff_role._history_user = actor
            staff_role.delete()
    existing = set(staff.roles.values_list("role", flat=True))
    for role in sorted(wanted - existing):
        staff_role = StaffRole(staff=staff, role=role)
        staff_role._history_user = actor
        staff_role.save()


@transaction.atomic
def staff_create(
    *,
    actor,
    school: School,
    username: str,
    full_name: str,
    phone: str,
    password: str,
    roles: list[str],
    title: str = "",
) -> Staff:
    """The school creates a staff account (staff never sign themselves up)."""
    user_model = get_user_model()
    if user_model.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": USERNAME_TAKEN})
    if phone and user_model.objects.filter(phone=phone).exists():
        raise ValidationError({"phone": _("该手机号码已被其他账户使用。")})
    user = user_model(username=username, full_name=full_name, phone=phone or None)
    validate_password(password, user)
    user.set_password(password)
    user._history_user = actor
    user.save()
    staff = Staff(school=school, user=user, title=title)
    staff._history_user = actor
    staff.save()
    _set_staff_roles(actor, staff, roles)
    return staff


@transaction.atomic
def staff_update(
    *,
    actor,
    staff: Staff,
    full_name: str,
    phone: str,
    title: str,
    roles: list[str],
    is_active: bool,
    new_password: str = "",
):
    user = staff.user
    user_model = get_user_model()
    if phone and user_model.objects.filter(phone=phone).exclude(pk=user.pk).exists():
        raise ValidationError({"phone": _("该手机号码已被其他账户使用。")})
    user.full_name = full_name
    user.phone = phone or None
    update_fields = ["full_name", "phone"]
    if new_password:
        validate_password(new_password, user)
        user.set_password(new_password)
        update_fields.append("password")
    user._history_user = actor
    user.save(update_fields=update_fields)
    staff.title = title
    staff.is_active = is_active
    staff._history_user = actor
    staff.save(update_fields=["title", "is_active"])
    _set_staff_roles(actor, staff, roles)
    update_change_reason(staff, "staff updated")
    return staff
