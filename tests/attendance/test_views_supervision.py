"""Supervision pages by persona: the activity record and its photos, rating, the records list,
the inspector's day (teachers' attendance), ethics breaches, inspections and a teacher's own record."""

from datetime import date, timedelta
from io import BytesIO
from unittest import mock

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from attendance import supervision
from attendance.models import (
    ActivityPhoto,
    ActivityRecord,
    EthicsBreach,
    Finding,
    Inspection,
    RecordRating,
    Session,
    TeacherAttendance,
    TeacherPresence,
)
from attendance.sessions import session_cancel, sessions_prepare
from catalogue.models import Provider, ProviderKind, ProviderStaffMember
from tests.factories import ClassroomFactory, StudentFactory, make_staff

from .conftest import TODAY, at

LAST_FRIDAY = date(2026, 10, 9)


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def named(world):
    """The teachers under the names the pages show."""
    for persona, name in [("homeroom", "王老师"), ("service_teacher", "李老师"), ("inspector", "赵主任")]:
        world.users[persona].full_name = name
        world.users[persona].save()
    return world


def evening():
    """After every session of TODAY has ended (17:45)."""
    return mock.patch("django.utils.timezone.now", return_value=at(18, 0))


def image(name="photo.png", kind="PNG", padding=0) -> SimpleUploadedFile:
    buffer = BytesIO()
    Image.new("RGB", (12, 8), "orange").save(buffer, kind)
    return SimpleUploadedFile(name, buffer.getvalue() + b"\0" * padding)


def flashed(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def write(world, session, **fields):
    values = {"content": "完成数学练习。", **fields}
    return supervision.activity_record_write(actor=world.users["homeroom"], session=session, **values)


def record_url(session) -> str:
    return reverse("attendance:record-edit", args=[session.pk])


# The activity record --------------------------------------------------------------------------


def test_the_teacher_sees_the_form_with_homework_progress(world, session, as_user):
    response = as_user("homeroom").get(record_url(session))

    assert response.status_code == 200
    assert list(response.context["form"].fields) == ["content", "homework_progress", "notes", "photos"]
    assert response.context["may_rate"] is False


def test_a_course_record_has_no_homework_field(world, football_session, as_user):
    response = as_user("service_teacher").get(record_url(football_session))

    assert list(response.context["form"].fields) == ["content", "notes", "photos"]


def test_the_teacher_writes_the_record_with_photos(world, session, as_user):
    response = as_user("homeroom").post(
        record_url(session),
        {
            "content": "讲解应用题",
            "homework_progress": "全部完成",
            "notes": "",
            "photos": [image("a.png"), image("b.jpg", "JPEG")],
        },
    )

    assert response.status_code == 302 and response["Location"] == record_url(session)
    assert flashed(response) == ["活动记录已保存，新增 2 张照片。"]
    record = ActivityRecord.objects.get(session=session)
    assert (record.content, record.homework_progress, record.written_by) == (
        "讲解应用题",
        "全部完成",
        world.users["homeroom"],
    )
    assert record.photos.count() == 2


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (image("动画.gif", "GIF"), "“动画.gif”不是 JPG 或 PNG 图片。"),
        (SimpleUploadedFile("文档.png", b"%PDF-1.4 not a picture"), "“文档.png”不是 JPG 或 PNG 图片。"),
        (image("大.jpg", "JPEG", padding=5 * 1024 * 1024), "“大.jpg”超过 5 MB，请压缩后再上传。"),
    ],
    ids=["gif", "pdf-named-png", "over-5-mb"],
)
def test_a_refused_photo_keeps_the_form_and_stores_nothing(world, session, as_user, upload, message):
    response = as_user("homeroom").post(record_url(session), {"content": "讲解应用题", "photos": [upload]})

    assert response.status_code == 400
    assert response.context["form"].errors == {"photos": [message]}
    assert response.context["form"]["content"].value() == "讲解应用题"
    assert not ActivityRecord.objects.exists()
    assert not ActivityPhoto.objects.exists()


def test_a_record_without_content_is_refused(world, session, as_user):
    response = as_user("homeroom").post(record_url(session), {"content": ""})

    assert response.status_code == 400
    assert response.context["form"].errors == {"content": ["请填写活动内容。"]}
    assert not ActivityRecord.objects.exists()


def test_the_inspector_reads_the_record_and_may_rate_it(world, session, as_user):
    write(world, session)

    response = as_user("inspector").get(record_url(session))

    assert response.status_code == 200
    assert response.context["form"] is None
    assert response.context["may_rate"] is True
    assert "完成数学练习。" in response.content.decode()


@pytest.mark.parametrize(
    ("persona", "status"), [("other_homeroom", 403), ("service_teacher", 403), ("parent", 404)]
)
def test_others_cannot_write_the_record(world, session, as_user, persona, status):
    response = as_user(persona).post(record_url(session), {"content": "冒名填写"})

    assert response.status_code == status
    assert not ActivityRecord.objects.exists()


def test_the_inspector_cannot_write_the_record(world, session, as_user):
    response = as_user("inspector").post(record_url(session), {"content": "代写"})

    assert response.status_code == 403
    assert not ActivityRecord.objects.exists()


def test_a_cancelled_session_shows_why_there_is_no_form(world, session, as_user):
    session_cancel(actor=world.users["admin"], session=session, reason="暴雨")

    response = as_user("homeroom").get(record_url(session))

    assert response.context["form"] is None
    assert "这一场次已经取消，不能再记录。" in response.content.decode()


def test_a_record_of_a_cancelled_session_cannot_be_changed(world, session, as_user):
    write(world, session)
    session_cancel(actor=world.users["admin"], session=session, reason="暴雨")

    response = as_user("homeroom").post(record_url(session), {"content": "补写"})

    assert response.status_code == 400
    assert "这一场次已经取消，不能再记录。" in response.content.decode()
    assert ActivityRecord.objects.get().content == "完成数学练习。"


# Photos ---------------------------------------------------------------------------------------


def test_photos_are_served_after_the_check_never_from_media(world, session, as_user):
    record = write(world, session, photos=[image()])
    photo = record.photos.get()

    page = as_user("homeroom").get(record_url(session)).content.decode()
    response = as_user("inspector").get(reverse("attendance:record-photo", args=[photo.pk]))

    assert "/media/" not in page
    assert reverse("attendance:record-photo", args=[photo.pk]) in page
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert "private" in response["Cache-Control"]
    assert Image.open(BytesIO(b"".join(response.streaming_content))).format == "PNG"


@pytest.mark.parametrize(
    ("persona", "status"), [("service_teacher", 403), ("parent", 404), ("far_principal", 404)]
)
def test_photos_are_not_served_to_others(world, session, as_user, persona, status):
    photo = write(world, session, photos=[image()]).photos.get()

    response = as_user(persona).get(reverse("attendance:record-photo", args=[photo.pk]))

    assert response.status_code == status


def test_the_teacher_removes_a_photo(world, session, as_user):
    photo = write(world, session, photos=[image()]).photos.get()

    response = as_user("homeroom").post(reverse("attendance:record-photo-remove", args=[photo.pk]))

    assert response.status_code == 302 and response["Location"] == record_url(session)
    assert flashed(response) == ["照片已删除。"]
    assert not ActivityPhoto.objects.exists()


def test_the_inspector_cannot_remove_a_photo(world, session, as_user):
    photo = write(world, session, photos=[image()]).photos.get()

    response = as_user("inspector").post(reverse("attendance:record-photo-remove", args=[photo.pk]))

    assert response.status_code == 403
    assert ActivityPhoto.objects.filter(pk=photo.pk).exists()


# Rating ---------------------------------------------------------------------------------------


def rate_url(session) -> str:
    return reverse("attendance:record-rate", args=[session.pk])


def test_the_inspector_rates_a_record_incomplete_with_a_note(world, session, as_user):
    record = write(world, session)

    response = as_user("inspector").post(rate_url(session), {"rating": "incomplete", "note": "缺作业情况"})

    assert response.status_code == 302 and response["Location"] == record_url(session)
    assert flashed(response) == ["已将 三年级（1）班 基础托管（10-12）的活动记录评为“不完整”。"]
    record.refresh_from_db()
    assert (record.rating, record.rating_note, record.rated_by) == (
        RecordRating.INCOMPLETE,
        "缺作业情况",
        world.users["inspector"],
    )


def test_an_incomplete_rating_without_a_note_changes_nothing(world, session, as_user):
    record = write(world, session)

    response = as_user("inspector").post(rate_url(session), {"rating": "incomplete", "note": ""})

    assert response.status_code == 302
    assert flashed(response) == ["评为“不完整”时，请写明缺少哪些内容。"]
    record.refresh_from_db()
    assert (record.rating, record.rated_by) == (RecordRating.UNRATED, None)


def test_a_missing_record_cannot_be_rated(world, session, as_user):
    response = as_user("inspector").post(rate_url(session), {"rating": "complete"})

    assert flashed(response) == ["这一场次还没有活动记录，无法评定。"]
    assert not ActivityRecord.objects.exists()


@pytest.mark.parametrize("persona", ["homeroom", "service_teacher", "finance"])
def test_a_teacher_cannot_rate_records(world, session, as_user, persona):
    record = write(world, session)

    response = as_user(persona).post(rate_url(session), {"rating": "complete"})

    assert response.status_code == 403
    record.refresh_from_db()
    assert (record.rating, record.rated_by, record.history.count()) == (RecordRating.UNRATED, None, 1)


def test_rating_from_the_list_goes_back_with_the_filters(world, session, as_user):
    write(world, session)
    here = f"{reverse('attendance:record-list')}?state=unrated&start=2026-10-12&end=2026-10-12"

    response = as_user("inspector").post(rate_url(session), {"rating": "complete", "next": here})

    assert response["Location"] == here
    response = as_user("inspector").post(
        rate_url(session), {"rating": "complete", "next": "https://evil.example/"}
    )
    assert response["Location"] == record_url(session)


# Records list ---------------------------------------------------------------------------------


def list_url(**query) -> str:
    from urllib.parse import urlencode

    return (
        f"{reverse('attendance:record-list')}?{urlencode(query)}"
        if query
        else reverse("attendance:record-list")
    )


def test_the_list_shows_a_missing_record(world, session, football_session, as_user):
    write(world, session)

    with evening():
        response = as_user("inspector").get(list_url())

    states = {row["session"].offering.name: row["state_label"] for row in response.context["rows"]}
    assert states == {"三年级（1）班 基础托管": "未评定", "三年级（2）班 基础托管": "缺失", "足球": "缺失"}
    assert {row["label"]: row["count"] for row in response.context["state_counts"]} == {
        "缺失": 2,
        "待填写": 0,
        "未评定": 1,
        "完整": 0,
        "不完整": 0,
    }


def test_the_list_filters_by_state_offering_and_teacher(world, session, football_session, as_user):
    write(world, session)

    with evening():
        client = as_user("principal")
        missing = client.get(list_url(state="missing")).context["rows"]
        football = client.get(list_url(offering=football_session.offering.pk)).context["rows"]
        taught = client.get(list_url(teacher=world.users["homeroom"].pk)).context["rows"]

    assert sorted(row["session"].offering.name for row in missing) == ["三年级（2）班 基础托管", "足球"]
    assert [row["session"].offering.name for row in football] == ["足球"]
    assert [row["session"].offering.name for row in taught] == ["三年级（1）班 基础托管"]


def test_the_list_defaults_to_this_week_and_caps_the_range(world, session, as_user):
    sessions_prepare(school=world.school, day=LAST_FRIDAY)

    default = as_user("inspector").get(list_url())
    too_long = as_user("inspector").get(list_url(start="2026-09-01", end="2026-11-30"))

    assert (default.context["start"], default.context["end"]) == (TODAY, TODAY)
    assert {row["session"].date for row in default.context["rows"]} == {TODAY}
    assert too_long.context["filters"].errors == {"end": ["日期范围最多 62 天。"]}
    assert (too_long.context["start"], too_long.context["end"]) == (TODAY, TODAY)


def test_the_list_pages_keeping_the_filters(world, session, football_session, as_user, monkeypatch):
    monkeypatch.setattr("attendance.views.supervision.PAGE_SIZE", 2)

    response = as_user("inspector").get(list_url(state="missing", page=2))

    assert [row["session"].offering.name for row in response.context["rows"]] == ["足球"]
    assert response.context["query"] == "state=missing"
    assert 'href="?state=missing&amp;page=1"' in response.content.decode()


def more_sessions(world, basic_care, days: int) -> None:
    """Sessions (and records, one rated) on ``days`` school days before TODAY."""
    day = TODAY
    for _ in range(days):
        day -= timedelta(days=3 if day.weekday() == 0 else 1)
        sessions_prepare(school=world.school, day=day)
        session = Session.objects.get(offering=basic_care, date=day)
        record = write(world, session, photos=[image()])
        supervision.activity_record_rate(
            actor=world.users["inspector"], record=record, rating=RecordRating.COMPLETE
        )


@pytest.mark.parametrize("days", [1, 12])
def test_the_list_runs_the_same_queries_whatever_its_length(
    world, session, basic_care, as_user, django_assert_num_queries, days
):
    provider = Provider.objects.create(
        district=world.district, school=world.school, kind=ProviderKind.PARENT_VOLUNTEER, name="家长志愿队"
    )
    member = ProviderStaffMember.objects.create(
        provider=provider, user=world.users["provider"], name="志愿者", certificate_type="none"
    )
    basic_care.provider_staff.add(member)
    more_sessions(world, basic_care, days)
    client = as_user("inspector")
    client.get(list_url())  # the session and the user are loaded once

    with django_assert_num_queries(11):
        response = client.get(list_url(start="2026-09-20", end="2026-10-12"))

    in_range = Session.objects.filter(date__gte=date(2026, 9, 20), date__lte=TODAY).count()
    assert len(response.context["rows"]) == in_range
    assert in_range >= 3 + days * 2
    basic_care_rows = [row for row in response.context["rows"] if row["session"].offering == basic_care]
    assert all(
        row["teachers"] == [world.users["homeroom"], world.users["provider"]] for row in basic_care_rows
    )


# The inspector's day: teachers' attendance ---------------------------------------------------


def day_url(day=TODAY) -> str:
    return f"{reverse('attendance:inspection-day')}?date={day.isoformat()}"


def attendance_url(session, teacher) -> str:
    return reverse("attendance:teacher-attendance-record", args=[session.pk, teacher.pk])


def test_the_day_lists_each_teacher_with_a_labelled_form(named, session, football_session, as_user):
    response = as_user("inspector").get(day_url())

    page = response.content.decode()
    teachers = [
        (item.session.offering.name, [row.teacher.display_name for row in item.rows])
        for item in response.context["sessions"]
    ]
    assert teachers == [
        ("三年级（1）班 基础托管", ["王老师"]),
        ("三年级（2）班 基础托管", [named.users["other_homeroom"].display_name]),
        ("足球", ["李老师"]),
    ]
    assert 'aria-label="王老师 迟到分钟"' in page
    assert 'aria-label="王老师：迟到"' in page
    assert ">保存</button>" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("王老师", ["三年级（1）班 基础托管"]),
        ("足球", ["足球"]),
        ("三年级（2）班", ["三年级（2）班 基础托管"]),
        ("美术", []),
    ],
)
def test_the_day_narrows_to_a_teacher_a_course_or_a_class(
    named, session, football_session, as_user, query, expected
):
    response = as_user("inspector").get(day_url(), {"q": query})

    assert [item.session.offering.name for item in response.context["sessions"]] == expected
    assert f"“{query}”：{len(expected)} 个场次。" in response.content.decode()


def test_the_day_prepares_its_sessions_when_the_night_did_not(world, enrolled, as_user):
    response = as_user("inspector").get(day_url())

    assert len(response.context["sessions"]) == 3
    assert Session.objects.filter(date=TODAY).count() == 3


def test_the_inspector_marks_the_homeroom_teacher_ten_minutes_late(named, session, as_user):
    response = as_user("inspector").post(
        attendance_url(session, named.users["homeroom"]),
        {"presence": "late", "late_minutes": "10", "incident": "", "incident_description": ""},
    )

    assert response.status_code == 302
    assert response["Location"] == f"{day_url()}#session-{session.pk}"
    assert flashed(response) == ["已记录 王老师（三年级（1）班 基础托管）：迟到 10 分钟。"]
    row = TeacherAttendance.objects.get(session=session, teacher=named.users["homeroom"])
    assert (row.presence, row.late_minutes, row.recorded_by) == (
        TeacherPresence.LATE,
        10,
        named.users["inspector"],
    )
    history = row.history.get()
    assert (history.history_type, history.history_user, history.late_minutes) == (
        "+",
        named.users["inspector"],
        10,
    )
    page = as_user("inspector").get(day_url()).content.decode()
    assert "已记录：迟到 10 分钟" in page


def test_late_without_minutes_is_sent_back_and_nothing_is_stored(named, session, as_user):
    response = as_user("inspector").post(
        attendance_url(session, named.users["homeroom"]), {"presence": "late"}
    )

    assert response.status_code == 302
    assert flashed(response) == ["迟到时请填写迟到分钟数（1–180）。"]
    assert not TeacherAttendance.objects.exists()


@pytest.mark.parametrize("persona", ["homeroom", "service_teacher", "provider"])
def test_a_teacher_cannot_record_teachers_attendance(named, session, as_user, persona):
    response = as_user(persona).post(
        attendance_url(session, named.users["homeroom"]), {"presence": "on_time"}
    )

    assert response.status_code == 403
    assert not TeacherAttendance.objects.exists()


def test_another_schools_principal_gets_404(named, session, as_user):
    response = as_user("far_principal").post(
        attendance_url(session, named.users["homeroom"]), {"presence": "absent_unexcused"}
    )

    assert response.status_code == 404
    assert not TeacherAttendance.objects.exists()


def test_a_teacher_not_of_the_session_is_refused(named, session, as_user):
    response = as_user("inspector").post(
        attendance_url(session, named.users["service_teacher"]), {"presence": "on_time"}
    )

    assert flashed(response) == ["李老师 不是这一场次的授课教师。"]
    assert not TeacherAttendance.objects.exists()


def test_a_future_day_is_shown_without_forms_to_use(world, enrolled, as_user):
    tomorrow = TODAY + timedelta(days=1)

    response = as_user("inspector").get(day_url(tomorrow))

    assert response.context["is_future"] is True
    assert "这一天还没有到" in response.content.decode()
    assert "<fieldset disabled>" in response.content.decode()


def bigger_school(world, term, classes: int) -> None:
    """More classes at school A, each with basic care led by its own homeroom teacher."""
    from aftercare.roles import Role
    from catalogue import services as catalogue
    from catalogue.models import FeeMode

    for number in range(3, 3 + classes):
        classroom = ClassroomFactory(school=world.school, grade=4, number=number)
        classroom.homeroom_teacher = make_staff(world.school, Role.SERVICE_TEACHER)
        classroom.save()
        StudentFactory(classroom=classroom)
    for offering in catalogue.basic_care_create_for_all_classes(
        actor=world.users["admin"], term=term, fee_mode=FeeMode.FREE
    ):
        catalogue.offering_publish(actor=world.users["admin"], offering=offering)


@pytest.mark.parametrize("classes", [0, 12])
def test_the_day_runs_the_same_queries_whatever_its_size(
    world, term, session, as_user, django_assert_num_queries, classes
):
    bigger_school(world, term, classes)
    Session.objects.filter(date=TODAY).delete()
    sessions_prepare(school=world.school, day=TODAY)
    for item in Session.objects.filter(date=TODAY)[:2]:
        for teacher_id in item.offering.teachers.values_list("pk", flat=True):
            supervision.teacher_attendance_record(
                actor=world.users["inspector"],
                session=item,
                teacher=item.offering.teachers.get(pk=teacher_id),
                presence=TeacherPresence.ON_TIME,
            )
    client = as_user("inspector")
    client.get(day_url())

    with django_assert_num_queries(9):
        response = client.get(day_url())

    assert len(response.context["sessions"]) == 3 + classes


# Ethics breaches ------------------------------------------------------------------------------


ETHICS_URL = "/attendance/ethics/"


def test_the_principal_records_a_breach(named, term, as_user):
    response = as_user("principal").post(
        reverse("attendance:ethics-list"),
        {"teacher": named.users["service_teacher"].pk, "date": "2026-10-09", "description": "有偿补课"},
    )

    assert response.status_code == 302 and response["Location"] == ETHICS_URL
    assert flashed(response) == ["已记录 李老师 2026-10-09 的师德失范，当月课后服务酬金不予发放。"]
    breach = EthicsBreach.objects.get()
    assert (breach.teacher, breach.term, breach.description, breach.recorded_by) == (
        named.users["service_teacher"],
        term,
        "有偿补课",
        named.users["principal"],
    )


def test_a_breach_outside_the_terms_keeps_the_form(named, term, as_user):
    response = as_user("admin").post(
        reverse("attendance:ethics-list"),
        {"teacher": named.users["service_teacher"].pk, "date": "2026-08-01", "description": "有偿补课"},
    )

    assert response.status_code == 400
    assert response.context["form"].errors == {"date": ["2026-08-01 不在本校任何学期内。"]}
    assert not EthicsBreach.objects.exists()


def test_the_teacher_list_holds_the_schools_staff_only(named, term, as_user):
    choices = as_user("principal").get(ETHICS_URL).context["form"].fields["teacher"].queryset

    assert named.users["service_teacher"] in choices
    assert named.users["far_principal"] not in choices
    assert named.users["parent"] not in choices


@pytest.mark.parametrize(
    ("persona", "status"), [("inspector", 403), ("homeroom", 403), ("finance", 403), ("parent", 403)]
)
def test_ethics_are_for_the_principal_and_administrators_only(named, term, as_user, persona, status):
    response = as_user(persona).post(
        ETHICS_URL, {"teacher": named.users["service_teacher"].pk, "date": "2026-10-09", "description": "x"}
    )

    assert response.status_code == status
    assert not EthicsBreach.objects.exists()


def recorded_breach(world):
    return supervision.ethics_breach_record(
        actor=world.users["principal"],
        school=world.school,
        teacher=world.users["service_teacher"],
        date=LAST_FRIDAY,
        description="有偿补课",
    )


def test_the_administrator_withdraws_a_breach_with_a_reason(named, term, as_user):
    breach = recorded_breach(named)

    response = as_user("admin").post(
        reverse("attendance:ethics-withdraw", args=[breach.pk]), {"reason": "误报"}
    )

    assert response.status_code == 302 and response["Location"] == f"{ETHICS_URL}#breach-{breach.pk}"
    assert flashed(response) == ["已撤销 李老师 2026-10-09 的师德失范记录。"]
    breach.refresh_from_db()
    assert breach.is_withdrawn is True
    assert breach.history.latest("history_date").history_change_reason == "误报"
    page = as_user("principal").get(ETHICS_URL).content.decode()
    assert "撤销原因：误报" in page


@pytest.mark.parametrize(
    ("persona", "data", "status"),
    [("inspector", {"reason": "x"}, 403), ("far_principal", {"reason": "x"}, 404), ("principal", {}, 302)],
)
def test_a_breach_stays_unless_withdrawn_by_the_school_with_a_reason(
    named, term, as_user, persona, data, status
):
    breach = recorded_breach(named)

    response = as_user(persona).post(reverse("attendance:ethics-withdraw", args=[breach.pk]), data)

    assert response.status_code == status
    breach.refresh_from_db()
    assert (breach.is_withdrawn, breach.history.count()) == (False, 1)


# Inspections ----------------------------------------------------------------------------------


def inspect_url(session) -> str:
    return reverse("attendance:inspection-create", args=[session.pk])


def test_the_inspector_records_a_round_with_a_photo(named, session, as_user):
    response = as_user("inspector").post(
        inspect_url(session),
        {
            "inspected_at": "16:40",
            "findings": [Finding.SLACKNESS],
            "description": "教师看手机",
            "photo": image("现场.jpg", "JPEG"),
        },
    )

    assert response.status_code == 302 and response["Location"] == day_url()
    assert flashed(response) == ["已记录对 三年级（1）班 基础托管 的巡查。"]
    inspection = Inspection.objects.get()
    assert (inspection.inspected_at, inspection.findings, inspection.description, inspection.inspector) == (
        at(16, 40),
        [Finding.SLACKNESS],
        "教师看手机",
        named.users["inspector"],
    )
    photo = as_user("homeroom").get(reverse("attendance:inspection-photo", args=[inspection.pk]))
    assert (photo.status_code, photo["Content-Type"]) == (200, "image/jpeg")


def test_a_finding_without_a_description_keeps_the_form(named, session, as_user):
    response = as_user("inspector").post(
        inspect_url(session), {"inspected_at": "16:40", "findings": [Finding.VIOLATION], "description": ""}
    )

    assert response.status_code == 400
    assert response.context["form"].errors == {"description": ["勾选了发现的问题时，请填写情况说明。"]}
    assert not Inspection.objects.exists()


def test_a_refused_inspection_photo_keeps_the_form(named, session, as_user):
    response = as_user("inspector").post(
        inspect_url(session), {"inspected_at": "16:40", "photo": SimpleUploadedFile("x.jpg", b"GIF89a....")}
    )

    assert response.status_code == 400
    assert response.context["form"].errors == {"photo": ["“x.jpg”不是 JPG 或 PNG 图片。"]}
    assert not Inspection.objects.exists()


@pytest.mark.parametrize(
    ("persona", "status"), [("homeroom", 403), ("service_teacher", 403), ("far_principal", 404)]
)
def test_teachers_do_not_inspect(named, session, as_user, persona, status):
    response = as_user(persona).post(inspect_url(session), {"inspected_at": "16:40"})

    assert response.status_code == status
    assert not Inspection.objects.exists()


def rounds(world, session, football_session):
    inspector = world.users["inspector"]
    for when, target, findings in [
        (at(16, 20), session, [Finding.SLACKNESS, Finding.RECORDS_MISSING]),
        (at(17, 0), session, [Finding.SLACKNESS]),
        (at(16, 30), football_session, [Finding.VIOLATION]),
        (at(17, 10), football_session, []),
    ]:
        supervision.inspection_record(
            actor=inspector,
            session=target,
            inspected_at=when,
            findings=findings,
            description="见现场" if findings else "",
        )


def test_findings_are_grouped_per_teacher_and_per_course(named, session, football_session, as_user):
    rounds(named, session, football_session)

    response = as_user("principal").get(reverse("attendance:inspection-list"))

    per_teacher = [(t.name, t.cells) for t in response.context["per_teacher"]]
    per_course = [(t.name, t.cells) for t in response.context["per_course"]]
    assert per_teacher == [("王老师", [0, 2, 1]), ("李老师", [1, 0, 0])]
    assert per_course == [("三年级（1）班 基础托管", [0, 2, 1]), ("足球", [1, 0, 0])]
    assert [i.inspected_at for i in response.context["rounds"]] == [
        at(17, 10),
        at(17, 0),
        at(16, 30),
        at(16, 20),
    ]
    page = response.content.decode()
    assert f"teacher={named.users['homeroom'].pk}" in page
    assert f"offering={football_session.offering.pk}" in page


def test_the_rounds_of_one_teacher_with_findings(named, session, football_session, as_user):
    rounds(named, session, football_session)

    response = as_user("inspector").get(
        reverse("attendance:inspection-list"),
        {"teacher": named.users["service_teacher"].pk, "with_findings": "on"},
    )

    assert [(i.session.offering.name, i.finding_labels) for i in response.context["rounds"]] == [
        ("足球", ["违规行为"])
    ]


@pytest.mark.parametrize("extra_days", [0, 10])
def test_the_inspection_list_runs_the_same_queries_whatever_its_size(
    named, session, football_session, basic_care, as_user, django_assert_num_queries, extra_days
):
    rounds(named, session, football_session)
    day = TODAY
    for _ in range(extra_days):
        day -= timedelta(days=3 if day.weekday() == 0 else 1)
        sessions_prepare(school=named.school, day=day)
        for target in Session.objects.filter(date=day):
            supervision.inspection_record(
                actor=named.users["inspector"],
                session=target,
                inspected_at=at(16, 30, day=day),
                findings=[Finding.RECORDS_MISSING],
                description="未填",
            )
    client = as_user("inspector")
    client.get(reverse("attendance:inspection-list"))

    with django_assert_num_queries(11):
        response = client.get(
            reverse("attendance:inspection-list"), {"start": "2026-09-20", "end": "2026-10-12"}
        )

    assert response.context["page"].paginator.count == Inspection.objects.count()
    assert Inspection.objects.count() >= 4 + extra_days * 2


# My record ------------------------------------------------------------------------------------


def test_a_teacher_sees_their_own_term_and_nobody_elses(named, session, football_session, as_user):
    write(named, session)
    supervision.teacher_attendance_record(
        actor=named.users["inspector"],
        session=session,
        teacher=named.users["homeroom"],
        presence="late",
        late_minutes=10,
    )
    supervision.teacher_attendance_record(
        actor=named.users["inspector"],
        session=football_session,
        teacher=named.users["service_teacher"],
        presence="absent_unexcused",
    )
    rounds(named, session, football_session)

    response = as_user("homeroom").get(reverse("attendance:my-record"))

    mine = response.context["mine"]
    assert [s.offering.name for s in mine.sessions] == ["三年级（1）班 基础托管"]
    assert [(row.presence, row.late_minutes) for row in mine.attendance] == [("late", 10)]
    assert (mine.late_count, mine.late_minutes) == (1, 10)
    assert [i.session.offering.name for i in mine.inspections] == ["三年级（1）班 基础托管"] * 2
    page = response.content.decode()
    assert "足球" not in page
    assert "无故缺勤" not in page


def test_a_parent_has_no_teacher_record(world, as_user):
    assert as_user("parent").get(reverse("attendance:my-record")).status_code == 403
