"""The family's services: leave (请假) and early pick-up, pick-up people, the go-home-alone
permission; and the reads of a family's records and of the school's leave."""

from datetime import date, time, timedelta

import pytest
from django.core.exceptions import ValidationError

from aftercare.models import Notification
from attendance import family
from attendance.family import (
    family_records,
    leave_request_cancel,
    leave_request_create,
    pickup_arrangement_update,
    pickup_person_add,
    pickup_person_remove,
    school_leaves,
)
from attendance.models import (
    AbsenceCase,
    ChildAttendance,
    HandOver,
    LeaveKind,
    LeaveRequest,
    LeaveStatus,
    Mark,
    PickupArrangement,
    PickupPerson,
)
from attendance.sessions import session_roster
from tests.factories import StudentFactory

from .conftest import TODAY, at

TOMORROW = TODAY + timedelta(days=1)
SATURDAY = date(2026, 10, 17)


def ask_leave(
    world,
    *,
    student=None,
    kind=LeaveKind.ABSENT,
    starts_on=TODAY,
    ends_on=None,
    pickup_at=None,
    reason="看牙医",
):
    return leave_request_create(
        actor=world.users["parent"],
        student=student or world.child,
        kind=kind,
        starts_on=starts_on,
        ends_on=ends_on,
        pickup_at=pickup_at,
        reason=reason,
    )


def told() -> dict[str, list[str]]:
    """Who was notified, with the titles each received."""
    titles: dict[str, list[str]] = {}
    for username, title in Notification.objects.order_by("pk").values_list("user__username", "title"):
        titles.setdefault(username, []).append(title)
    return titles


@pytest.fixture
def quiet(world, enrolled):
    """The enrollment's own notices are out of the way."""
    Notification.objects.all().delete()
    return world


# Leave -----------------------------------------------------------------------------------------


def test_a_days_leave_shows_on_the_roster_and_tells_the_teachers_once(
    world, session, football_session, quiet
):
    leave = ask_leave(world)

    leave.refresh_from_db()
    assert (leave.kind, leave.starts_on, leave.ends_on, leave.pickup_at, leave.status) == (
        LeaveKind.ABSENT,
        TODAY,
        TODAY,
        None,
        LeaveStatus.ACTIVE,
    )
    assert (leave.school, leave.requested_by, leave.reason) == (world.school, world.users["parent"], "看牙医")
    assert leave.history.get().history_user == world.users["parent"]
    rows = {row.student.name: row for row in session_roster(session)}
    assert rows["张小明"].is_expected is False
    assert rows["张小明"].current_mark == Mark.LEAVE
    assert rows["陈小华"].current_mark == Mark.PRESENT
    football_rows = {row.student.name: row for row in session_roster(football_session)}
    assert football_rows["张小明"].leave == leave
    # The homeroom teacher leads basic care too: one notice each.
    assert told() == {"homeroom": ["张小明 请假 10月12日"], "service_teacher": ["张小明 请假 10月12日"]}
    body = Notification.objects.filter(user=world.users["homeroom"]).get().body
    assert body == "三年级（1）班 张小明：请假 10月12日。事由：看牙医。"


def test_leave_on_days_not_prepared_yet_tells_the_homeroom_teacher(world, quiet):
    ask_leave(world, starts_on=TOMORROW, ends_on=TODAY + timedelta(days=3), reason="回老家")

    assert told() == {"homeroom": ["张小明 请假 10月13日–10月15日"]}


def test_an_early_pick_up_keeps_the_child_expected_with_its_time(world, session, quiet):
    leave = ask_leave(world, kind=LeaveKind.EARLY_PICKUP, pickup_at=time(16, 40), reason="学钢琴")

    assert (leave.starts_on, leave.ends_on, leave.pickup_at) == (TODAY, TODAY, time(16, 40))
    row = next(row for row in session_roster(session) if row.student == world.child)
    assert row.is_expected is True
    assert row.early_pickup == leave
    # Today's sessions are prepared: basic care (its teacher is the homeroom teacher) and football.
    assert told() == {
        "homeroom": ["张小明 提前接走 10月12日 16:40"],
        "service_teacher": ["张小明 提前接走 10月12日 16:40"],
    }


def test_a_time_given_with_a_days_leave_is_not_kept(world, enrolled):
    leave = ask_leave(world, pickup_at=time(16, 40))

    assert leave.pickup_at is None


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        (
            {"starts_on": TOMORROW, "ends_on": TODAY},
            {"ends_on": ["结束日期不能早于开始日期。"]},
        ),
        (
            {"starts_on": TODAY - timedelta(days=1)},
            {"starts_on": ["不能为已经过去的日期请假。"]},
        ),
        (
            {"starts_on": TODAY, "ends_on": TODAY + timedelta(days=31)},
            {"ends_on": ["一次请假最长 31 天，更长的请假请分次提交。"]},
        ),
        (
            {"starts_on": date(2027, 1, 18), "ends_on": date(2027, 1, 22)},
            {"starts_on": ["请假日期须在本学期（2026-09-01 至 2027-01-20）之内。"]},
        ),
        ({"reason": "  "}, {"reason": ["请填写请假事由。"]}),
        ({"kind": "holiday"}, {"kind": ["请选择请假类型。"]}),
        ({"starts_on": None}, {"starts_on": ["请选择日期。"]}),
        (
            {"kind": LeaveKind.EARLY_PICKUP},
            {"pickup_at": ["提前接走请填写接走时间。"]},
        ),
        (
            {"kind": LeaveKind.EARLY_PICKUP, "pickup_at": time(16, 30), "ends_on": TOMORROW},
            {"ends_on": ["提前接走只能选择一天。"]},
        ),
        (
            {"kind": LeaveKind.EARLY_PICKUP, "pickup_at": time(17, 45)},
            {"pickup_at": ["接走时间须在当天课后服务时段（16:10–17:45）之内。"]},
        ),
        (
            {"kind": LeaveKind.EARLY_PICKUP, "pickup_at": time(15, 0)},
            {"pickup_at": ["接走时间须在当天课后服务时段（16:10–17:45）之内。"]},
        ),
        (
            {"kind": LeaveKind.EARLY_PICKUP, "pickup_at": time(16, 30), "starts_on": SATURDAY},
            {"starts_on": ["张小明 当天没有课后服务，无需提前接走。"]},
        ),
    ],
)
def test_leave_is_refused_with_a_clear_message(world, quiet, fields, errors):
    with pytest.raises(ValidationError) as refused:
        ask_leave(world, **fields)

    assert refused.value.message_dict == errors
    assert not LeaveRequest.objects.exists()
    assert told() == {}


def test_leave_overlapping_an_active_one_is_refused(world, quiet):
    ask_leave(world, starts_on=TODAY, ends_on=TODAY + timedelta(days=2))

    with pytest.raises(ValidationError) as refused:
        ask_leave(world, kind=LeaveKind.EARLY_PICKUP, starts_on=TOMORROW, pickup_at=time(16, 30))

    assert refused.value.messages == ["10月12日–10月14日 已有请假（不参加），如需修改，请先撤销原来的请假。"]
    assert LeaveRequest.objects.count() == 1


def test_leave_after_a_cancelled_one_is_accepted(world, quiet):
    first = ask_leave(world)
    leave_request_cancel(actor=world.users["parent"], leave=first)

    second = ask_leave(world, reason="发烧")

    assert list(LeaveRequest.objects.filter(status=LeaveStatus.ACTIVE)) == [second]


def test_a_child_without_service_this_term_needs_no_leave(world, quiet):
    newcomer = StudentFactory(classroom=world.classroom, name="王小新")

    with pytest.raises(ValidationError) as refused:
        ask_leave(world, student=newcomer)

    assert refused.value.messages == ["王小新 本学期没有参加课后服务，无需请假。"]
    assert not LeaveRequest.objects.exists()


def test_cancelling_leave_tells_the_teachers_and_keeps_the_history(world, session, quiet):
    leave = ask_leave(world)
    Notification.objects.all().delete()

    leave_request_cancel(actor=world.users["parent"], leave=leave)

    leave.refresh_from_db()
    assert leave.status == LeaveStatus.CANCELLED
    latest = leave.history.order_by("-history_id").first()
    assert (latest.status, latest.history_user) == (LeaveStatus.CANCELLED, world.users["parent"])
    assert told() == {
        "homeroom": ["张小明 已撤销请假 10月12日"],
        "service_teacher": ["张小明 已撤销请假 10月12日"],
    }
    row = next(row for row in session_roster(session) if row.student == world.child)
    assert row.is_expected is True


def test_leave_is_cancelled_once_and_not_after_it_ended(world, quiet):
    leave = ask_leave(world)
    leave_request_cancel(actor=world.users["parent"], leave=leave)
    with pytest.raises(ValidationError) as twice:
        leave_request_cancel(actor=world.users["parent"], leave=leave)
    assert twice.value.messages == ["这次请假已经撤销。"]

    ended = LeaveRequest.objects.create(
        school=world.school,
        student=world.child,
        starts_on=TODAY - timedelta(days=3),
        ends_on=TODAY - timedelta(days=1),
        reason="感冒",
    )
    with pytest.raises(ValidationError) as late:
        leave_request_cancel(actor=world.users["parent"], leave=ended)
    assert late.value.messages == ["这次请假已经结束，不能撤销。"]
    ended.refresh_from_db()
    assert ended.status == LeaveStatus.ACTIVE


# Pick-up people --------------------------------------------------------------------------------


def add_person(world, name="王外婆", relation="外婆", phone="13700001111"):
    return pickup_person_add(
        actor=world.users["parent"], student=world.child, name=name, relation=relation, phone=phone
    )


def test_a_guardian_authorises_a_pick_up_person(world):
    person = add_person(world, name=" 王外婆 ")

    person.refresh_from_db()
    assert (person.student, person.name, person.relation, person.phone, person.is_active) == (
        world.child,
        "王外婆",
        "外婆",
        "13700001111",
        True,
    )
    assert (person.added_by, person.history.get().history_user) == (
        world.users["parent"],
        world.users["parent"],
    )


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"phone": "1370000111"}, {"phone": ["请输入11位手机号码。"]}),
        ({"phone": "23700001111"}, {"phone": ["请输入11位手机号码。"]}),
        ({"name": ""}, {"name": ["请填写接送人姓名。"]}),
        ({"relation": " "}, {"relation": ["请填写与孩子的关系。"]}),
    ],
)
def test_a_pick_up_person_needs_a_name_a_relation_and_a_mobile(world, fields, errors):
    with pytest.raises(ValidationError) as refused:
        add_person(world, **fields)

    assert refused.value.message_dict == errors
    assert not PickupPerson.objects.exists()


def test_at_most_six_people_and_each_number_once(world):
    for n in range(6):
        add_person(world, name=f"接送人{n}", phone=f"1370000000{n}")

    with pytest.raises(ValidationError) as too_many:
        add_person(world, name="第七位", phone="13700000009")
    with pytest.raises(ValidationError) as same_phone:
        add_person(world, name="同号码", phone="13700000003")

    assert too_many.value.messages == ["最多只能添加 6 位授权接送人，请先移除一位。"]
    assert same_phone.value.message_dict == {"phone": ["手机号码 13700000003 已在授权接送人名单中。"]}
    assert PickupPerson.objects.count() == 6


def test_removing_a_person_keeps_the_row_and_frees_a_place(world):
    people = [add_person(world, name=f"接送人{n}", phone=f"1370000000{n}") for n in range(6)]

    pickup_person_remove(actor=world.users["parent"], person=people[0])

    people[0].refresh_from_db()
    assert people[0].is_active is False
    assert people[0].history.order_by("-history_id").first().history_user == world.users["parent"]
    add_person(world, name="新接送人", phone="13700000009")
    assert PickupPerson.objects.filter(student=world.child, is_active=True).count() == 6
    with pytest.raises(ValidationError) as twice:
        pickup_person_remove(actor=world.users["parent"], person=people[0])
    assert twice.value.messages == ["接送人0 已经不在授权接送人名单中。"]


def test_the_go_home_alone_permission_is_one_row_with_its_history(world):
    pickup_arrangement_update(actor=world.users["parent"], student=world.child, may_go_home_alone=True)
    pickup_arrangement_update(actor=world.users["parent"], student=world.child, may_go_home_alone=False)

    arrangement = PickupArrangement.objects.get()
    assert (arrangement.student, arrangement.may_go_home_alone, arrangement.updated_by) == (
        world.child,
        False,
        world.users["parent"],
    )
    assert [h.may_go_home_alone for h in arrangement.history.order_by("history_id")] == [True, False]


# Reads -----------------------------------------------------------------------------------------


def mark(session, student, value=Mark.PRESENT, who=None):
    return ChildAttendance.objects.create(
        session=session, student=student, mark=value, marked_by=who, marked_at=at(16, 15, session.date)
    )


def test_a_familys_records(world, session, football_session, quiet):
    mark(session, world.child)
    mark(football_session, world.child, Mark.LATE)
    mark(session, world.classroom.students.get(name="陈小华"))
    father = world.child.guardians.get(name="张爸爸")
    HandOver.objects.create(
        session=session,
        student=world.child,
        guardian=father,
        collected_by_name=str(father),
        handed_over_at=at(17, 40),
    )
    case = AbsenceCase.objects.create(
        school=world.school, session=session, student=world.child, opened_at=at(16, 30)
    )
    leave = ask_leave(world, starts_on=TOMORROW)
    person = add_person(world)
    pickup_arrangement_update(actor=world.users["parent"], student=world.child, may_go_home_alone=True)

    (record,) = family_records([world.child.pk])

    assert record.student == world.child
    assert record.leaves == [leave]
    assert [(line.mark.session.offering.name, line.mark.mark) for line in record.attendance] == [
        ("三年级（1）班 基础托管", Mark.PRESENT),
        ("足球", Mark.LATE),
    ]
    assert record.attendance[0].hand_over.collected_by_name == "张爸爸（父亲）"
    assert record.attendance[1].hand_over is None
    assert record.open_cases == [case]
    assert [g.name for g in record.guardians] == ["张爸爸", "张妈妈"]
    assert record.pickup_people == [person]
    assert record.may_go_home_alone is True


def test_a_familys_records_take_eight_queries_whatever_their_size(world, session, django_assert_num_queries):
    mark(session, world.child)
    with django_assert_num_queries(8):
        family_records([world.child.pk])

    second = StudentFactory(classroom=world.other_classroom, name="张小丽")
    for offset in range(1, 20):
        day = TODAY - timedelta(days=offset)
        other = session.__class__.objects.create(
            school=world.school, term=session.term, offering=session.offering, date=day
        )
        mark(other, world.child, Mark.ABSENT)
        AbsenceCase.objects.create(
            school=world.school, session=other, student=world.child, opened_at=at(16, 30, day)
        )
    for n in range(3):
        add_person(world, name=f"接送人{n}", phone=f"1370000000{n}")
    with django_assert_num_queries(8):
        records = family_records([world.child.pk, second.pk])
    assert [len(r.attendance) for r in records] == [20, 0]


def test_the_school_sees_leave_by_who_teaches_whom(world, football_session, quiet):
    zhang = ask_leave(world, starts_on=TOMORROW)
    chen = ask_leave(world, student=world.classroom.students.get(name="陈小华"), reason="发烧")
    li = ask_leave(world, student=world.other_child, starts_on=TODAY + timedelta(days=3), reason="比赛")

    def names(**scope):
        return [leave.student.name for leave in school_leaves(school=world.school, today=TODAY, **scope)]

    assert names(whole_school=True) == ["陈小华", "张小明", "李小红"]
    assert names(classroom_ids={world.classroom.pk}) == ["陈小华", "张小明"]
    assert names(classroom_ids={world.other_classroom.pk}) == ["李小红"]
    # Football's teacher: 张小明 only (陈小华 is not in football).
    assert names(teacher=world.users["service_teacher"]) == ["张小明"]
    assert names(teacher=world.users["provider"]) == []
    assert names(whole_school=True, day=TOMORROW) == ["张小明"]
    assert names(whole_school=True, day=TODAY) == ["陈小华"]
    leave_request_cancel(actor=world.users["parent"], leave=zhang)
    assert names(whole_school=True) == ["陈小华", "李小红"]
    assert (chen.pk, li.pk) == tuple(
        school_leaves(school=world.school, today=TODAY, whole_school=True).values_list("pk", flat=True)
    )


def test_labels():
    assert family.dates_label(TODAY, TODAY) == "10月12日"
    assert family.dates_label(TODAY, TOMORROW) == "10月12日–10月13日"
