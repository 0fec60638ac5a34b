"""Absence alerts (无故脱管): a case per child absent without leave, the guardians told in the portal
and by text, the homeroom teacher told; corrections close the case; the school records what
happened. And the alert on sessions without roll-call 15 minutes after they began."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from aftercare import sms
from aftercare.models import Notification
from aftercare.tasks import send_sms_task
from attendance.alerts import (
    CASE_ALREADY_CLOSED,
    NOTE_REQUIRED_FOR_OTHER,
    UNKNOWN_OUTCOME,
    absence_case_close,
    alert_unmarked_sessions,
)
from attendance.models import (
    AbsenceCase,
    CaseOutcome,
    CaseStatus,
    LeaveKind,
    LeaveRequest,
    Mark,
    Session,
)
from attendance.rollcall import roll_call_record
from attendance.sessions import session_cancel
from catalogue import services as catalogue
from enrollment.models import Enrollment
from tests.factories import GuardianFactory, StudentFactory

from . import setup
from .conftest import TODAY, at


@pytest.fixture(autouse=True)
def empty_sms_outbox():
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def committee_child(world):
    return world.classroom.students.get(name="陈小华")


def mark(session, actor, marks, notes=None):
    version = Session.objects.get(pk=session.pk).roll_version
    return roll_call_record(actor=actor, session=session, marks=marks, notes=notes, version=version)


def notifications(user) -> list[tuple[str, str, str]]:
    """The attendance messages ``user`` got (enrollment has sent its own before)."""
    day_messages = Notification.objects.filter(user=user, url__startswith="/attendance/")
    return [(n.title, n.body, n.url) for n in day_messages.order_by("pk")]


def leave(world, student, kind=LeaveKind.ABSENT, **fields):
    return LeaveRequest.objects.create(
        school=world.school,
        student=student,
        kind=kind,
        starts_on=TODAY,
        ends_on=TODAY,
        reason="发烧",
        requested_by=world.users["parent"],
        **fields,
    )


# Opening a case -------------------------------------------------------------------------------


def test_an_unexcused_absence_opens_a_case_and_tells_the_family_and_the_homeroom_teacher(
    world, football_session, django_capture_on_commit_callbacks
):
    teacher = world.users["service_teacher"]

    with django_capture_on_commit_callbacks(execute=True):
        mark(football_session, teacher, {world.child.pk: Mark.ABSENT})

    case = AbsenceCase.objects.get()
    assert (case.session, case.student, case.status, case.opened_by, case.school) == (
        football_session,
        world.child,
        CaseStatus.OPEN,
        teacher,
        world.school,
    )
    url = reverse("attendance:case-detail", args=[case.pk])
    assert notifications(world.users["parent"]) == [
        (
            "张小明 课后服务点名缺勤",
            "张小明 今天 16:10 在“足球”点名时缺勤，学校没有收到请假。请尽快与班主任或学校联系。",
            url,
        )
    ]
    assert notifications(world.users["homeroom"]) == [
        (
            "张小明（三年级（1）班）点名缺勤，未请假",
            f"“足球”今天 16:10，点名人：{teacher.display_name}。请跟进并记录处理结果。",
            url,
        )
    ]
    # Both guardians on the roster are texted: 张爸爸 (no account) and 张妈妈 (the parent).
    text = "【课后服务】张小明 今天 16:10 课后服务点名缺勤，未请假，请尽快与学校联系。"
    assert sorted(sms.outbox) == sorted([("13812341234", text), (world.users["parent"].phone, text)])
    # Nobody else hears of it.
    assert notifications(world.users["other_parent"]) == []
    assert notifications(world.users["committee"]) == []


def test_the_text_leaves_only_after_the_roll_call_commits(
    world, football_session, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        mark(football_session, world.users["service_teacher"], {world.child.pk: Mark.ABSENT})

    # Nothing leaves inside the roll-call's transaction: one task sends everything once it commits.
    assert sms.outbox == []
    assert notifications(world.users["parent"]) == []
    assert len(callbacks) == 1
    with django_capture_on_commit_callbacks(execute=True) as sent:
        callbacks[0]()
    assert len(sms.outbox) == 2
    assert len(notifications(world.users["parent"])) == 1
    assert len(sent) == 2  # the emails of the notifications, the texts


def test_an_absence_with_leave_opens_nothing(world, football_session, django_capture_on_commit_callbacks):
    leave(world, world.child)

    with django_capture_on_commit_callbacks(execute=True):
        mark(football_session, world.users["service_teacher"], {world.child.pk: Mark.ABSENT})

    assert not AbsenceCase.objects.exists()
    assert notifications(world.users["parent"]) == []
    assert notifications(world.users["homeroom"]) == []
    assert sms.outbox == []


def test_an_early_pick_up_does_not_excuse_a_child_who_never_came(world, football_session):
    leave(world, world.child, kind=LeaveKind.EARLY_PICKUP, pickup_at=at(17, 0).time())

    mark(football_session, world.users["service_teacher"], {world.child.pk: Mark.ABSENT})

    assert AbsenceCase.objects.filter(student=world.child).count() == 1


def test_present_late_and_leave_open_nothing(world, session, committee_child):
    mark(session, world.users["homeroom"], {world.child.pk: Mark.LATE, committee_child.pk: Mark.LEAVE})

    assert not AbsenceCase.objects.exists()


def test_the_teacher_who_marks_the_absence_is_not_told_of_it(
    world, session, django_capture_on_commit_callbacks
):
    # 3-1's basic care is led by its homeroom teacher.
    with django_capture_on_commit_callbacks(execute=True):
        mark(session, world.users["homeroom"], {world.child.pk: Mark.ABSENT})

    assert AbsenceCase.objects.count() == 1
    assert notifications(world.users["homeroom"]) == []
    assert [title for title, _, _ in notifications(world.users["parent"])] == ["张小明 课后服务点名缺勤"]


def test_saving_the_same_absence_again_opens_no_second_case(
    world, football_session, django_capture_on_commit_callbacks
):
    teacher = world.users["service_teacher"]
    with django_capture_on_commit_callbacks(execute=True):
        mark(football_session, teacher, {world.child.pk: Mark.ABSENT})
    sms.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        mark(football_session, teacher, {world.child.pk: Mark.ABSENT}, notes={world.child.pk: "电话未接"})

    assert AbsenceCase.objects.count() == 1
    assert len(notifications(world.users["parent"])) == 1
    assert sms.outbox == []


def test_an_absence_found_on_a_past_day_opens_a_case_without_texting(
    world, enrolled, basic_care, django_capture_on_commit_callbacks
):
    friday = TODAY - timedelta(days=3)
    setup.sessions_prepare(school=world.school, day=friday)
    past = Session.objects.get(offering=basic_care, date=friday)

    with django_capture_on_commit_callbacks(execute=True):
        mark(past, world.users["admin"], {world.child.pk: Mark.ABSENT})

    assert AbsenceCase.objects.get().session == past
    assert sms.outbox == []
    assert [body for _, body, _ in notifications(world.users["parent"])] == [
        "张小明 10月9日 16:10 在“三年级（1）班 基础托管”点名时缺勤，学校没有收到请假。请尽快与班主任或学校联系。"
    ]


# Corrections ----------------------------------------------------------------------------------


def test_a_correction_closes_the_case_as_marked_wrongly(world, football_session):
    teacher = world.users["service_teacher"]
    mark(football_session, teacher, {world.child.pk: Mark.ABSENT})

    mark(football_session, world.users["admin"], {world.child.pk: Mark.LATE})

    case = AbsenceCase.objects.get()
    assert (case.status, case.outcome, case.outcome_note, case.closed_by) == (
        CaseStatus.CLOSED,
        CaseOutcome.MARKED_WRONGLY,
        "点名已更正",
        world.users["admin"],
    )
    assert [
        (h.history_type, h.history_user, h.status)
        for h in case.history.order_by("history_date", "history_id")
    ] == [
        ("+", teacher, CaseStatus.OPEN),
        ("~", world.users["admin"], CaseStatus.CLOSED),
    ]


def test_absent_again_after_a_correction_reopens_the_same_case(
    world, football_session, django_capture_on_commit_callbacks
):
    teacher = world.users["service_teacher"]
    with django_capture_on_commit_callbacks(execute=True):
        mark(football_session, teacher, {world.child.pk: Mark.ABSENT})
    mark(football_session, teacher, {world.child.pk: Mark.PRESENT})
    sms.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        mark(football_session, teacher, {world.child.pk: Mark.ABSENT})

    case = AbsenceCase.objects.get()
    assert (case.status, case.outcome, case.outcome_note, case.closed_at) == (CaseStatus.OPEN, "", "", None)
    assert len(notifications(world.users["parent"])) == 2
    assert len(sms.outbox) == 2  # this time's text to both guardians


# Recording what happened ----------------------------------------------------------------------


@pytest.fixture
def case(world, football_session):
    mark(football_session, world.users["service_teacher"], {world.child.pk: Mark.ABSENT})
    return AbsenceCase.objects.get()


def test_the_school_records_what_happened(world, case):
    admin = world.users["admin"]

    absence_case_close(
        actor=admin, case=case, outcome=CaseOutcome.REACHED_PARENT, note="  妈妈接走去医院了  "
    )

    case.refresh_from_db()
    assert (case.status, case.outcome, case.outcome_note, case.closed_by) == (
        CaseStatus.CLOSED,
        CaseOutcome.REACHED_PARENT,
        "妈妈接走去医院了",
        admin,
    )
    assert case.history.latest("history_date").history_user == admin


def test_a_closed_case_cannot_be_closed_twice(world, case):
    absence_case_close(actor=world.users["admin"], case=case, outcome=CaseOutcome.CHILD_FOUND)

    with pytest.raises(ValidationError) as caught:
        absence_case_close(
            actor=world.users["principal"], case=case, outcome=CaseOutcome.OTHER, note="再记一次"
        )

    assert caught.value.messages == [str(CASE_ALREADY_CLOSED)] == ["这条跟踪已经处理过了，不能重复处理。"]
    case.refresh_from_db()
    assert (case.outcome, case.closed_by) == (CaseOutcome.CHILD_FOUND, world.users["admin"])


@pytest.mark.parametrize(
    ("outcome", "note", "field", "message"),
    [
        (CaseOutcome.OTHER, "  ", "note", "选择“其他”时，请写明处理情况。"),
        ("lost", "", "outcome", "请选择处理结果。"),
    ],
)
def test_what_happened_needs_an_outcome_and_for_other_a_note(world, case, outcome, note, field, message):
    with pytest.raises(ValidationError) as caught:
        absence_case_close(actor=world.users["admin"], case=case, outcome=outcome, note=note)

    assert caught.value.message_dict == {field: [message]}
    assert str(NOTE_REQUIRED_FOR_OTHER if field == "note" else UNKNOWN_OUTCOME) == message
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN


# Constant queries -----------------------------------------------------------------------------


def grow(world, basic_care, size: int) -> list:
    """Children of 3-1 enrolled in its basic care, each with a guardian."""
    children = []
    for n in range(size):
        child = StudentFactory(classroom=world.classroom, name=f"学生{n:02d}")
        GuardianFactory(student=child, name=f"家长{n:02d}")
        setup.enroll(world, child, [basic_care])
        children.append(child)
    Enrollment.objects.filter(offering=basic_care).update(joined_on=basic_care.term.starts_on)
    return children


def test_the_absence_path_costs_the_same_for_one_child_and_for_many(
    world, session, basic_care, committee_child, django_assert_num_queries
):
    teacher = world.users["admin"]
    others = grow(world, basic_care, 12)
    everyone = [world.child, committee_child, *others]
    mark(session, teacher, {c.pk: Mark.PRESENT for c in everyone})

    def absent(children):
        marks = {c.pk: Mark.PRESENT for c in everyone} | {c.pk: Mark.ABSENT for c in children}
        return mark(session, teacher, marks)

    # The helper's version read, the save (the sheet with the day's leave, the claim of the session,
    # marks and their history), and the cases: earlier ones of these children, new ones and their
    # history. The alerts go out from a task after the commit.
    with django_assert_num_queries(8):
        absent([world.child])
    with django_assert_num_queries(8):
        absent([world.child, committee_child, *others])
    assert AbsenceCase.objects.filter(status=CaseStatus.OPEN).count() == 14


# Sessions without roll-call -------------------------------------------------------------------


@pytest.fixture
def day(world, session, football_session):
    """Today's three sessions: basic care of 3-1 and 3-2, and football, all from 16:10."""
    return Session.objects.filter(date=TODAY)


def test_no_alert_before_fifteen_minutes(world, day):
    assert alert_unmarked_sessions(now=at(16, 24)) == 0

    assert not Notification.objects.filter(url__startswith="/attendance/").exists()


def test_sessions_without_roll_call_alert_their_teachers_and_the_administrators_once(world, day, session):
    assert alert_unmarked_sessions(now=at(16, 25)) == 3

    url = reverse("attendance:roll-call", args=[session.pk])
    assert notifications(world.users["homeroom"]) == [
        (
            "三年级（1）班 基础托管 尚未点名",
            "“三年级（1）班 基础托管”16:10 开始，已过 15 分钟仍未点名。请尽快点名，或安排他人代为点名。",
            url,
        )
    ]
    assert [title for title, _, _ in notifications(world.users["service_teacher"])] == ["足球 尚未点名"]
    assert sorted(title for title, _, _ in notifications(world.users["admin"])) == [
        "三年级（1）班 基础托管 尚未点名",
        "三年级（2）班 基础托管 尚未点名",
        "足球 尚未点名",
    ]
    assert notifications(world.users["principal"]) == []
    assert notifications(world.users["parent"]) == []
    assert set(day.values_list("unmarked_alerted_at", flat=True)) == {at(16, 25)}

    assert alert_unmarked_sessions(now=at(16, 40)) == 0
    assert len(notifications(world.users["admin"])) == 3


def test_cancelled_and_marked_sessions_are_not_alerted(world, day, session, football_session):
    session_cancel(actor=world.users["admin"], session=session, reason="秋游")
    mark(football_session, world.users["service_teacher"], {world.child.pk: Mark.PRESENT})
    last = Notification.objects.order_by("pk").last()

    assert alert_unmarked_sessions(now=at(16, 30)) == 1

    alerts = Notification.objects.filter(pk__gt=last.pk)
    assert sorted((n.user.username, n.title) for n in alerts) == [
        ("admin", "三年级（2）班 基础托管 尚未点名"),
        ("other_homeroom", "三年级（2）班 基础托管 尚未点名"),
    ]
    assert Session.objects.get(pk=session.pk).unmarked_alerted_at is None


def test_other_days_are_not_alerted(world, enrolled):
    setup.sessions_prepare(school=world.school, day=TODAY - timedelta(days=3))

    assert alert_unmarked_sessions(now=at(16, 30)) == 0


def test_the_unmarked_alert_costs_the_same_for_few_sessions_and_many(
    world, enrolled, django_assert_num_queries
):
    setup.sessions_prepare(school=world.school, day=TODAY)
    # The session lock, teachers, provider staff, administrators, notifications, the update.
    with django_assert_num_queries(8):
        assert alert_unmarked_sessions(now=at(16, 30)) == 3
    Session.objects.update(unmarked_alerted_at=None)
    term = world.school.terms.get()
    for name in ("书法", "合唱", "剪纸", "武术"):
        course = catalogue.offering_create(
            actor=world.users["admin"],
            term=term,
            kind="course",
            name=name,
            domain="aesthetic",
            grades=[3],
            capacity=30,
            weekdays=[0],
            fee_mode="free",
            teachers=[world.users["provider"]],
        )
        catalogue.offering_publish(actor=world.users["admin"], offering=course)
    setup.sessions_prepare(school=world.school, day=TODAY)
    with django_assert_num_queries(8):
        assert alert_unmarked_sessions(now=at(16, 30)) == 7


# The text gateway -----------------------------------------------------------------------------


class FlakyGateway:
    """Fails for one number the first time it is tried."""

    tried: list[str] = []

    def send(self, phone, text):
        FlakyGateway.tried.append(phone)
        if phone == "13900000002" and FlakyGateway.tried.count(phone) == 1:
            raise OSError("gateway unreachable")
        sms.outbox.append((phone, text))


def test_the_console_gateway_keeps_what_it_sent(caplog):
    with caplog.at_level("INFO", logger="aftercare.sms"):
        assert send_sms_task.delay(["13800000001", "13800000001"], "你好").get() == 1

    assert sms.outbox == [("13800000001", "你好")]
    # The log does not hold a family's full number.
    assert "138****0001" in caplog.text and "13800000001" not in caplog.text


def test_a_failed_text_is_retried_for_the_failed_number_only(settings):
    settings.AFTERCARE_SMS_GATEWAY = "tests.attendance.test_alerts.FlakyGateway"
    FlakyGateway.tried = []

    send_sms_task.delay(["13900000001", "13900000002"], "测试")

    assert FlakyGateway.tried == ["13900000001", "13900000002", "13900000002"]
    assert sms.outbox == [("13900000001", "测试"), ("13900000002", "测试")]
