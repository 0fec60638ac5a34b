"""The family pages and the school's list of leave, through HTTP, by persona."""

from datetime import time, timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aftercare.models import Notification
from attendance.family import leave_request_create, pickup_person_add
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
    Session,
)
from attendance.sessions import session_roster
from tests.factories import GuardianFactory, StudentFactory

from .conftest import TODAY, at

TOMORROW = TODAY + timedelta(days=1)
HOME = reverse("attendance:family-home")
LEAVE_LIST = reverse("attendance:leave-list")


def message_texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def leave_url(student) -> str:
    return reverse("attendance:leave-create", args=[student.pk])


def pickup_url(student) -> str:
    return reverse("attendance:pickup-edit", args=[student.pk])


def ask_leave(world, student=None, *, actor="parent", starts_on=TODAY, reason="看牙医", **fields):
    return leave_request_create(
        actor=world.users[actor],
        student=student or world.child,
        kind=fields.pop("kind", LeaveKind.ABSENT),
        starts_on=starts_on,
        ends_on=fields.pop("ends_on", None),
        pickup_at=fields.pop("pickup_at", None),
        reason=reason,
    )


# Family home -----------------------------------------------------------------------------------


def test_a_parent_sees_their_childs_day(world, session, as_user):
    ChildAttendance.objects.create(
        session=session, student=world.child, mark=Mark.PRESENT, marked_at=at(16, 15)
    )
    HandOver.objects.create(
        session=session,
        student=world.child,
        guardian=world.child.guardians.get(name="张爸爸"),
        collected_by_name="张爸爸（父亲）",
        handed_over_at=at(17, 42),
    )
    AbsenceCase.objects.create(
        school=world.school, session=session, student=world.child, opened_at=at(16, 30)
    )
    ask_leave(world, starts_on=TOMORROW, reason="回老家")
    pickup_person_add(
        actor=world.users["parent"], student=world.child, name="王外婆", relation="外婆", phone="13700001111"
    )

    response = as_user("parent").get(HOME)

    assert response.status_code == 200
    (record,) = response.context["records"]
    assert record.student == world.child
    page = response.content.decode()
    for text in (
        "张小明",
        "10月13日",
        "回老家",
        "17:42 由 张爸爸（父亲） 接走",
        "出勤",
        "未到且没有请假",
        "王外婆（外婆）",
        "13700001111",
        "13812341234",  # the family's own numbers, in full
        "不允许孩子自行回家",
    ):
        assert text in page, text
    assert "陈小华" not in page
    leave = LeaveRequest.objects.get()
    assert reverse("attendance:leave-cancel", args=[leave.pk]) in page
    assert reverse("attendance:case-detail", args=[AbsenceCase.objects.get().pk]) in page


def test_another_family_never_sees_the_first_familys_records(world, session, as_user):
    ChildAttendance.objects.create(
        session=session, student=world.child, mark=Mark.PRESENT, marked_at=at(16, 15)
    )
    ask_leave(world, reason="回老家")

    other = as_user("other_parent").get(HOME)
    far = as_user("far_parent").get(HOME)

    assert [r.student.name for r in other.context["records"]] == ["李小红"]
    assert [r.student.name for r in far.context["records"]] == ["赵小刚"]
    for response in (other, far):
        page = response.content.decode()
        assert "张小明" not in page and "回老家" not in page and "13812341234" not in page
    assert "甲小学" not in far.content.decode()


@pytest.mark.parametrize("persona", ["homeroom", "principal", "district", "nobody"])
def test_people_without_children_have_no_family_page(as_user, persona):
    assert as_user(persona).get(HOME).status_code == 403


def test_the_family_page_takes_the_same_queries_for_one_child_or_many_days(world, session, as_user):
    client = as_user("parent")
    client.get(HOME)  # the first request of a sign-in also loads and refreshes its session
    counts = []
    with CaptureQueriesContext(connection) as queries:
        assert client.get(HOME).status_code == 200
    counts.append(len(queries))

    second = StudentFactory(classroom=world.other_classroom, name="张小丽")
    GuardianFactory(
        student=second, user=world.users["parent"], name="张妈妈", phone=world.users["parent"].phone
    )
    for offset in range(0, 25):
        day = TODAY - timedelta(days=offset)
        daily = Session.objects.get_or_create(
            offering=session.offering, date=day, defaults={"school": world.school, "term": session.term}
        )[0]
        ChildAttendance.objects.create(
            session=daily, student=world.child, mark=Mark.PRESENT, marked_at=at(16, 15, day)
        )
        HandOver.objects.create(
            session=daily,
            student=world.child,
            collected_by_name="张爸爸（父亲）",
            handed_over_at=at(17, 40, day),
        )
    ask_leave(world, starts_on=TOMORROW)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(HOME)
    counts.append(len(queries))

    assert [len(r.attendance) for r in response.context["records"]] == [25, 0]
    assert counts[0] == counts[1], [q["sql"][:100] for q in queries.captured_queries]


# Leave -----------------------------------------------------------------------------------------


def test_a_parent_asks_for_leave_and_the_roll_call_shows_it(world, session, as_user):
    Notification.objects.all().delete()
    client = as_user("parent")
    assert client.get(leave_url(world.child)).status_code == 200

    response = client.post(
        leave_url(world.child),
        {"kind": "absent", "starts_on": "2026-10-12", "ends_on": "", "reason": "看牙医"},
    )

    assert response.status_code == 302 and response["Location"] == HOME
    assert message_texts(response) == ["已提交：张小明 请假 10月12日。班主任和任课老师会收到通知。"]
    leave = LeaveRequest.objects.get()
    assert (leave.student, leave.starts_on, leave.ends_on, leave.requested_by) == (
        world.child,
        TODAY,
        TODAY,
        world.users["parent"],
    )
    row = next(row for row in session_roster(session) if row.student == world.child)
    assert (row.is_expected, row.current_mark) == (False, Mark.LEAVE)
    assert set(Notification.objects.values_list("user__username", flat=True)) == {
        "homeroom",
        "service_teacher",
    }


def test_an_early_pick_up_ignores_a_leftover_end_date(world, session, as_user):
    response = as_user("parent").post(
        leave_url(world.child),
        {
            "kind": "early_pickup",
            "starts_on": "2026-10-12",
            "ends_on": "2026-10-20",
            "pickup_at": "16:50",
            "reason": "学钢琴",
        },
    )

    assert response.status_code == 302
    leave = LeaveRequest.objects.get()
    assert (leave.kind, leave.starts_on, leave.ends_on, leave.pickup_at) == (
        LeaveKind.EARLY_PICKUP,
        TODAY,
        TODAY,
        time(16, 50),
    )


@pytest.mark.parametrize(
    ("data", "field", "errors"),
    [
        ({}, "reason", ["请填写请假事由。"]),
        (
            {"kind": "absent", "starts_on": "2026-10-11", "reason": "感冒"},
            "starts_on",
            ["不能为已经过去的日期请假。"],
        ),
        (
            {"kind": "absent", "starts_on": "2026-10-14", "ends_on": "2026-10-13", "reason": "感冒"},
            "ends_on",
            ["结束日期不能早于开始日期。"],
        ),
        (
            {"kind": "early_pickup", "starts_on": "2026-10-12", "pickup_at": "18:30", "reason": "学钢琴"},
            "pickup_at",
            ["接走时间须在当天课后服务时段（16:10–17:45）之内。"],
        ),
        ({"kind": "absent", "starts_on": "12/10", "reason": "感冒"}, "starts_on", ["请输入正确的日期。"]),
    ],
)
def test_bad_leave_is_shown_on_the_form_and_nothing_is_stored(world, session, as_user, data, field, errors):
    response = as_user("parent").post(leave_url(world.child), data)

    assert response.status_code == 400
    assert response.context["form"].errors[field] == errors
    assert errors[0] in response.content.decode()
    assert not LeaveRequest.objects.exists()


def test_an_overlapping_leave_is_refused_on_the_form(world, session, as_user):
    ask_leave(world)

    response = as_user("parent").post(
        leave_url(world.child), {"kind": "absent", "starts_on": "2026-10-12", "reason": "再请一次"}
    )

    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == [
        "10月12日 已有请假（不参加），如需修改，请先撤销原来的请假。"
    ]
    assert LeaveRequest.objects.count() == 1


@pytest.mark.parametrize("persona", ["other_parent", "far_parent", "committee", "homeroom", "admin"])
def test_nobody_else_asks_leave_for_the_child(world, session, as_user, persona):
    response = as_user(persona).post(
        leave_url(world.child), {"kind": "absent", "starts_on": "2026-10-12", "reason": "看牙医"}
    )

    assert response.status_code == 404
    assert not LeaveRequest.objects.exists()


def test_a_parent_cancels_leave(world, session, as_user):
    leave = ask_leave(world)

    response = as_user("parent").post(reverse("attendance:leave-cancel", args=[leave.pk]))

    assert response.status_code == 302 and response["Location"] == HOME
    assert message_texts(response) == ["已撤销：张小明 请假 10月12日。"]
    leave.refresh_from_db()
    assert leave.status == LeaveStatus.CANCELLED


@pytest.mark.parametrize("persona", ["other_parent", "committee", "homeroom", "principal"])
def test_only_the_family_cancels_its_leave(world, session, as_user, persona):
    leave = ask_leave(world)

    response = as_user(persona).post(reverse("attendance:leave-cancel", args=[leave.pk]))

    assert response.status_code == 404
    leave.refresh_from_db()
    assert leave.status == LeaveStatus.ACTIVE


def test_ended_leave_stays(world, session, as_user):
    ended = LeaveRequest.objects.create(
        school=world.school,
        student=world.child,
        starts_on=TODAY - timedelta(days=2),
        ends_on=TODAY - timedelta(days=1),
        reason="感冒",
    )

    response = as_user("parent").post(reverse("attendance:leave-cancel", args=[ended.pk]))

    assert response.status_code == 302
    assert message_texts(response) == ["这次请假已经结束，不能撤销。"]
    ended.refresh_from_db()
    assert ended.status == LeaveStatus.ACTIVE


# The school's list of leave ----------------------------------------------------------------------


@pytest.fixture
def three_leaves(world, football_session):
    chen = world.classroom.students.get(name="陈小华")
    return [
        ask_leave(world, starts_on=TOMORROW, reason="回老家"),
        ask_leave(world, chen, actor="committee", reason="发烧"),
        ask_leave(
            world, world.other_child, actor="other_parent", starts_on=TODAY + timedelta(days=3), reason="比赛"
        ),
    ]


@pytest.mark.parametrize(
    ("persona", "names"),
    [
        ("homeroom", ["陈小华", "张小明"]),
        ("other_homeroom", ["李小红"]),
        ("service_teacher", ["张小明"]),  # football
        ("provider", []),
        ("inspector", ["陈小华", "张小明", "李小红"]),
        ("principal", ["陈小华", "张小明", "李小红"]),
        ("admin", ["陈小华", "张小明", "李小红"]),
        ("far_principal", []),
    ],
)
def test_the_school_sees_the_leave_of_the_children_it_looks_after(three_leaves, as_user, persona, names):
    response = as_user(persona).get(LEAVE_LIST)

    assert response.status_code == 200
    assert [leave.student.name for leave in response.context["leaves"]] == names


@pytest.mark.parametrize("persona", ["parent", "committee", "finance", "district", "nobody"])
def test_families_and_others_have_no_list_of_leave(three_leaves, as_user, persona):
    assert as_user(persona).get(LEAVE_LIST).status_code == 403


def test_the_list_of_leave_by_date(three_leaves, as_user):
    client = as_user("principal")

    tomorrow = client.get(LEAVE_LIST, {"date": "2026-10-13"})
    wrong = client.get(LEAVE_LIST, {"date": "明天"})

    assert [leave.student.name for leave in tomorrow.context["leaves"]] == ["张小明"]
    assert "回老家" in tomorrow.content.decode()
    assert wrong.status_code == 400
    assert wrong.context["form"].errors["date"] == ["请输入正确的日期。"]


def test_the_list_of_leave_takes_the_same_queries_for_few_or_many(world, enrolled, as_user):
    client = as_user("homeroom")
    client.get(LEAVE_LIST)  # the first request of a sign-in also loads and refreshes its session
    counts = []
    for total in (2, 30):
        while LeaveRequest.objects.count() < total:
            n = LeaveRequest.objects.count()
            child = StudentFactory(classroom=world.classroom, name=f"学生{n:02d}")
            LeaveRequest.objects.create(
                school=world.school,
                student=child,
                starts_on=TODAY,
                ends_on=TODAY,
                reason="事假",
                requested_by=world.users["parent"],
            )
        with CaptureQueriesContext(connection) as queries:
            response = client.get(LEAVE_LIST)
        assert len(response.context["leaves"]) == total
        counts.append(len(queries))
    assert counts[0] == counts[1]


# Pick-up people --------------------------------------------------------------------------------


def test_a_parent_adds_and_removes_a_pick_up_person(world, as_user):
    client = as_user("parent")
    assert client.get(pickup_url(world.child)).status_code == 200

    added = client.post(
        pickup_url(world.child),
        {"action": "add", "name": "王外婆", "relation": "外婆", "phone": "13700001111"},
    )

    assert added.status_code == 302 and added["Location"] == pickup_url(world.child)
    assert message_texts(added) == ["已添加授权接送人 王外婆（外婆）。"]
    person = PickupPerson.objects.get()
    assert (person.student, person.phone, person.added_by) == (
        world.child,
        "13700001111",
        world.users["parent"],
    )
    page = client.get(pickup_url(world.child)).content.decode()
    assert "王外婆（外婆）" in page and "张爸爸（父亲）" in page

    removed = client.post(pickup_url(world.child), {"action": "remove", "person": person.pk})

    assert removed.status_code == 302
    assert message_texts(removed) == ["已移除授权接送人 王外婆（外婆）。"]
    person.refresh_from_db()
    assert person.is_active is False


def test_a_bad_number_is_shown_on_the_form(world, as_user):
    response = as_user("parent").post(
        pickup_url(world.child), {"action": "add", "name": "王外婆", "relation": "外婆", "phone": "1370000"}
    )

    assert response.status_code == 400
    assert response.context["add_form"].errors == {"phone": ["请输入11位手机号码。"]}
    assert not PickupPerson.objects.exists()


def test_the_seventh_person_is_refused(world, as_user):
    for n in range(6):
        pickup_person_add(
            actor=world.users["parent"],
            student=world.child,
            name=f"接送人{n}",
            relation="亲戚",
            phone=f"1370000000{n}",
        )

    response = as_user("parent").post(
        pickup_url(world.child),
        {"action": "add", "name": "第七位", "relation": "邻居", "phone": "13700000009"},
    )

    assert response.status_code == 400
    assert response.context["add_form"].non_field_errors() == ["最多只能添加 6 位授权接送人，请先移除一位。"]
    assert PickupPerson.objects.count() == 6


def test_a_parent_allows_the_child_to_go_home_alone_and_takes_it_back(world, as_user):
    client = as_user("parent")

    allowed = client.post(pickup_url(world.child), {"action": "alone", "may_go_home_alone": "on"})
    assert message_texts(allowed) == ["已允许 张小明 自行回家。"]
    assert PickupArrangement.objects.get(student=world.child).may_go_home_alone is True

    client.get(pickup_url(world.child))  # the message is shown
    withdrawn = client.post(pickup_url(world.child), {"action": "alone"})
    assert message_texts(withdrawn) == ["张小明 须由家长或授权接送人接走。"]
    assert PickupArrangement.objects.get(student=world.child).may_go_home_alone is False


def test_another_childs_person_cannot_be_removed_through_this_child(world, as_user):
    chen = world.classroom.students.get(name="陈小华")
    theirs = pickup_person_add(
        actor=world.users["committee"], student=chen, name="陈奶奶", relation="奶奶", phone="13700002222"
    )

    response = as_user("parent").post(pickup_url(world.child), {"action": "remove", "person": theirs.pk})

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.is_active is True


@pytest.mark.parametrize("persona", ["other_parent", "far_parent", "committee", "homeroom", "admin"])
def test_nobody_else_changes_the_pick_up_people(world, as_user, persona):
    client = as_user(persona)

    assert client.get(pickup_url(world.child)).status_code == 404
    added = client.post(
        pickup_url(world.child),
        {"action": "add", "name": "陌生人", "relation": "朋友", "phone": "13700003333"},
    )
    alone = client.post(pickup_url(world.child), {"action": "alone", "may_go_home_alone": "on"})

    assert (added.status_code, alone.status_code) == (404, 404)
    assert not PickupPerson.objects.exists()
    assert not PickupArrangement.objects.exists()


def test_an_unknown_action_changes_nothing(world, as_user):
    response = as_user("parent").post(pickup_url(world.child), {"action": "delete-all"})

    assert response.status_code == 400
    assert "请重新操作。" in response.content.decode()
