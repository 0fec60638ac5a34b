"""Who may reach the supervision pages (see tests/aftercare/test_url_permissions.py).

The session is 3-1's basic care on TODAY, taught by ``homeroom``. POSTs are sent with no useful
data: an allowed persona is sent back with the error (302) and nothing changes; everyone else gets
403 or 404. School-wide pages act on the user's own school, so school B's principal reaches them
too (with school B's rows)."""

from io import BytesIO

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

from attendance import supervision
from attendance.models import ActivityPhoto, ActivityRecord, Inspection

from .setup import prepared_session

# A fixed file (a 1×1 PNG) under MEDIA_ROOT, written once: the photo rows of these checks point at it.
PHOTO_NAME = "activity/url-table/photo.png"


def _session(world):
    return {"pk": prepared_session(world).pk}


def _teacher_attendance(world):
    return {"pk": prepared_session(world).pk, "teacher_pk": world.users["homeroom"].pk}


def _photo_file() -> str:
    if not default_storage.exists(PHOTO_NAME):
        buffer = BytesIO()
        Image.new("RGB", (1, 1), "white").save(buffer, "PNG")
        default_storage.save(PHOTO_NAME, ContentFile(buffer.getvalue()))
    return PHOTO_NAME


def _record(world):
    session = prepared_session(world)
    return ActivityRecord.objects.create(
        session=session, content="读绘本。", written_by=world.users["homeroom"], written_at=timezone.now()
    )


def _photo(world):
    record = _record(world)
    return {"pk": ActivityPhoto.objects.create(record=record, image=_photo_file()).pk}


def _inspection_photo(world):
    session = prepared_session(world)
    inspection = Inspection.objects.create(
        school=world.school,
        session=session,
        inspector=world.users["inspector"],
        inspected_at=timezone.now(),
        photo=_photo_file(),
    )
    return {"pk": inspection.pk}


def _breach(world):
    breach = supervision.ethics_breach_record(
        actor=world.users["principal"],
        school=world.school,
        teacher=world.users["service_teacher"],
        date=world.school.terms.get().starts_on,
        description="体罚学生",
    )
    return {"pk": breach.pk}


SESSION_VIEWERS = {"homeroom", "inspector", "principal", "admin"}
INSPECTORS = {"inspector", "principal", "admin"}
SCHOOL_INSPECTORS = INSPECTORS | {"far_principal"}
STAFF = {"homeroom", "other_homeroom", "service_teacher", "provider", "finance"} | SCHOOL_INSPECTORS

URL_TABLE = {
    # The session's teacher writes; its viewers (inspectors, leaders) read.
    "attendance:record-edit": ("get", _session, SESSION_VIEWERS),
    "attendance:record-photo": ("get", _photo, SESSION_VIEWERS),
    # The teacher removes the photo (so it is gone when the administrator, who also may, comes next).
    "attendance:record-photo-remove": ("post", _photo, {"homeroom"}),
    "attendance:record-rate": ("post", _session, INSPECTORS),
    "attendance:record-list": ("get", None, SCHOOL_INSPECTORS),
    "attendance:inspection-day": ("get", None, SCHOOL_INSPECTORS),
    "attendance:teacher-attendance-record": ("post", _teacher_attendance, INSPECTORS),
    "attendance:inspection-create": ("get", _session, INSPECTORS),
    "attendance:inspection-list": ("get", None, SCHOOL_INSPECTORS),
    "attendance:inspection-photo": ("get", _inspection_photo, SESSION_VIEWERS),
    # Ethics breaches: the principal and the administrators only.
    "attendance:ethics-list": ("get", None, {"principal", "admin", "far_principal"}),
    "attendance:ethics-withdraw": ("post", _breach, {"principal", "admin"}),
    # Everyone on a school's staff has a record of their own.
    "attendance:my-record": ("get", None, STAFF),
}
