"""Supervision of the day's work (篇一, 篇六): the teachers' activity records and their rating, the
teachers' attendance taken by the inspector, breaches of ethics and inspection rounds. These rows
feed the teachers' pay, so every write keeps its history (who, when, and for withdrawals why).

Writes about one session lock the session row first: two inspectors saving the same teacher, or a
teacher and an inspector at the same record, wait for each other instead of both creating a row.
"""

from __future__ import annotations

import io
import uuid
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy
from PIL import Image, ImageOps

from aftercare.models import School, Staff, Term
from compensation.services import records_corrected

from .models import (
    ActivityPhoto,
    ActivityRecord,
    EthicsBreach,
    Finding,
    IncidentKind,
    Inspection,
    RecordRating,
    Session,
    TeacherAttendance,
    TeacherPresence,
)
from .permissions import session_teacher_ids

PHOTO_MAX_BYTES = 5 * 1024 * 1024
PHOTOS_PER_RECORD = 6
# Checked on the content (Pillow), never on the file's name or the browser's content type.
PHOTO_FORMATS = {"JPEG": "jpg", "PNG": "png"}
LATE_MINUTES_MAX = 180

SESSION_CANCELLED = gettext_lazy("这一场次已经取消，不能再记录。")
SESSION_IN_FUTURE = gettext_lazy("这一场次还没有到，当天才能记录。")
CONTENT_REQUIRED = gettext_lazy("请填写活动内容。")
PHOTO_NOT_AN_IMAGE = gettext_lazy("“%(name)s”不是 JPG 或 PNG 图片。")
PHOTO_TOO_LARGE = gettext_lazy("“%(name)s”超过 5 MB，请压缩后再上传。")
TOO_MANY_PHOTOS = gettext_lazy("每份活动记录最多 6 张照片（已有 %(existing)d 张，本次选了 %(added)d 张）。")
RATING_RESET_REASON = gettext_lazy("教师修改了记录，评定改回未评定")
PHOTO_ADDED_REASON = gettext_lazy("添加照片")
PHOTO_REMOVED_REASON = gettext_lazy("删除照片")
NO_RECORD_TO_RATE = gettext_lazy("这一场次还没有活动记录，无法评定。")
RATING_REQUIRED = gettext_lazy("请选择“完整”或“不完整”。")
RATING_NOTE_REQUIRED = gettext_lazy("评为“不完整”时，请写明缺少哪些内容。")
NOT_A_TEACHER_OF_THE_SESSION = gettext_lazy("%(name)s 不是这一场次的授课教师。")
PRESENCE_REQUIRED = gettext_lazy("请选择准时、迟到、请假缺勤或无故缺勤。")
LATE_MINUTES_OUT_OF_RANGE = gettext_lazy("迟到时请填写迟到分钟数（1–180）。")
INCIDENT_UNKNOWN = gettext_lazy("请选择失职或安全事故。")
INCIDENT_DESCRIPTION_REQUIRED = gettext_lazy("记录失职或安全事故时，请写明经过。")
TEACHER_NOT_STAFF = gettext_lazy("%(name)s 不是本校在职教职工。")
DATE_IN_FUTURE = gettext_lazy("日期不能晚于今天。")
DATE_OUTSIDE_TERMS = gettext_lazy("%(date)s 不在本校任何学期内。")
DESCRIPTION_REQUIRED = gettext_lazy("请填写情况说明。")
ALREADY_WITHDRAWN = gettext_lazy("这条记录已经撤销。")
WITHDRAW_REASON_REQUIRED = gettext_lazy("请填写撤销原因，它会留在记录的历史中。")
FINDING_UNKNOWN = gettext_lazy("请从列出的问题中选择。")
FINDING_DESCRIPTION_REQUIRED = gettext_lazy("勾选了发现的问题时，请填写情况说明。")
INSPECTION_ON_ANOTHER_DAY = gettext_lazy("巡查时间应在场次当天（%(date)s）。")
INSPECTION_IN_FUTURE = gettext_lazy("巡查时间不能晚于现在。")


# Shared checks --------------------------------------------------------------------------------


def photo_check(upload) -> str:
    """The file extension for an acceptable photo (JPEG or PNG by content, at most 5 MB); raises
    ``ValidationError`` with the file's name otherwise."""
    name = getattr(upload, "name", "") or ""
    name = name.rsplit("/", 1)[-1]
    if upload.size > PHOTO_MAX_BYTES:
        raise ValidationError(PHOTO_TOO_LARGE % {"name": name})
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            image_format = image.format
            image.verify()
    except Exception as error:  # Pillow raises many kinds (OSError, SyntaxError, ...) for a non-image
        raise ValidationError(PHOTO_NOT_AN_IMAGE % {"name": name}) from error
    finally:
        upload.seek(0)
    if image_format not in PHOTO_FORMATS:
        raise ValidationError(PHOTO_NOT_AN_IMAGE % {"name": name})
    return PHOTO_FORMATS[image_format]


PHOTO_MAX_SIDE = 2000


def _photo_file(upload, extension: str) -> File:
    """The photo re-encoded without its metadata: a phone's EXIF carries where it was taken (a
    school, a child's home) and the device. Turned upright first, and at most 2000 px a side.
    A random name: the uploader's file name may carry a child's name, and is never needed again."""
    upload.seek(0)
    with Image.open(upload) as image:
        image = ImageOps.exif_transpose(image)
        image.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
        buffer = io.BytesIO()
        if extension == "png":
            image.save(buffer, format="PNG", optimize=True)
        else:
            image.convert("RGB").save(buffer, format="JPEG", quality=85)
    buffer.seek(0)
    return File(buffer, name=f"{uuid.uuid4().hex}.{extension}")


def _locked_session(session: Session) -> Session:
    return Session.objects.select_for_update(of=("self",)).select_related("offering").get(pk=session.pk)


def _check_open(session: Session) -> None:
    """Records are kept for held sessions: not for cancelled ones, nor before the day."""
    if session.is_cancelled:
        raise ValidationError(SESSION_CANCELLED)
    if session.date > timezone.localdate():
        raise ValidationError(SESSION_IN_FUTURE)


def _reset_rating(record: ActivityRecord) -> bool:
    """A rated record that changes goes back to unrated: the rating was of the old text."""
    if record.rating == RecordRating.UNRATED:
        return False
    record.rating = RecordRating.UNRATED
    record.rating_note = ""
    record.rated_by = None
    record.rated_at = None
    return True


# Activity records -----------------------------------------------------------------------------


def activity_record_write(
    *, actor, session: Session, content: str, homework_progress: str = "", notes: str = "", photos=()
) -> ActivityRecord:
    """Create or update the session's activity record, with new photos if given (all or nothing).
    Homework progress belongs to basic care; a course's record keeps none."""
    content = (content or "").strip()
    homework_progress = (homework_progress or "").strip()
    notes = (notes or "").strip()
    photos = list(photos)
    errors: dict[str, list] = {}
    if not content:
        errors["content"] = [CONTENT_REQUIRED]
    extensions = []
    for photo in photos:
        try:
            extensions.append(photo_check(photo))
        except ValidationError as error:
            errors.setdefault("photos", []).extend(error.messages)
    with transaction.atomic():
        session = _locked_session(session)
        _check_open(session)
        if session.offering.is_course:
            homework_progress = ""
        record = ActivityRecord.objects.filter(session=session).first()
        existing = record.photos.count() if record is not None else 0
        if photos and existing + len(photos) > PHOTOS_PER_RECORD:
            errors.setdefault("photos", []).append(
                TOO_MANY_PHOTOS % {"existing": existing, "added": len(photos)}
            )
        if errors:
            raise ValidationError(errors)
        if record is None:
            record = ActivityRecord(session=session)
        elif (record.content, record.homework_progress, record.notes) == (
            content,
            homework_progress,
            notes,
        ) and not photos:
            return record  # saved twice: nothing changed, no history row
        elif _reset_rating(record):
            record._change_reason = str(RATING_RESET_REASON)
        record.content = content
        record.homework_progress = homework_progress
        record.notes = notes
        record.written_by = actor
        record.written_at = timezone.now()
        record._history_user = actor
        record.save()
        for photo, extension in zip(photos, extensions, strict=True):
            ActivityPhoto.objects.create(
                record=record, image=_photo_file(photo, extension), uploaded_by=actor
            )
        records_corrected(session.term_id)
    return record


def activity_photo_add(*, actor, record: ActivityRecord, image) -> ActivityPhoto:
    extension = photo_check(image)
    with transaction.atomic():
        session = _locked_session(record.session)
        _check_open(session)
        record = ActivityRecord.objects.select_for_update().get(pk=record.pk)
        existing = record.photos.count()
        if existing >= PHOTOS_PER_RECORD:
            raise ValidationError({"photos": [TOO_MANY_PHOTOS % {"existing": existing, "added": 1}]})
        photo = ActivityPhoto.objects.create(
            record=record, image=_photo_file(image, extension), uploaded_by=actor
        )
        _touch_record(record, actor=actor, reason=PHOTO_ADDED_REASON)
    return photo


def activity_photo_remove(*, actor, photo: ActivityPhoto) -> None:
    with transaction.atomic():
        session = _locked_session(photo.record.session)
        _check_open(session)
        record = ActivityRecord.objects.select_for_update().get(pk=photo.record_id)
        name, storage = photo.image.name, photo.image.storage
        photo.delete()
        _touch_record(record, actor=actor, reason=PHOTO_REMOVED_REASON)
        # The file goes only once the row is surely gone.
        transaction.on_commit(lambda: storage.delete(name))


def _touch_record(record: ActivityRecord, *, actor, reason) -> None:
    """Photos have no history of their own: the record's history says who added or removed one."""
    reasons = [str(reason)]
    if _reset_rating(record):
        reasons.append(str(RATING_RESET_REASON))
    record._change_reason = "；".join(reasons)
    record._history_user = actor
    record.save()


def activity_record_rate(*, actor, record: ActivityRecord, rating: str, note: str = "") -> ActivityRecord:
    """完整 counts one workload unit, 不完整 half a unit (篇一); an incomplete rating says why."""
    note = (note or "").strip()
    if rating not in (RecordRating.COMPLETE, RecordRating.INCOMPLETE):
        raise ValidationError({"rating": [RATING_REQUIRED]})
    if rating == RecordRating.INCOMPLETE and not note:
        raise ValidationError({"note": [RATING_NOTE_REQUIRED]})
    with transaction.atomic():
        session = _locked_session(record.session)
        if session.is_cancelled:
            raise ValidationError(SESSION_CANCELLED)
        record = ActivityRecord.objects.select_for_update().get(pk=record.pk)
        record.rating = rating
        record.rating_note = note
        record.rated_by = actor
        record.rated_at = timezone.now()
        record._history_user = actor
        record.save(update_fields=["rating", "rating_note", "rated_by", "rated_at", "updated_at"])
        records_corrected(session.term_id)
    return record


# Teachers' attendance -------------------------------------------------------------------------


def teacher_attendance_record(
    *,
    actor,
    session: Session,
    teacher,
    presence: str,
    late_minutes: int | None = 0,
    incident: str = "",
    incident_description: str = "",
) -> TeacherAttendance:
    """Create or update one teacher's attendance in one session (篇一: 考勤由专人负责)."""
    incident = incident or ""
    incident_description = (incident_description or "").strip()
    errors: dict[str, list] = {}
    if presence not in TeacherPresence.values:
        errors["presence"] = [PRESENCE_REQUIRED]
    if presence == TeacherPresence.LATE:
        if late_minutes is None or not 1 <= late_minutes <= LATE_MINUTES_MAX:
            errors["late_minutes"] = [LATE_MINUTES_OUT_OF_RANGE]
    else:
        late_minutes = 0  # minutes belong to a late arrival only
    if incident not in IncidentKind.values:
        errors["incident"] = [INCIDENT_UNKNOWN]
    elif incident and not incident_description:
        errors["incident_description"] = [INCIDENT_DESCRIPTION_REQUIRED]
    elif not incident:
        incident_description = ""
    with transaction.atomic():
        session = _locked_session(session)
        _check_open(session)
        if teacher.pk not in session_teacher_ids(session):
            raise ValidationError(NOT_A_TEACHER_OF_THE_SESSION % {"name": teacher.display_name})
        if errors:
            raise ValidationError(errors)
        row = TeacherAttendance.objects.filter(session=session, teacher=teacher).first()
        values = (presence, late_minutes, incident, incident_description)
        if (
            row is not None
            and (row.presence, row.late_minutes, row.incident, row.incident_description) == values
        ):
            return row
        row = row or TeacherAttendance(session=session, teacher=teacher)
        row.presence, row.late_minutes, row.incident, row.incident_description = values
        row.recorded_by = actor
        row.recorded_at = timezone.now()
        row._history_user = actor
        row.save()
        records_corrected(session.term_id)
    return row


# Ethics breaches ------------------------------------------------------------------------------


def ethics_breach_record(*, actor, school: School, teacher, date: date, description: str) -> EthicsBreach:
    """A breach of teachers' ethics (师德失范): that month's after-school pay is forfeited (篇一)."""
    description = (description or "").strip()
    errors: dict[str, list] = {}
    if not description:
        errors["description"] = [DESCRIPTION_REQUIRED]
    term = None
    if date > timezone.localdate():
        errors["date"] = [DATE_IN_FUTURE]
    else:
        term = Term.objects.filter(school=school, starts_on__lte=date, ends_on__gte=date).first()
        if term is None:
            errors["date"] = [DATE_OUTSIDE_TERMS % {"date": date.isoformat()}]
    if not Staff.objects.filter(school=school, user=teacher, is_active=True).exists():
        errors["teacher"] = [TEACHER_NOT_STAFF % {"name": teacher.display_name}]
    if errors:
        raise ValidationError(errors)
    breach = EthicsBreach(
        school=school, term=term, teacher=teacher, date=date, description=description, recorded_by=actor
    )
    with transaction.atomic():
        breach._history_user = actor
        breach.save()
        records_corrected(term.pk)
    return breach


def ethics_breach_withdraw(*, actor, breach: EthicsBreach, reason: str) -> EthicsBreach:
    """Withdrawn, never deleted: the reason stays in the row's history (its change reason)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [WITHDRAW_REASON_REQUIRED]})
    with transaction.atomic():
        breach = EthicsBreach.objects.select_for_update().get(pk=breach.pk)
        if breach.is_withdrawn:
            raise ValidationError(ALREADY_WITHDRAWN)
        breach.is_withdrawn = True
        breach._change_reason = reason
        breach._history_user = actor
        breach.save(update_fields=["is_withdrawn"])
        records_corrected(breach.term_id)
    return breach


# Inspections ----------------------------------------------------------------------------------


def inspection_record(
    *, actor, session: Session, inspected_at: datetime, findings, description: str = "", photo=None
) -> Inspection:
    """A duty leader's round through a session (巡查, 篇六): violations, slackness, records not
    filled in; nothing ticked means all was in order."""
    findings = list(findings or [])
    description = (description or "").strip()
    errors: dict[str, list] = {}
    if any(finding not in Finding.values for finding in findings):
        errors["findings"] = [FINDING_UNKNOWN]
    else:
        findings = [value for value in Finding.values if value in findings]  # the list's order, once each
    if findings and not description:
        errors["description"] = [FINDING_DESCRIPTION_REQUIRED]
    if timezone.localtime(inspected_at).date() != session.date:
        errors["inspected_at"] = [INSPECTION_ON_ANOTHER_DAY % {"date": session.date.isoformat()}]
    elif inspected_at > timezone.now():
        errors["inspected_at"] = [INSPECTION_IN_FUTURE]
    extension = None
    if photo:
        try:
            extension = photo_check(photo)
        except ValidationError as error:
            errors["photo"] = error.messages
    with transaction.atomic():
        session = _locked_session(session)
        if session.is_cancelled:
            raise ValidationError(SESSION_CANCELLED)
        if errors:
            raise ValidationError(errors)
        inspection = Inspection(
            school_id=session.school_id,
            session=session,
            inspector=actor,
            inspected_at=inspected_at,
            findings=findings,
            description=description,
        )
        if extension is not None:
            inspection.photo = _photo_file(photo, extension)
        inspection._history_user = actor
        inspection.save()
    return inspection
