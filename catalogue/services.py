"""Every write to the catalogue: calendar, time bands, providers, offerings, fee standards."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftercare.models import Classroom, Term

from . import calendar_rules
from .fees import cap_violation
from .models import (
    CalendarDate,
    CalendarDateKind,
    CertificateType,
    DistrictPolicy,
    FeeMode,
    FeeStandard,
    Offering,
    OfferingKind,
    OfferingStatus,
    Provider,
    ProviderKind,
    ProviderStaffMember,
    TimeSlot,
    VettingStatus,
)
from .selectors import district_policy, fee_standard, term_calendar

NO_TEACHER = gettext_lazy("请先指定授课教师或机构授课人员。")
NO_SESSIONS = gettext_lazy("按当前校历和上课日，本学期没有一次课，请检查上课日。")
NO_GRADES = gettext_lazy("请选择面向的年级。")
NO_DOMAIN = gettext_lazy("特色课程需要选择所属领域（德、智、体、美、劳）。")
FREE_SCHOOL_FEE = gettext_lazy("学校已声明本学期课后服务全部免费，不能设置收费。")
NOT_DRAFT = gettext_lazy("只有草稿状态的项目可以发布。")


def _stamp(obj, actor) -> None:
    obj._history_user = actor


# Calendar --------------------------------------------------------------------------------------


@transaction.atomic
def term_setup_defaults(*, actor, term: Term) -> None:
    """A new term starts with the seeds' time bands (篇三) and an empty fee standard."""
    if not term.time_slots.exists():
        for rule in calendar_rules.DEFAULT_SLOTS:
            slot = TimeSlot(
                term=term,
                kind=rule.kind,
                season=rule.season,
                grade_from=rule.grade_from,
                grade_to=rule.grade_to,
                starts_at=rule.starts_at,
                ends_at=rule.ends_at,
            )
            _stamp(slot, actor)
            slot.save()
    FeeStandard.objects.get_or_create(term=term)


@transaction.atomic
def calendar_update(
    *,
    actor,
    term: Term,
    service_weekdays: list[int],
    winter_starts_on: date | None,
    winter_ends_on: date | None,
    excluded: list[tuple[date, str]],
    makeup: list[tuple[date, str]],
) -> None:
    outside = [d for d, _reason in excluded + makeup if not term.starts_on <= d <= term.ends_on]
    if outside:
        raise ValidationError(
            _("以下日期不在本学期（%(start)s 至 %(end)s）内：%(dates)s")
            % {"start": term.starts_on, "end": term.ends_on, "dates": "、".join(str(d) for d in outside)}
        )
    both = {d for d, _r in excluded} & {d for d, _r in makeup}
    if both:
        raise ValidationError(
            _("同一天不能既不开展又调休补班：%(dates)s") % {"dates": "、".join(str(d) for d in sorted(both))}
        )
    if not service_weekdays:
        raise ValidationError(_("请至少选择一个服务日。"))
    term.service_weekdays = sorted(set(service_weekdays))
    term.winter_starts_on = winter_starts_on
    term.winter_ends_on = winter_ends_on
    _stamp(term, actor)
    term.save(update_fields=["service_weekdays", "winter_starts_on", "winter_ends_on"])
    wanted = {d: (CalendarDateKind.EXCLUDED, r) for d, r in excluded} | {
        d: (CalendarDateKind.MAKEUP, r) for d, r in makeup
    }
    for row in CalendarDate.objects.filter(term=term):
        if row.date not in wanted:
            _stamp(row, actor)
            row.delete()
        elif (row.kind, row.reason) != wanted[row.date]:
            row.kind, row.reason = wanted.pop(row.date)
            _stamp(row, actor)
            row.save()
        else:
            wanted.pop(row.date)
    for day, (kind, reason) in sorted(wanted.items()):
        row = CalendarDate(term=term, date=day, kind=kind, reason=reason)
        _stamp(row, actor)
        row.save()


@transaction.atomic
def time_slots_replace(*, actor, term: Term, slots: list[dict]) -> None:
    """Replace the term's time bands; overlapping bands for the same time and season are refused."""
    keys = [(s["kind"], s["season"], g) for s in slots for g in range(s["grade_from"], s["grade_to"] + 1)]
    if len(keys) != len(set(keys)):
        raise ValidationError(_("同一时段、同一作息下，年级范围不能重叠。"))
    for slot in slots:
        if slot["starts_at"] >= slot["ends_at"]:
            raise ValidationError(_("开始时间必须早于结束时间。"))
    for old in term.time_slots.all():
        _stamp(old, actor)
        old.delete()
    for data in slots:
        slot = TimeSlot(term=term, **data)
        _stamp(slot, actor)
        slot.save()


# Offerings -------------------------------------------------------------------------------------


def _fee_problems(offering: Offering, *, session_count: int) -> list[str]:
    standard = fee_standard(offering.term)
    if standard.is_free and (offering.fee_mode != FeeMode.FREE or offering.fee_amount):
        return [str(FREE_SCHOOL_FEE)]
    policy = district_policy(offering.school.district)
    cap = policy.course_cap if offering.is_course else policy.basic_care_cap
    problem = cap_violation(
        kind_label=offering.get_kind_display(),
        fee_mode=offering.fee_mode,
        fee_amount=offering.fee_amount,
        session_count=session_count,
        cap=cap,
    )
    return [problem] if problem else []


def _shape_problems(offering: Offering) -> list[str]:
    problems = []
    if offering.is_course and not offering.domain:
        problems.append(str(NO_DOMAIN))
    if offering.is_course and not offering.grades:
        problems.append(str(NO_GRADES))
    return problems


def _save_offering(offering: Offering, *, actor, teachers, provider_staff) -> Offering:
    if offering.fee_mode == FeeMode.FREE:
        offering.fee_amount = Decimal("0.00")
    calendar = term_calendar(offering.term)
    problems = _shape_problems(offering) + _fee_problems(
        offering, session_count=calendar.session_count(offering)
    )
    if problems:
        raise ValidationError(problems)
    _stamp(offering, actor)
    offering.save()
    if teachers is not None:
        offering.teachers.set(teachers)
    if provider_staff is not None:
        offering.provider_staff.set(provider_staff)
    return offering


@transaction.atomic
def offering_create(*, actor, term: Term, teachers=None, provider_staff=None, **fields) -> Offering:
    offering = Offering(school=term.school, term=term, **fields)
    if offering.kind == OfferingKind.BASIC_CARE and offering.classroom is not None:
        offering.grades = [offering.classroom.grade]
    return _save_offering(offering, actor=actor, teachers=teachers, provider_staff=provider_staff)


@transaction.atomic
def offering_update(*, actor, offering: Offering, teachers=None, provider_staff=None, **fields) -> Offering:
    for name, value in fields.items():
        setattr(offering, name, value)
    return _save_offering(offering, actor=actor, teachers=teachers, provider_staff=provider_staff)


def publishing_problems(offering: Offering, *, today: date | None = None) -> list[str]:
    """Everything that stands in the way of publishing, each explained in Chinese."""
    today = today or timezone.localdate()
    problems = _shape_problems(offering)
    provider = offering.provider
    if provider is not None and provider.needs_vetting and provider.vetting_status != VettingStatus.APPROVED:
        problems.append(
            _("机构“%(name)s”的教育局审核状态为“%(status)s”，通过审核后才能发布课程。")
            % {"name": provider.name, "status": provider.get_vetting_status_display()}
        )
    for member in offering.provider_staff.all():
        if member.certificate_type == CertificateType.NONE:
            if provider is not None and provider.kind == ProviderKind.INSTITUTION:
                problems.append(
                    _("授课人员 %(name)s 没有教师资格证或专业技能证书，机构课程不能发布。")
                    % {"name": member.name}
                )
        elif member.certificate_expires_on is not None and member.certificate_expires_on < today:
            problems.append(
                _("授课人员 %(name)s 的%(type)s已于 %(date)s 过期，课程不能发布。")
                % {
                    "name": member.name,
                    "type": member.get_certificate_type_display(),
                    "date": member.certificate_expires_on,
                }
            )
    if not offering.teachers.exists() and not offering.provider_staff.exists():
        problems.append(str(NO_TEACHER))
    session_count = term_calendar(offering.term).session_count(offering)
    if session_count == 0:
        problems.append(str(NO_SESSIONS))
    problems += _fee_problems(offering, session_count=session_count)
    return problems


@transaction.atomic
def offering_publish(*, actor, offering: Offering) -> Offering:
    offering = (
        Offering.objects.select_for_update()
        .select_related("term", "school__district", "provider")
        .get(pk=offering.pk)
    )
    if offering.status != OfferingStatus.DRAFT:
        raise ValidationError(str(NOT_DRAFT))
    problems = publishing_problems(offering)
    if problems:
        raise ValidationError(problems)
    offering.status = OfferingStatus.PUBLISHED
    offering.published_at = timezone.now()
    _stamp(offering, actor)
    offering.save(update_fields=["status", "published_at"])
    return offering


@transaction.atomic
def offering_close(*, actor, offering: Offering) -> Offering:
    offering.status = OfferingStatus.CLOSED
    _stamp(offering, actor)
    offering.save(update_fields=["status"])
    return offering


@transaction.atomic
def basic_care_create_for_all_classes(
    *,
    actor,
    term: Term,
    fee_mode: str = FeeMode.FREE,
    fee_amount: Decimal = Decimal("0.00"),
    capacity: int = 60,
) -> list[Offering]:
    """Basic care (作业辅导) for every class that has none this term, led by its homeroom teacher."""
    existing = set(
        Offering.objects.filter(term=term, kind=OfferingKind.BASIC_CARE).values_list(
            "classroom_id", flat=True
        )
    )
    created = []
    for classroom in Classroom.objects.filter(school=term.school).select_related("homeroom_teacher"):
        if classroom.pk in existing:
            continue
        teachers = [classroom.homeroom_teacher] if classroom.homeroom_teacher else []
        created.append(
            offering_create(
                actor=actor,
                term=term,
                kind=OfferingKind.BASIC_CARE,
                name=_("%(classroom)s 基础托管") % {"classroom": classroom.name},
                description=_("作业辅导与看护，由班主任负责。"),
                classroom=classroom,
                capacity=capacity,
                weekdays=list(term.service_weekdays),
                place=classroom.name,
                fee_mode=fee_mode,
                fee_amount=fee_amount,
                teachers=teachers,
            )
        )
    return created


# Providers -------------------------------------------------------------------------------------


@transaction.atomic
def provider_save(*, actor, school, provider: Provider | None = None, **fields) -> Provider:
    """File a provider with the district. Changing an institution's licence sends it back for vetting."""
    if provider is None:
        provider = Provider(school=school, district=school.district)
    licence_changed = provider.pk is not None and fields.get("licence_number") != provider.licence_number
    for name, value in fields.items():
        setattr(provider, name, value)
    if provider.kind == ProviderKind.PARENT_VOLUNTEER:
        provider.vetting_status = VettingStatus.APPROVED
    elif licence_changed:
        provider.vetting_status = VettingStatus.PENDING
    _stamp(provider, actor)
    provider.save()
    return provider


@transaction.atomic
def provider_staff_save(*, actor, provider: Provider, member: ProviderStaffMember | None = None, **fields):
    member = member or ProviderStaffMember(provider=provider)
    for name, value in fields.items():
        setattr(member, name, value)
    if member.certificate_type != CertificateType.NONE and not member.certificate_number:
        raise ValidationError({"certificate_number": _("请填写证书编号。")})
    _stamp(member, actor)
    member.save()
    return member


@transaction.atomic
def provider_vet(*, actor, provider: Provider, status: str, note: str = "") -> Provider:
    """The district officer approves or suspends an institution; suspension closes nothing already
    running but stops its courses from being published (篇八: poor service loses access)."""
    if status not in VettingStatus.values:
        raise ValidationError(_("未知的审核状态。"))
    provider.vetting_status = status
    provider.vetting_note = note
    provider.vetted_by = actor
    provider.vetted_at = timezone.now()
    _stamp(provider, actor)
    provider.save(update_fields=["vetting_status", "vetting_note", "vetted_by", "vetted_at"])
    return provider


# Fees ------------------------------------------------------------------------------------------


@transaction.atomic
def fee_standard_update(
    *, actor, term: Term, is_free: bool, legal_basis: str, complaint_phone: str, refund_rule: str
) -> FeeStandard:
    """Declaring the term free makes every offering of the term free, with history."""
    standard, _created = FeeStandard.objects.get_or_create(term=term)
    standard.is_free = is_free
    standard.legal_basis = legal_basis
    standard.complaint_phone = complaint_phone
    standard.refund_rule = refund_rule
    _stamp(standard, actor)
    standard.save()
    if is_free:
        for offering in Offering.objects.filter(term=term).exclude(fee_mode=FeeMode.FREE):
            offering.fee_mode = FeeMode.FREE
            offering.fee_amount = Decimal("0.00")
            _stamp(offering, actor)
            offering.save(update_fields=["fee_mode", "fee_amount"])
    return standard


@transaction.atomic
def district_policy_update(*, actor, district, **fields) -> DistrictPolicy:
    policy, _created = DistrictPolicy.objects.get_or_create(district=district)
    for name, value in fields.items():
        setattr(policy, name, value)
    if policy.hourly_pay_min > policy.hourly_pay_max:
        raise ValidationError(_("课时酬金下限不能高于上限。"))
    _stamp(policy, actor)
    policy.save()
    return policy
