"""Supervision services: activity records and their photos and rating, teachers' attendance, ethics
breaches and inspections; and the reads that group them (states, findings per teacher and course)."""

from datetime import date, timedelta
from io import BytesIO

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from attendance import supervision
from attendance.models import (
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
from attendance.sessions import session_cancel, sessions_prepare
from attendance.supervision_selectors import RecordState, finding_summary, record_sessions
from tests.factories import UserFactory

from .conftest import TODAY, at

TOMORROW = TODAY + timedelta(days=1)
LAST_FRIDAY = date(2026, 10, 9)


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def image(name="photo.png", kind="PNG", padding=0) -> SimpleUploadedFile:
    buffer = BytesIO()
    Image.new("RGB", (12, 8), "orange").save(buffer, kind)
    return SimpleUploadedFile(name, buffer.getvalue() + b"\0" * padding)


def messages_of(error: ValidationError) -> dict:
    return {field: [str(m) for m in errors] for field, errors in error.value.message_dict.items()}


def write(world, session, **fields):
    values = {"content": "完成数学练习，讲解应用题。", **fields}
    return supervision.activity_record_write(actor=world.users["homeroom"], session=session, **values)


def rated(world, record, rating=RecordRating.COMPLETE, note=""):
    return supervision.activity_record_rate(
        actor=world.users["inspector"], record=record, rating=rating, note=note
    )


# Activity records -----------------------------------------------------------------------------


def test_the_teacher_writes_the_record_of_their_session(world, session):
    record = write(world, session, homework_progress="28 人完成作业", notes="张小明提前接走")

    record.refresh_from_db()
    assert (record.content, record.homework_progress, record.notes) == (
        "完成数学练习，讲解应用题。",
        "28 人完成作业",
        "张小明提前接走",
    )
    assert (record.written_by, record.rating) == (world.users["homeroom"], RecordRating.UNRATED)
    assert [(h.history_type, h.history_user) for h in record.history.all()] == [
        ("+", world.users["homeroom"])
    ]


def test_a_record_needs_content(world, session):
    with pytest.raises(ValidationError) as error:
        write(world, session, content="   ")

    assert messages_of(error) == {"content": ["请填写活动内容。"]}
    assert not ActivityRecord.objects.exists()


def test_no_record_for_a_cancelled_session(world, session):
    session_cancel(actor=world.users["admin"], session=session, reason="暴雨预警")

    with pytest.raises(ValidationError) as error:
        write(world, session)

    assert error.value.messages == ["这一场次已经取消，不能再记录。"]
    assert not ActivityRecord.objects.exists()


def test_no_record_before_the_day(world, enrolled, basic_care):
    sessions_prepare(school=world.school, day=TOMORROW)
    tomorrow = Session.objects.get(offering=basic_care, date=TOMORROW)

    with pytest.raises(ValidationError) as error:
        write(world, tomorrow)

    assert error.value.messages == ["这一场次还没有到，当天才能记录。"]
    assert not ActivityRecord.objects.exists()


def test_a_course_record_keeps_no_homework_progress(world, football_session):
    record = supervision.activity_record_write(
        actor=world.users["service_teacher"],
        session=football_session,
        content="传球练习",
        homework_progress="不适用",
    )

    record.refresh_from_db()
    assert (record.content, record.homework_progress) == ("传球练习", "")


def test_editing_a_rated_record_sets_it_back_to_unrated(world, session):
    record = rated(world, write(world, session), RecordRating.INCOMPLETE, note="缺少作业情况")

    write(world, session, homework_progress="全部完成")

    record.refresh_from_db()
    assert (record.rating, record.rating_note, record.rated_by, record.rated_at) == (
        RecordRating.UNRATED,
        "",
        None,
        None,
    )
    latest = record.history.latest("history_date")
    assert (latest.history_user, latest.history_change_reason, latest.rating) == (
        world.users["homeroom"],
        "教师修改了记录，评定改回未评定",
        RecordRating.UNRATED,
    )


def test_saving_the_same_text_again_keeps_the_rating_and_adds_no_history(world, session):
    record = rated(world, write(world, session))
    rows = record.history.count()

    write(world, session)

    record.refresh_from_db()
    assert record.rating == RecordRating.COMPLETE
    assert record.history.count() == rows


# Photos ---------------------------------------------------------------------------------------


def test_jpeg_and_png_photos_are_kept_under_a_random_name(world, session):
    record = write(world, session, photos=[image("张小明.png"), image("b.jpg", "JPEG")])

    names = [photo.image.name for photo in record.photos.all()]
    assert len(names) == 2
    assert all(name.startswith(f"activity/{world.school.pk}/2026/10/") for name in names)
    assert [name.rsplit(".", 1)[1] for name in names] == ["png", "jpg"]
    assert "张小明" not in "".join(names)
    with record.photos.first().image.open("rb") as stored:
        assert Image.open(stored).format == "PNG"


def test_a_photo_loses_its_location_and_device_data_and_stands_upright(world, session):
    exif = Image.Exif()
    exif[0x0110] = "Phone 15"  # Model
    exif[0x0112] = 6  # Orientation: rotate 90° to show upright
    exif[0x8825] = {1: "N", 2: (22.0, 32.0, 0.0)}  # GPS
    buffer = BytesIO()
    Image.new("RGB", (40, 20), "red").save(buffer, format="JPEG", exif=exif)
    upload = SimpleUploadedFile("IMG_0001.jpg", buffer.getvalue(), content_type="image/jpeg")

    record = write(world, session, photos=[upload])

    with record.photos.get().image.open("rb") as stored:
        kept = Image.open(stored)
        assert kept.getexif() == {}
        assert kept.size == (20, 40)


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (image("动画.gif", "GIF"), "“动画.gif”不是 JPG 或 PNG 图片。"),
        (SimpleUploadedFile("假照片.jpg", b"not an image at all"), "“假照片.jpg”不是 JPG 或 PNG 图片。"),
        (image("大照片.png", padding=5 * 1024 * 1024), "“大照片.png”超过 5 MB，请压缩后再上传。"),
    ],
    ids=["gif", "text-named-jpg", "over-5-mb"],
)
def test_photos_are_checked_by_content_and_size(world, session, upload, message):
    with pytest.raises(ValidationError) as error:
        write(world, session, photos=[upload])

    assert messages_of(error) == {"photos": [message]}
    assert not ActivityRecord.objects.exists()
    assert not ActivityPhoto.objects.exists()


def test_a_record_holds_at_most_six_photos(world, session):
    record = write(world, session, photos=[image(f"{n}.png") for n in range(5)])

    with pytest.raises(ValidationError) as error:
        write(world, session, photos=[image("6.png"), image("7.png")])
    assert messages_of(error) == {"photos": ["每份活动记录最多 6 张照片（已有 5 张，本次选了 2 张）。"]}

    supervision.activity_photo_add(actor=world.users["homeroom"], record=record, image=image("6.png"))
    with pytest.raises(ValidationError) as error:
        supervision.activity_photo_add(actor=world.users["homeroom"], record=record, image=image("7.png"))
    assert messages_of(error) == {"photos": ["每份活动记录最多 6 张照片（已有 6 张，本次选了 1 张）。"]}
    assert record.photos.count() == 6


def test_removing_a_photo_deletes_its_file_and_says_so_in_the_history(
    world, session, django_capture_on_commit_callbacks
):
    record = rated(world, write(world, session, photos=[image()]))
    photo = record.photos.get()
    storage, name = photo.image.storage, photo.image.name

    with django_capture_on_commit_callbacks(execute=True):
        supervision.activity_photo_remove(actor=world.users["homeroom"], photo=photo)

    assert not ActivityPhoto.objects.exists()
    assert not storage.exists(name)
    record.refresh_from_db()
    assert record.rating == RecordRating.UNRATED
    latest = record.history.latest("history_date")
    assert (latest.history_user, latest.history_change_reason) == (
        world.users["homeroom"],
        "删除照片；教师修改了记录，评定改回未评定",
    )


# Rating ---------------------------------------------------------------------------------------


def test_the_inspector_rates_a_record(world, session):
    record = rated(world, write(world, session), RecordRating.INCOMPLETE, note="没有写作业情况")

    record.refresh_from_db()
    assert (record.rating, record.rating_note, record.rated_by) == (
        RecordRating.INCOMPLETE,
        "没有写作业情况",
        world.users["inspector"],
    )
    assert record.history.latest("history_date").history_user == world.users["inspector"]


@pytest.mark.parametrize(
    ("rating", "note", "expected"),
    [
        (RecordRating.INCOMPLETE, " ", {"note": ["评为“不完整”时，请写明缺少哪些内容。"]}),
        (RecordRating.UNRATED, "", {"rating": ["请选择“完整”或“不完整”。"]}),
        ("excellent", "", {"rating": ["请选择“完整”或“不完整”。"]}),
    ],
)
def test_a_rating_is_complete_or_incomplete_with_a_reason(world, session, rating, note, expected):
    record = write(world, session)

    with pytest.raises(ValidationError) as error:
        rated(world, record, rating, note)

    assert messages_of(error) == expected
    record.refresh_from_db()
    assert (record.rating, record.rated_by) == (RecordRating.UNRATED, None)


# Teachers' attendance -------------------------------------------------------------------------


def mark(world, session, teacher="homeroom", **fields):
    return supervision.teacher_attendance_record(
        actor=world.users["inspector"], session=session, teacher=world.users[teacher], **fields
    )


def test_the_inspector_marks_the_homeroom_teacher_late(world, session):
    row = mark(world, session, presence=TeacherPresence.LATE, late_minutes=10)

    row = TeacherAttendance.objects.get(session=session, teacher=world.users["homeroom"])
    assert (row.presence, row.late_minutes, row.recorded_by) == (
        TeacherPresence.LATE,
        10,
        world.users["inspector"],
    )
    assert [(h.history_type, h.history_user, h.late_minutes) for h in row.history.all()] == [
        ("+", world.users["inspector"], 10)
    ]


def test_a_correction_updates_the_row_and_keeps_the_old_value_in_history(world, session):
    mark(world, session, presence=TeacherPresence.LATE, late_minutes=10)

    mark(world, session, presence=TeacherPresence.ON_TIME, late_minutes=10)

    row = TeacherAttendance.objects.get()
    assert (row.presence, row.late_minutes) == (TeacherPresence.ON_TIME, 0)
    assert [h.presence for h in row.history.order_by("history_date")] == [
        TeacherPresence.LATE,
        TeacherPresence.ON_TIME,
    ]


def test_saving_the_same_mark_again_adds_no_history(world, session):
    row = mark(world, session, presence=TeacherPresence.ON_TIME)
    mark(world, session, presence=TeacherPresence.ON_TIME)

    assert row.history.count() == 1


@pytest.mark.parametrize("minutes", [0, 181, None])
def test_late_needs_minutes_from_1_to_180(world, session, minutes):
    with pytest.raises(ValidationError) as error:
        mark(world, session, presence=TeacherPresence.LATE, late_minutes=minutes)

    assert messages_of(error) == {"late_minutes": ["迟到时请填写迟到分钟数（1–180）。"]}
    assert not TeacherAttendance.objects.exists()


def test_an_incident_needs_a_description(world, session):
    with pytest.raises(ValidationError) as error:
        mark(world, session, presence=TeacherPresence.ON_TIME, incident=IncidentKind.SAFETY)
    assert messages_of(error) == {"incident_description": ["记录失职或安全事故时，请写明经过。"]}

    row = mark(
        world,
        session,
        presence=TeacherPresence.ON_TIME,
        incident=IncidentKind.SAFETY,
        incident_description="学生在走廊摔倒，未及时处理",
    )
    assert (row.incident, row.incident_description) == (IncidentKind.SAFETY, "学生在走廊摔倒，未及时处理")


def test_only_a_teacher_of_the_session_is_marked(world, session):
    world.users["service_teacher"].full_name = "李老师"
    world.users["service_teacher"].save()

    with pytest.raises(ValidationError) as error:
        mark(world, session, teacher="service_teacher", presence=TeacherPresence.ON_TIME)

    assert error.value.messages == ["李老师 不是这一场次的授课教师。"]
    assert not TeacherAttendance.objects.exists()


def test_no_attendance_for_a_cancelled_session(world, session):
    session_cancel(actor=world.users["admin"], session=session, reason="运动会")

    with pytest.raises(ValidationError) as error:
        mark(world, session, presence=TeacherPresence.ABSENT_UNEXCUSED)

    assert error.value.messages == ["这一场次已经取消，不能再记录。"]
    assert not TeacherAttendance.objects.exists()


# Ethics breaches ------------------------------------------------------------------------------


def breach(world, **fields):
    values = {
        "teacher": world.users["service_teacher"],
        "date": date(2026, 10, 9),
        "description": "收受家长礼品",
        **fields,
    }
    return supervision.ethics_breach_record(actor=world.users["principal"], school=world.school, **values)


def test_a_breach_belongs_to_the_term_of_its_date(world, term):
    recorded = breach(world)

    recorded.refresh_from_db()
    assert (recorded.term, recorded.teacher, recorded.recorded_by, recorded.is_withdrawn) == (
        term,
        world.users["service_teacher"],
        world.users["principal"],
        False,
    )
    assert recorded.history.get().history_user == world.users["principal"]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"date": TOMORROW}, {"date": ["日期不能晚于今天。"]}),
        ({"date": date(2026, 8, 1)}, {"date": ["2026-08-01 不在本校任何学期内。"]}),
        ({"description": "  "}, {"description": ["请填写情况说明。"]}),
    ],
)
def test_a_breach_needs_a_past_date_in_a_term_and_a_description(world, term, fields, expected):
    with pytest.raises(ValidationError) as error:
        breach(world, **fields)

    assert messages_of(error) == expected
    assert not EthicsBreach.objects.exists()


def test_a_breach_is_recorded_for_staff_of_the_school_only(world, term):
    stranger = UserFactory(full_name="外校老师")

    with pytest.raises(ValidationError) as error:
        breach(world, teacher=stranger)

    assert messages_of(error) == {"teacher": ["外校老师 不是本校在职教职工。"]}
    assert not EthicsBreach.objects.exists()


def test_withdrawing_keeps_the_reason_in_the_history(world, term):
    recorded = breach(world)

    supervision.ethics_breach_withdraw(actor=world.users["admin"], breach=recorded, reason="经核实系误报")

    recorded.refresh_from_db()
    assert recorded.is_withdrawn is True
    latest = recorded.history.latest("history_date")
    assert (latest.history_user, latest.history_change_reason) == (world.users["admin"], "经核实系误报")
    with pytest.raises(ValidationError) as error:
        supervision.ethics_breach_withdraw(actor=world.users["admin"], breach=recorded, reason="再撤销")
    assert error.value.messages == ["这条记录已经撤销。"]


def test_withdrawing_needs_a_reason(world, term):
    recorded = breach(world)

    with pytest.raises(ValidationError) as error:
        supervision.ethics_breach_withdraw(actor=world.users["admin"], breach=recorded, reason=" ")

    assert messages_of(error) == {"reason": ["请填写撤销原因，它会留在记录的历史中。"]}
    recorded.refresh_from_db()
    assert recorded.is_withdrawn is False


# Inspections ----------------------------------------------------------------------------------


def inspect(world, session, **fields):
    values = {"inspected_at": at(16, 30), "findings": [], "description": "", **fields}
    return supervision.inspection_record(actor=world.users["inspector"], session=session, **values)


def test_an_inspection_keeps_its_findings_in_the_lists_order(world, session):
    inspection = inspect(
        world,
        session,
        findings=[Finding.RECORDS_MISSING, Finding.VIOLATION, Finding.RECORDS_MISSING],
        description="集体讲授新课；记录未填",
        photo=image("现场.jpg", "JPEG"),
    )

    inspection.refresh_from_db()
    assert inspection.findings == [Finding.VIOLATION, Finding.RECORDS_MISSING]
    assert (inspection.school, inspection.inspector, inspection.inspected_at) == (
        world.school,
        world.users["inspector"],
        at(16, 30),
    )
    assert inspection.photo.name.startswith("inspections/") and inspection.photo.name.endswith(".jpg")
    assert inspection.history.get().history_user == world.users["inspector"]


def test_a_round_in_order_needs_no_description(world, session):
    inspection = inspect(world, session)

    assert inspection.is_in_order


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"findings": [Finding.SLACKNESS]}, {"description": ["勾选了发现的问题时，请填写情况说明。"]}),
        ({"findings": ["sleeping"], "description": "x"}, {"findings": ["请从列出的问题中选择。"]}),
        (
            {"inspected_at": at(16, 30, day=LAST_FRIDAY)},
            {"inspected_at": ["巡查时间应在场次当天（2026-10-12）。"]},
        ),
        ({"photo": image("截图.gif", "GIF")}, {"photo": ["“截图.gif”不是 JPG 或 PNG 图片。"]}),
    ],
)
def test_an_inspection_is_checked(world, session, fields, expected):
    with pytest.raises(ValidationError) as error:
        inspect(world, session, **fields)

    assert messages_of(error) == expected
    assert not Inspection.objects.exists()


def test_no_inspection_in_the_future(world, session):
    with mock_now(at(16, 0)), pytest.raises(ValidationError) as error:
        inspect(world, session, inspected_at=at(16, 30))

    assert messages_of(error) == {"inspected_at": ["巡查时间不能晚于现在。"]}
    assert not Inspection.objects.exists()


def mock_now(moment):
    from unittest import mock

    return mock.patch("django.utils.timezone.now", return_value=moment)


# Reads ----------------------------------------------------------------------------------------


def test_record_states_tell_missing_from_still_running(world, session, football_session):
    sessions_prepare(school=world.school, day=LAST_FRIDAY)
    write(world, session)
    rated(world, write(world, Session.objects.get(offering=session.offering, date=LAST_FRIDAY)))

    rows, counts = record_sessions(world.school, start=LAST_FRIDAY, end=TODAY, now=at(17, 0))

    states = {(s.offering.name, s.date): s.record_state for s in rows}
    assert states == {
        ("三年级（1）班 基础托管", TODAY): RecordState.UNRATED,
        ("三年级（2）班 基础托管", TODAY): RecordState.PENDING,  # until 17:45
        ("足球", TODAY): RecordState.PENDING,
        ("三年级（1）班 基础托管", LAST_FRIDAY): RecordState.COMPLETE,
        ("三年级（2）班 基础托管", LAST_FRIDAY): RecordState.MISSING,
    }
    assert counts == {"unrated": 1, "pending": 2, "complete": 1, "missing": 1}


def test_findings_are_counted_per_teacher_and_per_course(world, session, football_session):
    world.users["homeroom"].full_name = "王老师"
    world.users["homeroom"].save()
    world.users["service_teacher"].full_name = "李老师"
    world.users["service_teacher"].save()
    inspect(
        world, session, findings=[Finding.SLACKNESS, Finding.RECORDS_MISSING], description="玩手机；未填记录"
    )
    inspect(world, session, inspected_at=at(17, 0), findings=[Finding.SLACKNESS], description="仍在玩手机")
    inspect(world, football_session, findings=[Finding.VIOLATION], description="体罚")
    inspect(world, football_session, inspected_at=at(17, 0))  # in order: not counted

    per_teacher, per_course = finding_summary(world.school, start=TODAY, end=TODAY)

    assert [(t.name, t.cells, t.rounds) for t in per_teacher] == [
        ("王老师", [0, 2, 1], 2),
        ("李老师", [1, 0, 0], 1),
    ]
    assert [(t.name, t.cells, t.rounds) for t in per_course] == [
        ("三年级（1）班 基础托管", [0, 2, 1], 2),
        ("足球", [1, 0, 0], 1),
    ]
