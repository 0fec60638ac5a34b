"""Every write of the enrollment flow: apply, sign, class review, principal approval with places
and waiting lists, withdrawal with refunds, waivers and payments.

Places are decided under row locks on the offerings (ordered by pk, one transaction), so two
approvals at once cannot both take the last place.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftercare.models import Student, Term
from aftercare.notifications import notify
from catalogue.fees import term_cost
from catalogue.models import Offering, OfferingKind, OfferingStatus
from catalogue.selectors import district_policy, term_calendar

from .models import (
    AgreementVersion,
    Application,
    ApplicationStatus,
    Choice,
    ChoiceStatus,
    Enrollment,
    Payment,
    Refund,
    Signature,
    WaiverStatus,
)
from .refunds import pro_rata_refund

NOTHING_CHOSEN = gettext_lazy("请至少选择基础托管或一门特色课程。")
NOT_OPEN_TO_CHILD = gettext_lazy("“%(name)s”不面向该学生的年级，或尚未发布。")
NO_BASIC_CARE = gettext_lazy("该班级本学期没有开设基础托管。")
ALREADY_DECIDED = gettext_lazy("报名已进入审核，不能再修改；如需变更请先撤回。")
NOT_WAITING_FOR_CLASS = gettext_lazy("只有待班级审核的报名可以审核。")
NOT_WAITING_FOR_PRINCIPAL = gettext_lazy("只有班级审核通过的报名可以审定。")
RETURN_NEEDS_REASON = gettext_lazy("退回时请写明原因，家长会收到通知。")
REJECT_NEEDS_REASON = gettext_lazy("不通过时请写明原因，家长会收到通知。")
ALREADY_WITHDRAWN = gettext_lazy("报名已撤回。")
CONSENT_REQUIRED = gettext_lazy("请阅读协议并勾选“我已阅读并同意”。")
NAME_REQUIRED = gettext_lazy("请输入监护人姓名作为签名。")
TEXT_CHANGED = gettext_lazy("协议内容已更新，请重新阅读后再签署。")
ALREADY_SIGNED = gettext_lazy("您已签署过这个版本的协议。")
NOT_CURRENT_TERM = gettext_lazy("只能为当前学期收费，不得跨学期收费。")
WAIVER_TOO_HIGH = gettext_lazy("减免金额不能超过应缴金额 %(due)s 元。")
WAIVER_NOT_REQUESTED = gettext_lazy("这份报名没有申请减免。")
WAIVER_ALREADY_DECIDED = gettext_lazy("这份减免申请已经处理过了。")
EFFECTIVE_BEFORE_LATEST = gettext_lazy("新版本的生效日期不能早于第 %(version)s 版的生效日期 %(date)s。")


def _stamp(obj, actor, reason: str = "") -> None:
    obj._history_user = actor
    if reason:
        obj._change_reason = reason


# Agreements ------------------------------------------------------------------------------------


def agreement_text_hash(agreement: AgreementVersion) -> str:
    return hashlib.sha256(f"{agreement.title}\n{agreement.body}".encode()).hexdigest()


def current_agreement(school, today=None) -> AgreementVersion | None:
    today = today or timezone.localdate()
    return (
        AgreementVersion.objects.filter(school=school, effective_from__lte=today).order_by("-version").first()
    )


@transaction.atomic
def agreement_publish(*, actor, school, title: str, body: str, effective_from) -> AgreementVersion:
    """A new version of the agreement (existing versions are never edited)."""
    latest = AgreementVersion.objects.select_for_update().filter(school=school).order_by("-version").first()
    if latest is not None and effective_from < latest.effective_from:
        raise ValidationError(
            str(EFFECTIVE_BEFORE_LATEST) % {"version": latest.version, "date": latest.effective_from}
        )
    return AgreementVersion.objects.create(
        school=school,
        version=(latest.version + 1) if latest else 1,
        title=title,
        body=body,
        effective_from=effective_from,
        created_by=actor,
    )


@transaction.atomic
def agreement_sign(
    *,
    actor,
    application: Application,
    agreement: AgreementVersion,
    typed_name: str,
    consent: bool,
    shown_text_sha256: str,
    ip_address: str | None,
    user_agent: str,
) -> Signature:
    """The guardian signs the version shown to them: we keep the version, a hash of the exact text,
    the name typed, the time, the address and the browser."""
    if not consent:
        raise ValidationError(str(CONSENT_REQUIRED))
    if not typed_name.strip():
        raise ValidationError(str(NAME_REQUIRED))
    if shown_text_sha256 != agreement_text_hash(agreement):
        raise ValidationError(str(TEXT_CHANGED))
    try:
        with transaction.atomic():
            return Signature.objects.create(
                application=application,
                agreement=agreement,
                signer=actor,
                typed_name=typed_name.strip(),
                text_sha256=shown_text_sha256,
                signed_at=timezone.now(),
                ip_address=ip_address,
                user_agent=user_agent[:300],
            )
    except IntegrityError as error:
        raise ValidationError(str(ALREADY_SIGNED)) from error


# Applying --------------------------------------------------------------------------------------


def _validate_choices(student: Student, term: Term, wants_basic_care: bool, course_ids) -> list[Offering]:
    chosen: list[Offering] = []
    if wants_basic_care:
        basic = Offering.objects.filter(
            term=term,
            kind=OfferingKind.BASIC_CARE,
            classroom_id=student.classroom_id,
            status=OfferingStatus.PUBLISHED,
        ).first()
        if basic is None:
            raise ValidationError(str(NO_BASIC_CARE))
        chosen.append(basic)
    courses = {
        o.pk: o
        for o in Offering.objects.filter(
            pk__in=list(course_ids), term=term, kind=OfferingKind.COURSE, status=OfferingStatus.PUBLISHED
        )
    }
    grade = student.classroom.grade
    for course_id in course_ids:
        course = courses.get(int(course_id))
        if course is None or grade not in course.grades:
            name = course.name if course else str(course_id)
            raise ValidationError(str(NOT_OPEN_TO_CHILD) % {"name": name})
        chosen.append(course)
    if not chosen:
        raise ValidationError(str(NOTHING_CHOSEN))
    return chosen


def fee_summary(term: Term, offerings: list[Offering], *, calendar=None, policy=None) -> dict:
    """The term fee of the chosen offerings, per kind, checked against the district's caps.
    Pass the term's calendar and the district's policy when summing many applications."""
    calendar = calendar or term_calendar(term)
    policy = policy or district_policy(term.school.district)
    lines = [(o, term_cost(o.fee_mode, o.fee_amount, calendar.session_count(o))) for o in offerings]
    basic = sum((cost for o, cost in lines if o.kind == OfferingKind.BASIC_CARE), Decimal("0.00"))
    courses = sum((cost for o, cost in lines if o.kind == OfferingKind.COURSE), Decimal("0.00"))
    problems = []
    if basic > policy.basic_care_cap:
        problems.append(
            _("基础托管合计 %(total)s 元，超过每生每学期 %(cap)s 元的上限。")
            % {"total": basic, "cap": policy.basic_care_cap}
        )
    if courses > policy.course_cap:
        problems.append(
            _("特色课程合计 %(total)s 元，超过每生每学期 %(cap)s 元的上限，请减少课程。")
            % {"total": courses, "cap": policy.course_cap}
        )
    return {
        "lines": lines,
        "basic_care": basic,
        "courses": courses,
        "total": basic + courses,
        "problems": problems,
    }


@transaction.atomic
def application_submit(
    *,
    actor,
    student: Student,
    term: Term,
    wants_basic_care: bool,
    course_ids,
    waiver_requested: bool = False,
    waiver_reason: str = "",
) -> Application:
    """Apply, or change the application while it waits for the class review. One per child and
    term: a second submission (double click, second tab) updates the same application."""
    offerings = _validate_choices(student, term, wants_basic_care, course_ids)
    fees = fee_summary(term, offerings)
    if fees["problems"]:
        raise ValidationError(fees["problems"])
    now = timezone.now()
    application = Application.objects.select_for_update().filter(term=term, student=student).first()
    created = application is None
    if created:
        application = Application(
            school=student.school, term=term, student=student, applicant=actor, submitted_at=now
        )
        _stamp(application, actor, "submitted")
        try:
            with transaction.atomic():
                application.save()
        except IntegrityError:
            # Two submissions raced; the other one created it. Lock it and carry on as an edit.
            application, created = (
                Application.objects.select_for_update().get(term=term, student=student),
                False,
            )
    if not created and not application.is_editable:
        raise ValidationError(str(ALREADY_DECIDED))
    application.applicant = actor
    application.wants_basic_care = wants_basic_care
    application.status = ApplicationStatus.SUBMITTED
    application.return_reason = ""
    application.waiver_status = WaiverStatus.PENDING if waiver_requested else WaiverStatus.NONE
    application.waiver_reason = waiver_reason if waiver_requested else ""
    _stamp(application, actor, "submitted" if created else "changed by the family")
    application.save()
    wanted = {o.pk for o in offerings}
    for choice in application.choices.all():
        if choice.offering_id not in wanted:
            _stamp(choice, actor)
            choice.delete()
    existing = set(application.choices.values_list("offering_id", flat=True))
    for offering in offerings:
        if offering.pk not in existing:
            choice = Choice(application=application, offering=offering)
            _stamp(choice, actor)
            choice.save()
    teacher = student.classroom.homeroom_teacher
    if created:
        notify(
            users=[actor],
            school=student.school,
            title=_("已提交%(name)s的课后服务报名") % {"name": student.name},
            body=_("班主任审核、校长审定后会通知您结果。"),
        )
        if teacher is not None:
            notify(
                users=[teacher],
                school=student.school,
                title=_("%(name)s提交了课后服务报名，待您审核") % {"name": student.name},
            )
    return application


# Review ----------------------------------------------------------------------------------------


def _guardian_users(application: Application):
    return [g.user for g in application.student.guardians.select_related("user") if g.user_id]


@transaction.atomic
def application_class_approve(*, actor, application: Application) -> Application:
    application = Application.objects.select_for_update().get(pk=application.pk)
    if application.status != ApplicationStatus.SUBMITTED:
        raise ValidationError(str(NOT_WAITING_FOR_CLASS))
    application.status = ApplicationStatus.CLASS_APPROVED
    application.class_reviewed_by = actor
    application.class_reviewed_at = timezone.now()
    _stamp(application, actor, "class review: approved")
    application.save(update_fields=["status", "class_reviewed_by", "class_reviewed_at"])
    return application


@transaction.atomic
def application_return(*, actor, application: Application, reason: str) -> Application:
    if not reason.strip():
        raise ValidationError(str(RETURN_NEEDS_REASON))
    application = Application.objects.select_for_update().select_related("student").get(pk=application.pk)
    if application.status != ApplicationStatus.SUBMITTED:
        raise ValidationError(str(NOT_WAITING_FOR_CLASS))
    application.status = ApplicationStatus.RETURNED
    application.return_reason = reason.strip()
    application.class_reviewed_by = actor
    application.class_reviewed_at = timezone.now()
    _stamp(application, actor, "class review: returned")
    application.save(update_fields=["status", "return_reason", "class_reviewed_by", "class_reviewed_at"])
    notify(
        users=_guardian_users(application),
        school=application.school,
        title=_("%(name)s的课后服务报名被退回修改") % {"name": application.student.name},
        body=reason.strip(),
    )
    return application


def _active_counts(offering_ids) -> dict[int, int]:
    return dict(
        Enrollment.objects.filter(offering_id__in=offering_ids, left_on__isnull=True)
        .values_list("offering_id")
        .annotate(n=Count("pk"))
        .values_list("offering_id", "n")
    )


def _amounts_due(application: Application, offerings: list[Offering], **loaded) -> dict[int, Decimal]:
    """Each enrollment's term cost, less the granted waiver (basic care first, then courses)."""
    fees = fee_summary(application.term, offerings, **loaded)
    left = application.waiver_amount if application.waiver_status == WaiverStatus.GRANTED else Decimal("0.00")
    due = {}
    for offering, cost in sorted(
        fees["lines"], key=lambda line: (line[0].kind != OfferingKind.BASIC_CARE, line[0].pk)
    ):
        reduction = min(cost, left)
        left -= reduction
        due[offering.pk] = cost - reduction
    return due


@transaction.atomic
def applications_approve(*, actor, applications) -> dict[str, int]:
    """The principal's approval (校长审定), in bulk. Each chosen offering is taken while places
    last, in order of application time; the rest go on the offering's waiting list."""
    ids = [a.pk for a in applications]
    locked = list(
        Application.objects.select_for_update(of=("self",))
        .filter(pk__in=ids, status=ApplicationStatus.CLASS_APPROVED)
        .select_related("student", "term__school__district")
        .order_by("submitted_at", "pk")
    )
    if len(locked) != len(ids):
        raise ValidationError(str(NOT_WAITING_FOR_PRINCIPAL))
    choices = list(
        Choice.objects.filter(application__in=locked, status=ChoiceStatus.REQUESTED).select_related(
            "offering"
        )
    )
    offering_ids = sorted({c.offering_id for c in choices})
    # Lock the offerings in pk order: concurrent approvals queue here instead of overfilling.
    offerings = {
        o.pk: o
        for o in Offering.objects.select_for_update(of=("self",)).filter(pk__in=offering_ids).order_by("pk")
    }
    taken = _active_counts(offering_ids)
    today = timezone.localdate()
    now = timezone.now()
    # One term's calendar and one district's caps serve every application of the batch.
    loaded_by_term = {}
    for application in locked:
        if application.term_id not in loaded_by_term:
            loaded_by_term[application.term_id] = {
                "calendar": term_calendar(application.term),
                "policy": district_policy(application.term.school.district),
            }
    result = {"approved": 0, "enrolled": 0, "waitlisted": 0}
    by_application: dict[int, list[Choice]] = {}
    for choice in choices:
        by_application.setdefault(choice.application_id, []).append(choice)
    for application in locked:
        mine = by_application.get(application.pk, [])
        due = _amounts_due(
            application, [offerings[c.offering_id] for c in mine], **loaded_by_term[application.term_id]
        )
        waitlisted_names = []
        for choice in mine:
            offering = offerings[choice.offering_id]
            if taken.get(offering.pk, 0) < offering.capacity:
                taken[offering.pk] = taken.get(offering.pk, 0) + 1
                enrollment = Enrollment(
                    student=application.student,
                    offering=offering,
                    term=application.term,
                    application=application,
                    joined_on=max(today, application.term.starts_on),
                    amount_due=due[offering.pk],
                )
                _stamp(enrollment, actor, "approved")
                enrollment.save()
                choice.status = ChoiceStatus.ENROLLED
                result["enrolled"] += 1
            else:
                choice.status = ChoiceStatus.WAITLISTED
                choice.waitlisted_at = now
                waitlisted_names.append(offering.name)
                result["waitlisted"] += 1
            _stamp(choice, actor)
            choice.save(update_fields=["status", "waitlisted_at"])
        application.status = ApplicationStatus.APPROVED
        application.decided_by = actor
        application.decided_at = now
        _stamp(application, actor, "principal approved")
        application.save(update_fields=["status", "decided_by", "decided_at"])
        result["approved"] += 1
        body = ""
        if waitlisted_names:
            body = _("名额已满，已进入候补：%(names)s。有名额空出时按报名先后递补，并通知您。") % {
                "names": "、".join(waitlisted_names)
            }
        notify(
            users=_guardian_users(application),
            school=application.school,
            title=_("%(name)s的课后服务报名已通过审定") % {"name": application.student.name},
            body=body,
        )
    return result


@transaction.atomic
def application_reject(*, actor, application: Application, reason: str) -> Application:
    if not reason.strip():
        raise ValidationError(str(REJECT_NEEDS_REASON))
    application = Application.objects.select_for_update().select_related("student").get(pk=application.pk)
    if application.status != ApplicationStatus.CLASS_APPROVED:
        raise ValidationError(str(NOT_WAITING_FOR_PRINCIPAL))
    application.status = ApplicationStatus.REJECTED
    application.reject_reason = reason.strip()
    application.decided_by = actor
    application.decided_at = timezone.now()
    _stamp(application, actor, "principal rejected")
    application.save(update_fields=["status", "reject_reason", "decided_by", "decided_at"])
    notify(
        users=_guardian_users(application),
        school=application.school,
        title=_("%(name)s的课后服务报名未通过") % {"name": application.student.name},
        body=reason.strip(),
    )
    return application


# Withdrawal, refunds and the waiting list -------------------------------------------------------


def _paid_for(enrollment: Enrollment) -> Decimal:
    """What was paid towards this enrollment: its amount due, if the family's payments cover
    everything due for the term; otherwise the paid share of it."""
    due_total = sum(
        Enrollment.objects.filter(student=enrollment.student, term=enrollment.term).values_list(
            "amount_due", flat=True
        ),
        Decimal("0.00"),
    )
    paid_total = sum(
        Payment.objects.filter(student=enrollment.student, term=enrollment.term).values_list(
            "amount", flat=True
        ),
        Decimal("0.00"),
    )
    if due_total <= 0:
        return Decimal("0.00")
    return min(enrollment.amount_due, enrollment.amount_due * min(paid_total, due_total) / due_total)


def refund_for(enrollment: Enrollment, leaving_on, *, by: str = "days"):
    """The refund for leaving on ``leaving_on``: pro rata to the service days (or the offering's
    sessions) after that date."""
    calendar = term_calendar(enrollment.term)
    if by == "sessions":
        held_days = calendar.offering_days(enrollment.offering)
        unit = _("次")
    else:
        held_days = calendar.service_days
        unit = _("个服务日")
    remaining = sum(1 for day in held_days if day > leaving_on)
    return pro_rata_refund(
        _paid_for(enrollment), total_units=len(held_days), remaining_units=remaining, unit_label=unit
    )


def _promote_waitlist(*, actor, offering_id: int) -> Choice | None:
    """The first in line (by application time) takes the freed place, and the family is told."""
    offering = Offering.objects.select_for_update(of=("self",)).select_related("term").get(pk=offering_id)
    if _active_counts([offering.pk]).get(offering.pk, 0) >= offering.capacity:
        return None
    first = (
        Choice.objects.select_for_update(of=("self",))
        .filter(
            offering=offering, status=ChoiceStatus.WAITLISTED, application__status=ApplicationStatus.APPROVED
        )
        .select_related("application__student", "application__term")
        .order_by("application__submitted_at", "application_id")
        .first()
    )
    if first is None:
        return None
    application = first.application
    due = _amounts_due(application, [offering])
    enrollment = Enrollment(
        student=application.student,
        offering=offering,
        term=application.term,
        application=application,
        joined_on=max(timezone.localdate(), application.term.starts_on),
        amount_due=due[offering.pk],
    )
    _stamp(enrollment, actor, "promoted from the waiting list")
    enrollment.save()
    first.status = ChoiceStatus.ENROLLED
    _stamp(first, actor)
    first.save(update_fields=["status"])
    notify(
        users=_guardian_users(application),
        school=offering.school,
        title=_("%(course)s有名额了：%(name)s已从候补转为录取")
        % {"course": offering.name, "name": application.student.name},
        body=_("如不再需要，请在报名页面撤回，名额会让给下一位候补。"),
    )
    return first


@transaction.atomic
def application_withdraw(
    *, actor, application: Application, reason: str = "", by: str = "days"
) -> list[Refund]:
    """The family withdraws at any time. Enrollments end today (never deleted), refunds are
    computed pro rata, and each freed place goes to the first on the waiting list."""
    application = (
        Application.objects.select_for_update().select_related("student", "term").get(pk=application.pk)
    )
    if application.status == ApplicationStatus.WITHDRAWN:
        raise ValidationError(str(ALREADY_WITHDRAWN))
    today = timezone.localdate()
    refunds = []
    freed = []
    for enrollment in application.enrollments.filter(left_on__isnull=True).select_related("offering", "term"):
        calculation = refund_for(enrollment, today, by=by)
        enrollment.left_on = today
        enrollment.leave_reason = reason or _("家长撤回报名")
        _stamp(enrollment, actor, "withdrawn")
        enrollment.save(update_fields=["left_on", "leave_reason"])
        if calculation.amount > 0:
            refunds.append(
                Refund.objects.create(
                    enrollment=enrollment,
                    amount=calculation.amount,
                    basis=calculation.basis,
                    recorded_by=actor,
                )
            )
        freed.append(enrollment.offering_id)
    application.choices.exclude(status=ChoiceStatus.CANCELLED).update(status=ChoiceStatus.CANCELLED)
    application.status = ApplicationStatus.WITHDRAWN
    application.withdrawn_at = timezone.now()
    _stamp(application, actor, "withdrawn")
    application.save(update_fields=["status", "withdrawn_at"])
    for offering_id in sorted(freed):
        _promote_waitlist(actor=actor, offering_id=offering_id)
    if refunds:
        notify(
            users=_guardian_users(application),
            school=application.school,
            title=_("%(name)s退出课后服务，应退 %(amount)s 元")
            % {"name": application.student.name, "amount": sum((r.amount for r in refunds), Decimal("0.00"))},
            body="\n".join(f"{r.enrollment.offering.name}：{r.basis}" for r in refunds),
        )
    return refunds


# Waivers and payments --------------------------------------------------------------------------


@transaction.atomic
def waiver_decide(
    *, actor, application: Application, granted: bool, amount: Decimal = Decimal("0.00")
) -> Application:
    """Finance or the principal decides a family's request for a reduction or waiver (减免)."""
    application = Application.objects.select_for_update().get(pk=application.pk)
    if application.waiver_status == WaiverStatus.NONE:
        raise ValidationError(str(WAIVER_NOT_REQUESTED))
    if application.waiver_status != WaiverStatus.PENDING:
        raise ValidationError(str(WAIVER_ALREADY_DECIDED))
    offerings = [c.offering for c in application.choices.select_related("offering")]
    total = fee_summary(application.term, offerings)["total"]
    if granted and amount > total:
        raise ValidationError(str(WAIVER_TOO_HIGH) % {"due": total})
    application.waiver_status = WaiverStatus.GRANTED if granted else WaiverStatus.REFUSED
    application.waiver_amount = amount if granted else Decimal("0.00")
    application.waiver_decided_by = actor
    _stamp(application, actor, "waiver decided")
    application.save(update_fields=["waiver_status", "waiver_amount", "waiver_decided_by"])
    # Decided after approval: the bill lines of the places already taken follow the decision.
    enrollments = list(application.enrollments.filter(left_on__isnull=True).select_related("offering"))
    if enrollments:
        due = _amounts_due(application, [e.offering for e in enrollments])
        for enrollment in enrollments:
            if enrollment.amount_due != due[enrollment.offering_id]:
                enrollment.amount_due = due[enrollment.offering_id]
                _stamp(enrollment, actor, "waiver decided")
                enrollment.save(update_fields=["amount_due"])
    return application


@transaction.atomic
def payment_record(
    *, actor, student: Student, term: Term, amount: Decimal, method: str, paid_by: str, paid_on, reference=""
):
    """Finance records money received. Fees are charged per term and never for another term (篇八)."""
    today = timezone.localdate()
    if not term.starts_on <= today <= term.ends_on:
        raise ValidationError(str(NOT_CURRENT_TERM))
    payment = Payment(
        school=student.school,
        term=term,
        student=student,
        amount=amount,
        method=method,
        paid_by=paid_by,
        paid_on=paid_on,
        reference=reference,
        recorded_by=actor,
    )
    _stamp(payment, actor)
    payment.save()
    return payment


def waiting_position(choice: Choice) -> int:
    """1 for the first in line."""
    return (
        Choice.objects.filter(offering_id=choice.offering_id, status=ChoiceStatus.WAITLISTED)
        .filter(
            Q(application__submitted_at__lt=choice.application.submitted_at)
            | Q(
                application__submitted_at=choice.application.submitted_at,
                application_id__lt=choice.application_id,
            )
        )
        .count()
        + 1
    )


# Refunds paid back (enrollment/views/school.py) ---------------------------------------------------

REFUND_ALREADY_PAID = gettext_lazy("这笔退费已经退还过了。")


@transaction.atomic
def refund_mark_paid(*, actor, refund: Refund) -> Refund:
    """Finance has given the money back to the family: the refund is marked paid today."""
    refund = Refund.objects.select_for_update().get(pk=refund.pk)
    if refund.paid_on is not None:
        raise ValidationError(str(REFUND_ALREADY_PAID))
    refund.paid_on = timezone.localdate()
    _stamp(refund, actor, "refund paid back")
    refund.save(update_fields=["paid_on"])
    return refund
