"""Hand-over (交接) services: recording who collected a child, the refusals, the undo, the page's
sheet, and the alert on children not handed over after the end."""

from datetime import time
from unittest import mock

import pytest
from django.core.exceptions import ValidationError

from aftercare.models import Guardian, Notification
from attendance.family import pickup_arrangement_update, pickup_person_add, pickup_person_remove
from attendance.handover import (
    alert_missing_hand_overs,
    hand_over_record,
    hand_over_sheet,
    hand_over_undo,
    session_has_ended,
)
from attendance.models import ChildAttendance, HandOver, LeaveKind, LeaveRequest, Mark, SessionStatus
from attendance.sessions import session_cancel
from tests.factories import StudentFactory

from . import setup
from .conftest import TODAY, at


def take_roll(session, marks: dict, *, by=None, moment=None):
    """The roll as the roll-call page saves it: one mark per child, the session stamped."""
    moment = moment or at(16, 15)
    for student, value in marks.items():
        ChildAttendance.objects.create(
            session=session, student=student, mark=value, marked_by=by, marked_at=moment
        )
    session.roll_taken_at = moment
    session.roll_taken_by = by
    session.save(update_fields=["roll_taken_at", "roll_taken_by"])


@pytest.fixture
def chen(world):
    return world.classroom.students.get(name="陈小华")


@pytest.fixture
def father(world) -> Guardian:
    return world.child.guardians.get(name="张爸爸")


@pytest.fixture
def present(world, session, chen):
    """Roll taken in 3-1's basic care: both children present."""
    take_roll(session, {world.child: Mark.PRESENT, chen: Mark.PRESENT}, by=world.users["homeroom"])
    return session


def hand_over(world, session, student=None, **collector):
    return hand_over_record(
        actor=world.users["homeroom"],
        session=session,
        student=student or world.child,
        at=at(17, 40),
        **collector,
    )


# Recording -------------------------------------------------------------------------------------


def test_handing_over_to_a_guardian(world, present, father):
    record = hand_over(world, present, guardian=father)

    record.refresh_from_db()
    assert (
        record.session,
        record.student,
        record.guardian,
        record.pickup_person,
        record.went_home_alone,
    ) == (
        present,
        world.child,
        father,
        None,
        False,
    )
    assert (record.collected_by_name, record.handed_over_at, record.recorded_by) == (
        "张爸爸（父亲）",
        at(17, 40),
        world.users["homeroom"],
    )
    assert record.history.get().history_user == world.users["homeroom"]


def test_handing_over_to_an_authorised_person(world, present):
    grandmother = pickup_person_add(
        actor=world.users["parent"], student=world.child, name="王外婆", relation="外婆", phone="13700001111"
    )

    record = hand_over(world, present, pickup_person=grandmother)

    assert (record.pickup_person, record.collected_by_name) == (grandmother, "王外婆（外婆）")


def test_going_home_alone_where_the_guardians_allow_it(world, present):
    pickup_arrangement_update(actor=world.users["parent"], student=world.child, may_go_home_alone=True)

    record = hand_over(world, present, went_home_alone=True)

    assert (record.went_home_alone, record.collected_by_name, record.guardian, record.pickup_person) == (
        True,
        "",
        None,
        None,
    )


def test_a_late_child_is_handed_over_too(world, session, chen, father):
    take_roll(session, {world.child: Mark.LATE, chen: Mark.PRESENT})

    assert hand_over(world, session, guardian=father).student == world.child


def refused(call) -> list[str]:
    with pytest.raises(ValidationError) as error:
        call()
    return error.value.messages


def test_another_childs_person_is_refused(world, present):
    other_parent = world.other_child.guardians.get(name="李妈妈")
    chen_people = pickup_person_add(
        actor=world.users["committee"],
        student=world.classroom.students.get(name="陈小华"),
        name="陈奶奶",
        relation="奶奶",
        phone="13700002222",
    )

    assert refused(lambda: hand_over(world, present, guardian=other_parent)) == [
        "所选接走人不是 张小明 的监护人或授权接送人。"
    ]
    assert refused(lambda: hand_over(world, present, pickup_person=chen_people)) == [
        "所选接走人不是 张小明 的监护人或授权接送人。"
    ]
    assert not HandOver.objects.exists()


def test_a_removed_person_may_no_longer_collect(world, present):
    person = pickup_person_add(
        actor=world.users["parent"], student=world.child, name="王外婆", relation="外婆", phone="13700001111"
    )
    pickup_person_remove(actor=world.users["parent"], person=person)
    person.refresh_from_db()

    assert refused(lambda: hand_over(world, present, pickup_person=person)) == [
        "所选接走人不是 张小明 的监护人或授权接送人。"
    ]
    assert not HandOver.objects.exists()


def test_going_home_alone_without_permission_is_refused(world, present):
    pickup_arrangement_update(actor=world.users["parent"], student=world.child, may_go_home_alone=False)

    assert refused(lambda: hand_over(world, present, went_home_alone=True)) == [
        "张小明 的家长没有允许孩子自行回家。"
    ]
    assert not HandOver.objects.exists()


def test_a_child_is_handed_over_once(world, present, father):
    hand_over(world, present, guardian=father)
    mother = world.child.guardians.get(name="张妈妈")

    assert refused(lambda: hand_over(world, present, guardian=mother)) == [
        "已交接给 张爸爸（父亲）（17:40）。"
    ]
    assert HandOver.objects.get().guardian == father


def test_a_child_gone_home_alone_is_not_handed_over_again(world, present, father):
    pickup_arrangement_update(actor=world.users["parent"], student=world.child, may_go_home_alone=True)
    hand_over(world, present, went_home_alone=True)

    assert refused(lambda: hand_over(world, present, guardian=father)) == ["已登记自行回家（17:40）。"]


@pytest.mark.parametrize("value", [Mark.ABSENT, Mark.LEAVE, None])
def test_only_a_child_present_or_late_is_handed_over(world, session, chen, father, value):
    take_roll(session, {chen: Mark.PRESENT, **({world.child: value} if value else {})})

    assert refused(lambda: hand_over(world, session, guardian=father)) == [
        "张小明 在本场次没有点名为出勤或迟到，不能交接。"
    ]
    assert not HandOver.objects.exists()


def test_a_cancelled_session_takes_no_hand_over(world, present, father):
    session_cancel(actor=world.users["admin"], session=present, reason="暴雨预警")

    assert refused(lambda: hand_over(world, present, guardian=father)) == ["这一场次已经取消，不能记录交接。"]


def test_exactly_one_collector(world, present, father):
    pickup_arrangement_update(actor=world.users["parent"], student=world.child, may_go_home_alone=True)

    assert refused(lambda: hand_over(world, present)) == ["请选择一位接走人。"]
    assert refused(lambda: hand_over(world, present, guardian=father, went_home_alone=True)) == [
        "请选择一位接走人。"
    ]
    assert not HandOver.objects.exists()


# Undo ------------------------------------------------------------------------------------------


def test_undo_on_the_day_removes_the_record_and_keeps_its_history(world, present, father):
    record = hand_over(world, present, guardian=father)

    hand_over_undo(actor=world.users["admin"], hand_over=record)

    assert not HandOver.objects.exists()
    removal = HandOver.history.order_by("-history_id").first()
    assert (removal.history_type, removal.history_user, removal.student_id) == (
        "-",
        world.users["admin"],
        world.child.pk,
    )
    # Taken back, the child can be handed over again.
    assert hand_over(world, present, guardian=world.child.guardians.get(name="张妈妈")).collected_by_name == (
        "张妈妈（母亲）"
    )


def test_undo_is_refused_after_the_day_and_once_done(world, present, father):
    record = hand_over(world, present, guardian=father)

    with mock.patch("django.utils.timezone.localdate", return_value=TODAY.replace(day=13)):
        assert refused(lambda: hand_over_undo(actor=world.users["homeroom"], hand_over=record)) == [
            "只能在场次当天撤销交接记录。"
        ]
    assert HandOver.objects.filter(pk=record.pk).exists()
    hand_over_undo(actor=world.users["homeroom"], hand_over=record)
    assert refused(lambda: hand_over_undo(actor=world.users["homeroom"], hand_over=record)) == [
        "这条交接记录已经撤销。"
    ]


# The sheet -------------------------------------------------------------------------------------


def test_the_sheet_lists_early_pick_ups_first_and_leave_apart(world, session, chen, football_session, father):
    newcomer = StudentFactory(classroom=world.classroom, name="周小安")
    setup.enroll(world, newcomer, [session.offering])
    late_leaver = StudentFactory(classroom=world.classroom, name="吴小乐")
    setup.enroll(world, late_leaver, [session.offering])
    for leave in (
        LeaveRequest(student=chen, kind=LeaveKind.EARLY_PICKUP, pickup_at=time(17, 0), reason="学琴"),
        LeaveRequest(student=late_leaver, kind=LeaveKind.EARLY_PICKUP, pickup_at=time(16, 30), reason="看病"),
        LeaveRequest(student=newcomer, kind=LeaveKind.ABSENT, reason="发烧"),
    ):
        leave.school, leave.starts_on, leave.ends_on = world.school, TODAY, TODAY
        leave.save()
    take_roll(session, {world.child: Mark.PRESENT, chen: Mark.LATE, late_leaver: Mark.PRESENT})
    pickup_arrangement_update(actor=world.users["parent"], student=world.child, may_go_home_alone=True)

    sheet = hand_over_sheet(session, viewer=world.users["service_teacher"], now=at(17, 0))

    assert [row.student.name for row in sheet.pending] == ["吴小乐", "陈小华", "张小明"]
    assert [row.student.name for row in sheet.on_leave] == ["周小安"]
    assert sheet.done == [] and sheet.absent == [] and sheet.unmarked == []
    zhang = sheet.pending[2]
    # A teacher of another class sees the guardians' numbers masked.
    assert [(c.value, c.label, c.phone) for c in zhang.collectors] == [
        (f"g-{father.pk}", "张爸爸（父亲）", "138****1234"),
        (
            f"g-{world.child.guardians.get(name='张妈妈').pk}",
            "张妈妈（母亲）",
            mask(world.users["parent"].phone),
        ),
        ("alone", "自行回家", ""),
    ]
    assert sheet.is_over is False and sheet.missing == []

    hand_over(world, session, guardian=father)
    after = hand_over_sheet(session, viewer=world.users["homeroom"], now=at(17, 46))
    assert [row.student.name for row in after.done] == ["张小明"]
    assert [row.student.name for row in after.missing] == ["吴小乐", "陈小华"]
    # The homeroom teacher of 3-1 sees the numbers in full.
    assert after.pending[0].collectors == []
    assert after.done[0].collectors[0].phone == "13812341234"


def mask(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}"


def test_a_session_ends_at_its_end_time():
    session = mock.Mock(date=TODAY, ends_at=time(17, 45))

    assert session_has_ended(session, at(17, 45)) is False
    assert session_has_ended(session, at(17, 46)) is True
    assert session_has_ended(mock.Mock(date=TODAY, ends_at=None), at(23, 0)) is False


def test_the_sheet_takes_seven_queries_whatever_the_class_size(world, present, django_assert_num_queries):
    viewer = world.users["homeroom"]
    # Seven, and the viewer's roles once (for the phones; a page has them loaded already).
    with django_assert_num_queries(8):
        small = hand_over_sheet(present, viewer=viewer, now=at(17, 0))
    setup.grow_class(world, present, 30)
    with django_assert_num_queries(7):
        large = hand_over_sheet(present, viewer=viewer, now=at(17, 0))
    assert (len(small.pending), len(large.pending)) == (2, 30)


# The alert -------------------------------------------------------------------------------------


@pytest.fixture
def quiet(world, enrolled):
    Notification.objects.all().delete()


def test_children_still_there_after_the_end_are_alerted_once(world, present, father, quiet):
    hand_over(world, present, guardian=father)

    assert alert_missing_hand_overs(now=at(17, 45)) == 0
    assert alert_missing_hand_overs(now=at(17, 50)) == 1

    present.refresh_from_db()
    assert present.handover_alerted_at == at(17, 50)
    notices = Notification.objects.order_by("user__username")
    assert [n.user.username for n in notices] == ["admin", "homeroom"]
    notice = notices[0]
    assert notice.title == "未交接：三年级（1）班 基础托管"
    assert (
        notice.body
        == "三年级（1）班 基础托管（17:45 结束）还有 1 名学生未登记交接：陈小华。请确认孩子已安全离校。"
    )
    assert notice.url == f"/attendance/sessions/{present.pk}/hand-over/"
    assert notice.school == world.school
    assert alert_missing_hand_overs(now=at(18, 0)) == 0
    assert Notification.objects.count() == 2


def test_no_alert_when_every_child_is_handed_over_or_the_roll_is_not_taken(
    world, session, chen, father, quiet
):
    assert alert_missing_hand_overs(now=at(18, 0)) == 0

    take_roll(session, {world.child: Mark.PRESENT, chen: Mark.ABSENT})
    hand_over(world, session, guardian=father)
    assert alert_missing_hand_overs(now=at(18, 0)) == 0
    assert not Notification.objects.exists()
    session.refresh_from_db()
    assert session.handover_alerted_at is None


def test_no_alert_for_a_cancelled_session_or_another_day(world, present, quiet):
    assert alert_missing_hand_overs(now=at(18, 0, TODAY.replace(day=13))) == 0
    present.status = SessionStatus.CANCELLED
    present.save(update_fields=["status"])
    assert alert_missing_hand_overs(now=at(18, 0)) == 0
    assert not Notification.objects.exists()


def test_the_alert_takes_the_same_queries_for_one_session_or_many(
    world, present, football_session, quiet, django_assert_num_queries
):
    # Eight, within a savepoint (the test runs in a transaction).
    with django_assert_num_queries(10):
        assert alert_missing_hand_overs(now=at(17, 50)) == 1

    present.handover_alerted_at = None
    present.save(update_fields=["handover_alerted_at"])
    take_roll(football_session, {world.child: Mark.PRESENT})
    setup.grow_class(world, present, 12)
    Notification.objects.all().delete()
    with django_assert_num_queries(10):
        assert alert_missing_hand_overs(now=at(18, 30)) == 2
    told = sorted(Notification.objects.values_list("user__username", "title"))
    assert told == [
        ("admin", "未交接：三年级（1）班 基础托管"),
        ("admin", "未交接：足球"),
        ("homeroom", "未交接：三年级（1）班 基础托管"),
        ("service_teacher", "未交接：足球"),
    ]
