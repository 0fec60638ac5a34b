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
    # Lock only the offering row: PostgreSQL refuses FOR UPDATE on the nullable side of a join.
    offering = (
        Offering.objects.select_for_update(of=("self",))
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


# Providers: the checks in front of a school's filing and the district's vetting (views/providers.py)

LICENCE_REQUIRED = gettext_lazy("校外机构须填写办学许可证或营业执照号。")
PROVIDER_NAME_TAKEN = gettext_lazy("本校已有同名的服务提供方。")
INSTITUTION_STAYS_INSTITUTION = gettext_lazy(
    "已备案的校外机构不能改为家长志愿者，否则会绕过教育局审核；如确属填错，请另行新建。"
)
VOLUNTEER_NOT_VETTED = gettext_lazy("家长志愿者由学校自行管理，无需教育局审核。")
SUSPENSION_NEEDS_NOTE = gettext_lazy("暂停机构时请填写审核意见，学校会看到原因。")


@transaction.atomic
def provider_file(
    *,
    actor,
    school,
    provider: Provider | None = None,
    kind: str,
    name: str,
    licence_number: str = "",
    contact_name: str = "",
    phone: str = "",
) -> Provider:
    """``provider_save`` behind the checks a filing needs (篇八): an institution states its licence,
    names are unique in the school, and nothing reaches "approved" without the district: an
    institution never turns into a volunteer (volunteers are approved automatically), and a
    volunteer who turns into an institution goes to the district for vetting."""
    errors: dict[str, list[str]] = {}
    if kind == ProviderKind.INSTITUTION and not licence_number.strip():
        errors["licence_number"] = [str(LICENCE_REQUIRED)]
    if provider is not None and provider.kind == ProviderKind.INSTITUTION and kind != provider.kind:
        errors["kind"] = [str(INSTITUTION_STAYS_INSTITUTION)]
    same_name = Provider.objects.filter(school=school, name=name)
    if provider is not None:
        same_name = same_name.exclude(pk=provider.pk)
    if same_name.exists():
        errors["name"] = [str(PROVIDER_NAME_TAKEN)]
    if errors:
        raise ValidationError(errors)
    if provider is not None and not provider.needs_vetting and kind == ProviderKind.INSTITUTION:
        provider.vetting_status = VettingStatus.PENDING
    return provider_save(
        actor=actor,
        school=school,
        provider=provider,
        kind=kind,
        name=name,
        licence_number=licence_number.strip(),
        contact_name=contact_name,
        phone=phone,
    )


@transaction.atomic
def institution_vet(*, actor, provider: Provider, status: str, note: str = "") -> Provider:
    """``provider_vet`` for institutions only (volunteers are the school's own affair); a
    suspension says why, since the school loses the institution's courses (篇八)."""
    if not provider.needs_vetting:
        raise ValidationError(str(VOLUNTEER_NOT_VETTED))
    if status == VettingStatus.SUSPENDED and not note.strip():
        raise ValidationError({"note": [str(SUSPENSION_NEEDS_NOTE)]})
    return provider_vet(actor=actor, provider=provider, status=status, note=note.strip())


# Term set-up pages (catalogue/views/calendar.py) ------------------------------------------------

TERM_DATES_REVERSED = gettext_lazy("学期开始日期必须早于结束日期。")
TERM_NAME_TAKEN = gettext_lazy("本校已有名为“%(name)s”的学期。")
TERM_OVERLAPS = gettext_lazy("日期与本校学期“%(name)s”（%(start)s 至 %(end)s）重叠。")
WINTER_END_WITHOUT_START = gettext_lazy("填写了冬季作息结束日期，请同时填写开始日期。")
WINTER_DATES_REVERSED = gettext_lazy("冬季作息开始日期不能晚于结束日期。")
WINTER_OUTSIDE_TERM = gettext_lazy("冬季作息日期须在学期（%(start)s 至 %(end)s）之内。")
SLOT_GRADES_REVERSED = gettext_lazy("起始年级不能高于结束年级。")
SLOT_TIMES_REVERSED = gettext_lazy("开始时间必须早于结束时间。")


def _winter_problems(
    *, starts_on: date, ends_on: date, winter_starts_on: date | None, winter_ends_on: date | None
) -> dict[str, list[str]]:
    if winter_ends_on is not None and winter_starts_on is None:
        return {"winter_starts_on": [str(WINTER_END_WITHOUT_START)]}
    if winter_starts_on and winter_ends_on and winter_starts_on > winter_ends_on:
        return {"winter_ends_on": [str(WINTER_DATES_REVERSED)]}
    for field_name, day in (("winter_starts_on", winter_starts_on), ("winter_ends_on", winter_ends_on)):
        if day is not None and not starts_on <= day <= ends_on:
            return {field_name: [WINTER_OUTSIDE_TERM % {"start": starts_on, "end": ends_on}]}
    return {}


@transaction.atomic
def term_create(
    *,
    actor,
    school,
    name: str,
    starts_on: date,
    ends_on: date,
    winter_starts_on: date | None = None,
    winter_ends_on: date | None = None,
) -> Term:
    """A new term of the school, with the default time bands and an empty fee standard."""
    from django.core.exceptions import NON_FIELD_ERRORS

    from aftercare.models import School

    # Two administrators creating terms at once would both pass the overlap check.
    School.objects.select_for_update().get(pk=school.pk)
    problems: dict[str, list[str]] = {}
    if Term.objects.filter(school=school, name=name).exists():
        problems["name"] = [TERM_NAME_TAKEN % {"name": name}]
    if starts_on >= ends_on:
        problems["ends_on"] = [str(TERM_DATES_REVERSED)]
    else:
        problems |= _winter_problems(
            starts_on=starts_on,
            ends_on=ends_on,
            winter_starts_on=winter_starts_on,
            winter_ends_on=winter_ends_on,
        )
        overlapping = (
            Term.objects.filter(school=school, starts_on__lte=ends_on, ends_on__gte=starts_on)
            .order_by("starts_on")
            .first()
        )
        if overlapping is not None:
            problems[NON_FIELD_ERRORS] = [
                TERM_OVERLAPS
                % {"name": overlapping.name, "start": overlapping.starts_on, "end": overlapping.ends_on}
            ]
    if problems:
        raise ValidationError(problems)
    term = Term(
        school=school,
        name=name,
        starts_on=starts_on,
        ends_on=ends_on,
        winter_starts_on=winter_starts_on,
        winter_ends_on=winter_ends_on,
    )
    _stamp(term, actor)
    term.save()
    term_setup_defaults(actor=actor, term=term)
    return term


@transaction.atomic
def term_calendar_save(
    *,
    actor,
    term: Term,
    service_weekdays: list[int],
    winter_starts_on: date | None,
    winter_ends_on: date | None,
    excluded: list[tuple[date, str]],
    makeup: list[tuple[date, str]],
    slots: list[dict],
) -> Term:
    """The calendar page's one write: weekly pattern, winter dates, single dates and time bands,
    all saved or none. Every problem of both parts is reported at once."""
    # Locked, and a fresh instance: two administrators saving at once would interleave the
    # delete-and-insert of the bands, and a refused save must not leave the caller's term changed.
    locked = Term.objects.select_for_update().get(pk=term.pk)
    winter = _winter_problems(
        starts_on=locked.starts_on,
        ends_on=locked.ends_on,
        winter_starts_on=winter_starts_on,
        winter_ends_on=winter_ends_on,
    )
    if winter:
        raise ValidationError(winter)
    if any(slot["grade_from"] > slot["grade_to"] for slot in slots):
        raise ValidationError(str(SLOT_GRADES_REVERSED))
    messages: list[str] = []
    steps = (
        lambda: calendar_update(
            actor=actor,
            term=locked,
            service_weekdays=service_weekdays,
            winter_starts_on=winter_starts_on,
            winter_ends_on=winter_ends_on,
            excluded=excluded,
            makeup=makeup,
        ),
        lambda: time_slots_replace(actor=actor, term=locked, slots=slots),
    )
    for step in steps:
        try:
            with transaction.atomic():
                step()
        except ValidationError as error:
            messages.extend(error.messages)
    if messages:
        raise ValidationError(messages)
    return locked
