"""The hand-over page through HTTP, by persona: one tap per child, refusals shown on the page, the
undo, the red flag after the end, and a constant number of queries."""

from unittest import mock

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from attendance.family import pickup_arrangement_update, pickup_person_add
from attendance.handover import hand_over_record
from attendance.models import ChildAttendance, HandOver, LeaveKind, LeaveRequest, Mark
from tests.factories import StudentFactory

from . import setup
from .conftest import TODAY, at


def message_texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def clock(hour: int, minute: int = 0):
    """Freeze the wall clock at a moment of TODAY (the date is frozen by the conftest)."""
    return mock.patch("django.utils.timezone.now", return_value=at(hour, minute))


def take_roll(session, marks: dict):
    for student, value in marks.items():
        ChildAttendance.objects.create(session=session, student=student, mark=value, marked_at=at(16, 15))
    session.roll_taken_at = at(16, 15)
    session.save(update_fields=["roll_taken_at"])


@pytest.fixture
def chen(world):
    return world.classroom.students.get(name="陈小华")


@pytest.fixture
def present(world, session, chen):
    take_roll(session, {world.child: Mark.PRESENT, chen: Mark.PRESENT})
    return session


def page_url(session) -> str:
    return reverse("attendance:hand-over", args=[session.pk])


def guardian(world, name="张爸爸"):
    return world.child.guardians.get(name=name)


# The page --------------------------------------------------------------------------------------


def test_the_teacher_sees_one_button_per_collector(world, present, as_user):
    pickup_person_add(
        actor=world.users["parent"], student=world.child, name="王外婆", relation="外婆", phone="13700001111"
    )
    pickup_arrangement_update(actor=world.users["parent"], student=world.child, may_go_home_alone=True)

    with clock(17, 30):
        response = as_user("homeroom").get(page_url(present))

    assert response.status_code == 200
    page = response.content.decode()
    zhang = next(row for row in response.context["sheet"].pending if row.student == world.child)
    assert [c.label for c in zhang.collectors] == [
        "张爸爸（父亲）",
        "张妈妈（母亲）",
        "王外婆（外婆）",
        "自行回家",
    ]
    for text in (
        "张爸爸（父亲） 接走",
        "王外婆（外婆） 接走",
        "自行回家",
        'href="tel:13812341234"',
        "13700001111",
    ):
        assert text in page, text
    chen_row = next(row for row in response.context["sheet"].pending if row.student.name == "陈小华")
    # 陈小华's family has not allowed going home alone: no such button.
    assert [c.value for c in chen_row.collectors if c.value == "alone"] == []
    assert "未交接" not in page


def test_a_teacher_of_another_class_sees_masked_numbers(world, football_session, as_user):
    take_roll(football_session, {world.child: Mark.PRESENT})

    with clock(17, 30):
        response = as_user("service_teacher").get(page_url(football_session))

    page = response.content.decode()
    assert response.status_code == 200
    assert "138****1234" in page
    assert "13812341234" not in page
    assert 'href="tel:' not in page


@pytest.mark.parametrize("persona", ["inspector", "principal"])
def test_leaders_and_inspectors_watch_without_buttons(world, present, as_user, persona):
    with clock(17, 30):
        response = as_user(persona).get(page_url(present))

    assert response.status_code == 200
    assert response.context["may_teach"] is False
    assert 'name="collector"' not in response.content.decode()


def test_early_pick_ups_come_first_and_leave_is_apart(world, session, chen, as_user):
    newcomer = StudentFactory(classroom=world.classroom, name="周小安")
    setup.enroll(world, newcomer, [session.offering])
    LeaveRequest.objects.create(
        school=world.school,
        student=chen,
        kind=LeaveKind.EARLY_PICKUP,
        starts_on=TODAY,
        ends_on=TODAY,
        pickup_at=at(16, 50).time(),
        reason="学琴",
    )
    LeaveRequest.objects.create(
        school=world.school, student=newcomer, starts_on=TODAY, ends_on=TODAY, reason="发烧"
    )
    take_roll(session, {world.child: Mark.PRESENT, chen: Mark.PRESENT})

    with clock(16, 30):
        response = as_user("homeroom").get(page_url(session))

    sheet = response.context["sheet"]
    assert [row.student.name for row in sheet.pending] == ["陈小华", "张小明"]
    assert [row.student.name for row in sheet.on_leave] == ["周小安"]
    assert "16:50 提前接走" in response.content.decode()


def test_before_the_roll_the_page_says_so(world, session, as_user):
    with clock(16, 20):
        response = as_user("homeroom").get(page_url(session))

    assert response.status_code == 200
    page = response.content.decode()
    assert "还没有点名。点名后，出勤和迟到的学生会列在这里。" in page
    assert reverse("attendance:roll-call", args=[session.pk]) in page


def test_children_still_there_after_the_end_are_flagged_in_red(world, present, as_user):
    hand_over_record(
        actor=world.users["homeroom"], session=present, student=world.child, guardian=guardian(world)
    )
    client = as_user("homeroom")

    with clock(17, 45):
        on_time = client.get(page_url(present))
    with clock(17, 46):
        late = client.get(page_url(present))

    assert on_time.context["sheet"].missing == []
    assert "未交接" not in on_time.content.decode()
    assert [row.student.name for row in late.context["sheet"].missing] == ["陈小华"]
    page = late.content.decode()
    assert "未交接：1 名学生" in page
    assert page.index("未交接：1 名学生") < page.index("待交接")


# One tap ---------------------------------------------------------------------------------------


def tap(client, session, student, collector):
    return client.post(page_url(session), {"student": student.pk, "collector": collector})


def test_one_tap_hands_a_child_over_with_the_time(world, present, as_user):
    father = guardian(world)

    with clock(17, 32):
        response = tap(as_user("homeroom"), present, world.child, f"g-{father.pk}")

    assert response.status_code == 302 and response["Location"] == page_url(present)
    assert message_texts(response) == ["已记录：张小明 由 张爸爸（父亲） 接走（17:32）。"]
    record = HandOver.objects.get()
    assert (record.student, record.guardian, record.handed_over_at, record.recorded_by) == (
        world.child,
        father,
        at(17, 32),
        world.users["homeroom"],
    )


def test_one_tap_for_an_authorised_person_and_for_going_home_alone(world, present, chen, as_user):
    grandmother = pickup_person_add(
        actor=world.users["parent"], student=world.child, name="王外婆", relation="外婆", phone="13700001111"
    )
    pickup_arrangement_update(actor=world.users["committee"], student=chen, may_go_home_alone=True)
    client = as_user("admin")

    with clock(17, 35):
        by_person = tap(client, present, world.child, f"p-{grandmother.pk}")
        client.get(page_url(present))
        alone = tap(client, present, chen, "alone")

    assert message_texts(by_person) == ["已记录：张小明 由 王外婆（外婆） 接走（17:35）。"]
    assert message_texts(alone) == ["已记录：陈小华 自行回家（17:35）。"]
    assert sorted(HandOver.objects.values_list("student__name", "collected_by_name", "went_home_alone")) == [
        ("张小明", "王外婆（外婆）", False),
        ("陈小华", "", True),
    ]


@pytest.mark.parametrize(
    ("collector", "message"),
    [
        ("other-guardian", "所选接走人不是 张小明 的监护人或授权接送人。"),
        ("alone", "张小明 的家长没有允许孩子自行回家。"),
        ("g-999999", "请选择一位接走人。"),
        ("someone", "请选择一位接走人。"),
    ],
)
def test_a_refused_tap_is_shown_and_changes_nothing(world, present, as_user, collector, message):
    if collector == "other-guardian":
        collector = f"g-{world.other_child.guardians.get(name='李妈妈').pk}"

    with clock(17, 32):
        response = tap(as_user("homeroom"), present, world.child, collector)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not HandOver.objects.exists()


def test_a_second_tap_says_who_took_the_child(world, present, as_user):
    client = as_user("homeroom")
    with clock(17, 32):
        tap(client, present, world.child, f"g-{guardian(world).pk}")
    with clock(17, 33):
        response = tap(client, present, world.child, f"g-{guardian(world, '张妈妈').pk}")

    assert response.status_code == 400
    assert "已交接给 张爸爸（父亲）（17:32）。" in response.content.decode()
    assert HandOver.objects.get().guardian == guardian(world)


def test_a_child_not_present_is_not_handed_over(world, session, chen, as_user):
    take_roll(session, {world.child: Mark.ABSENT, chen: Mark.PRESENT})

    response = tap(as_user("homeroom"), session, world.child, f"g-{guardian(world).pk}")

    assert response.status_code == 400
    assert "张小明 在本场次没有点名为出勤或迟到，不能交接。" in response.content.decode()
    assert not HandOver.objects.exists()


def test_a_child_of_another_school_is_not_on_the_sheet(world, present, as_user):
    response = tap(as_user("homeroom"), present, world.far_child, "alone")

    assert response.status_code == 400
    assert "这名学生不在本场次名单中。" in response.content.decode()


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("service_teacher", 403),
        ("inspector", 403),
        ("principal", 403),
        ("other_homeroom", 403),
        ("parent", 404),
        ("far_principal", 404),
    ],
)
def test_only_the_sessions_teachers_and_administrators_tap(world, present, as_user, persona, status):
    response = tap(as_user(persona), present, world.child, f"g-{guardian(world).pk}")

    assert response.status_code == status
    assert not HandOver.objects.exists()


# Undo ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("homeroom", 302),
        ("admin", 302),
        ("service_teacher", 403),
        ("inspector", 403),
        ("principal", 403),
        ("parent", 404),
        ("far_principal", 404),
    ],
)
def test_the_teacher_or_an_administrator_undoes_a_mistake(world, present, as_user, persona, status):
    record = hand_over_record(
        actor=world.users["homeroom"], session=present, student=world.child, guardian=guardian(world)
    )

    response = as_user(persona).post(reverse("attendance:hand-over-undo", args=[record.pk]))

    assert response.status_code == status
    assert HandOver.objects.filter(pk=record.pk).exists() is (status != 302)
    if status == 302:
        assert response["Location"] == page_url(present)
        assert message_texts(response) == ["已撤销 张小明 的交接记录。"]


def test_undo_is_refused_after_the_day(world, present, as_user):
    record = hand_over_record(
        actor=world.users["homeroom"], session=present, student=world.child, guardian=guardian(world)
    )

    with mock.patch("django.utils.timezone.localdate", return_value=TODAY.replace(day=13)):
        response = as_user("homeroom").post(reverse("attendance:hand-over-undo", args=[record.pk]))

    assert response.status_code == 302
    assert message_texts(response) == ["只能在场次当天撤销交接记录。"]
    assert HandOver.objects.filter(pk=record.pk).exists()


# Queries ---------------------------------------------------------------------------------------


def test_the_page_takes_the_same_queries_for_two_children_or_thirty(world, present, as_user):
    client = as_user("homeroom")
    counts = []
    with clock(17, 50):
        client.get(page_url(present))  # the first request of a sign-in also loads and refreshes its session
        for size in (2, 30):
            setup.grow_class(world, present, size)
            with CaptureQueriesContext(connection) as queries:
                response = client.get(page_url(present))
            assert len(response.context["sheet"].missing) == size
            counts.append(len(queries))
    assert counts[0] == counts[1], [q["sql"][:100] for q in queries.captured_queries]
