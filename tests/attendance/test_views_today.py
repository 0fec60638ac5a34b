"""Today's page and the roll-call screen, by persona: what each sees, who may save, conflicts on the
page, and the queries each request costs (including the sign-in's own)."""

import re
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from aftercare.models import Notification
from attendance.alerts import absence_cases_open
from attendance.models import AbsenceCase, ChildAttendance, LeaveKind, LeaveRequest, Mark, Session
from attendance.rollcall import roll_call_record
from attendance.sessions import session_cancel, sessions_prepare
from attendance.views.today import BAD_FORM, FUTURE_DAY, OUTSIDE_TERM
from enrollment.models import Enrollment
from tests.factories import GuardianFactory, StudentFactory

from . import setup
from .conftest import TODAY, at


def message_texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def roll_call_url(session) -> str:
    return reverse("attendance:roll-call", args=[session.pk])


def checked(html: str, student, mark: str) -> bool:
    """Whether the radio of ``student``'s ``mark`` is selected on the page."""
    tag = re.search(rf'<input type="radio" name="mark-{student.pk}" value="{mark}"[^>]*>', html)
    assert tag, (student, mark)
    return " checked" in tag.group(0)


@pytest.fixture
def committee_child(world):
    return world.classroom.students.get(name="陈小华")


def grow(world, offering, size: int) -> None:
    """Enroll more children of 3-1 (each with a guardian) in ``offering`` until it has ``size``."""
    have = Enrollment.objects.filter(offering=offering).count()
    for n in range(size - have):
        child = StudentFactory(classroom=world.classroom, name=f"学生{n:02d}")
        GuardianFactory(student=child, name=f"家长{n:02d}")
        setup.enroll(world, child, [offering])
    Enrollment.objects.filter(offering=offering).update(joined_on=offering.term.starts_on)


def sheet_post(session, marks: dict, *, version=None, notes=None) -> dict:
    data = {"version": Session.objects.get(pk=session.pk).roll_version if version is None else version}
    for student_id, mark in marks.items():
        data[f"mark-{student_id}"] = mark
        data[f"note-{student_id}"] = (notes or {}).get(student_id, "")
    return data


# Today ----------------------------------------------------------------------------------------


def test_a_teacher_sees_today_s_sessions_with_their_numbers(world, session, committee_child, as_user):
    LeaveRequest.objects.create(
        school=world.school,
        student=committee_child,
        starts_on=TODAY,
        ends_on=TODAY,
        reason="发烧",
        requested_by=world.users["committee"],
    )

    response = as_user("homeroom").get(reverse("attendance:today"))

    assert response.status_code == 200
    (card,) = response.context["sessions"]
    assert card == session
    # Two enrolled, one on leave: one expected, nobody marked yet.
    assert (card.expected_count, card.present_count, card.shown_leave_count, card.absent_count) == (
        1,
        0,
        1,
        0,
    )
    html = response.content.decode()
    assert "三年级（1）班 基础托管" in html and "16:10–17:45" in html and "点名未完成" in html
    assert roll_call_url(session) in html
    assert reverse("attendance:hand-over", args=[session.pk]) in html
    assert reverse("attendance:record-edit", args=[session.pk]) in html
    assert "足球" not in html  # the service teacher's


def test_after_the_roll_call_the_card_shows_the_marks_and_who_took_it(
    world, session, committee_child, as_user
):
    roll_call_record(
        actor=world.users["homeroom"],
        session=session,
        marks={world.child.pk: Mark.LATE, committee_child.pk: Mark.ABSENT},
        version=0,
    )

    response = as_user("homeroom").get(reverse("attendance:today"))

    (card,) = response.context["sessions"]
    assert (card.expected_count, card.present_count, card.shown_leave_count, card.absent_count) == (
        2,
        1,
        0,
        1,
    )
    taken_at = Session.objects.get(pk=session.pk).roll_taken_at.astimezone(at(0).tzinfo)
    assert f"已点名 {taken_at:%H:%M}" in response.content.decode()


def test_a_cancelled_session_shows_its_reason_and_no_roll_call(world, session, as_user):
    session_cancel(actor=world.users["admin"], session=session, reason="台风停课")

    html = as_user("homeroom").get(reverse("attendance:today")).content.decode()

    assert "已取消" in html and "台风停课" in html
    assert roll_call_url(session) not in html


def test_the_service_teacher_sees_their_course(world, football_session, as_user):
    response = as_user("service_teacher").get(reverse("attendance:today"))

    assert [s.offering.name for s in response.context["sessions"]] == ["足球"]


def test_opening_the_day_prepares_it_when_the_nightly_task_did_not_run(world, enrolled, as_user):
    assert not Session.objects.exists()

    response = as_user("homeroom").get(reverse("attendance:today"))

    assert [s.offering.name for s in response.context["sessions"]] == ["三年级（1）班 基础托管"]
    assert Session.objects.filter(date=TODAY).count() == 3


def test_a_past_day_of_the_term_opens_for_corrections(world, enrolled, as_user):
    friday = TODAY - timedelta(days=3)

    response = as_user("homeroom").get(reverse("attendance:today"), {"date": friday.isoformat()})

    assert response.status_code == 200
    assert response.context["day"] == friday
    assert [s.date for s in response.context["sessions"]] == [friday]


@pytest.mark.parametrize(
    ("day", "message"),
    [(TODAY + timedelta(days=1), FUTURE_DAY), (TODAY - timedelta(days=365), OUTSIDE_TERM)],
)
def test_a_future_day_or_one_outside_the_term_is_refused(world, enrolled, as_user, day, message):
    response = as_user("homeroom").get(reverse("attendance:today"), {"date": day.isoformat()})

    assert response.status_code == 400
    assert response.context["form"].errors == {"date": [str(message)]}
    assert response.context["day"] == TODAY
    assert not Session.objects.filter(date=day).exists()


def test_the_refusals_of_a_day_read_as_written():
    assert [str(FUTURE_DAY), str(OUTSIDE_TERM)] == ["不能打开以后的日子。", "只能打开本学期已经过去的日子。"]


def test_the_administrator_sees_today_s_open_cases(world, session, as_user):
    absence_cases_open(actor=world.users["homeroom"], session=session, student_ids=[world.child.pk])

    response = as_user("admin").get(reverse("attendance:today"))

    assert response.context["open_cases_today"] == 1
    assert "今日待跟踪的缺勤：1 人" in response.content.decode()
    assert reverse("attendance:day-overview") in response.content.decode()
    assert as_user("homeroom").get(reverse("attendance:today")).context["open_cases_today"] is None


@pytest.mark.parametrize("persona", ["principal", "inspector", "finance", "parent", "district"])
def test_who_does_not_teach_has_no_today_page(world, session, as_user, persona):
    assert as_user(persona).get(reverse("attendance:today")).status_code == 403


@pytest.mark.parametrize("persona", ["homeroom", "admin"])
def test_today_costs_the_same_for_two_children_and_thirty(
    world, session, basic_care, as_user, django_assert_num_queries, persona
):
    client = as_user(persona)
    client.get(reverse("attendance:today"))  # the first request of a session writes it
    # Sign-in (session, user, roles), the school, the day's preparation check, the sessions with their
    # numbers; for the administrator, today's open cases.
    expected = 7 if persona == "admin" else 6
    with django_assert_num_queries(expected):
        client.get(reverse("attendance:today"))
    grow(world, basic_care, 30)
    with django_assert_num_queries(expected):
        response = client.get(reverse("attendance:today"))
    if persona == "homeroom":
        assert response.context["sessions"][0].expected_count == 30


# The roll-call screen -------------------------------------------------------------------------


def test_the_teacher_s_screen_has_a_row_per_child_with_four_choices(world, session, committee_child, as_user):
    LeaveRequest.objects.create(
        school=world.school,
        student=committee_child,
        starts_on=TODAY,
        ends_on=TODAY,
        reason="发烧",
        requested_by=world.users["committee"],
    )
    LeaveRequest.objects.create(
        school=world.school,
        student=world.child,
        kind=LeaveKind.EARLY_PICKUP,
        starts_on=TODAY,
        ends_on=TODAY,
        pickup_at=at(16, 50).time(),
        reason="看牙医",
        requested_by=world.users["parent"],
    )

    response = as_user("homeroom").get(roll_call_url(session))

    assert response.status_code == 200
    html = response.content.decode()
    assert [row.student.name for row in response.context["rows"]] == ["张小明", "陈小华"]
    # Before any save: present, or leave for a child on leave.
    assert checked(html, world.child, Mark.PRESENT) and checked(html, committee_child, Mark.LEAVE)
    assert not checked(html, world.child, Mark.ABSENT)
    for label in ("出勤", "迟到", "请假", "缺勤"):
        assert f'aria-label="张小明 {label}"' in html
    assert "请假：发烧" in html and "16:50 提前接" in html
    assert "保存点名" in html and "全部出勤" in html
    assert 'name="version" value="0"' in html
    assert "attendance-rollcall.js" in html
    assert response.context["tallies"] == [
        ("present", "出勤", 1),
        ("late", "迟到", 0),
        ("leave", "请假", 1),
        ("absent", "缺勤", 0),
    ]


def test_a_course_shows_each_child_s_class(world, football_session, as_user):
    html = as_user("service_teacher").get(roll_call_url(football_session)).content.decode()

    assert "三年级（1）班" in html


def test_the_screen_shows_what_was_saved(world, session, committee_child, as_user):
    roll_call_record(
        actor=world.users["homeroom"],
        session=session,
        marks={world.child.pk: Mark.LATE, committee_child.pk: Mark.ABSENT},
        notes={world.child.pk: "堵车"},
        version=0,
    )

    html = as_user("homeroom").get(roll_call_url(session)).content.decode()

    assert checked(html, world.child, Mark.LATE) and checked(html, committee_child, Mark.ABSENT)
    assert 'value="堵车"' in html
    assert 'name="version" value="1"' in html


@pytest.mark.parametrize("persona", ["inspector", "principal"])
def test_inspectors_and_leaders_read_the_roll_call_without_changing_it(world, session, as_user, persona):
    html = as_user(persona).get(roll_call_url(session)).content.decode()

    assert "您可以查看这次点名；点名由授课教师完成。" in html
    assert "保存点名" not in html and "全部出勤" not in html
    assert re.search(rf'name="mark-{world.child.pk}" value="present"[^>]* checked disabled', html)


def test_the_administrator_may_take_a_substitute_s_roll(world, session, as_user):
    response = as_user("admin").post(
        roll_call_url(session), sheet_post(session, {world.child.pk: Mark.PRESENT})
    )

    assert response.status_code == 302
    assert ChildAttendance.objects.get(session=session).marked_by == world.users["admin"]


def test_a_future_session_can_be_read_but_not_marked(world, enrolled, basic_care, as_user):
    tomorrow = TODAY + timedelta(days=1)
    sessions_prepare(school=world.school, day=tomorrow)
    future = Session.objects.get(offering=basic_care, date=tomorrow)

    html = as_user("homeroom").get(roll_call_url(future)).content.decode()

    assert "这一场次还没到，到当天才能点名。" in html
    assert "保存点名" not in html


# Saving ---------------------------------------------------------------------------------------


def test_saving_records_the_marks_and_returns_to_today(world, session, committee_child, as_user):
    response = as_user("homeroom").post(
        roll_call_url(session),
        sheet_post(
            session,
            {world.child.pk: Mark.LATE, committee_child.pk: Mark.PRESENT},
            notes={world.child.pk: "16:25 到"},
        ),
    )

    assert response.status_code == 302 and response["Location"] == reverse("attendance:today")
    assert message_texts(response) == ["已保存点名：出勤 1，迟到 1，请假 0，缺勤 0。"]
    assert {(m.student.name, m.mark, m.note) for m in ChildAttendance.objects.filter(session=session)} == {
        ("张小明", Mark.LATE, "16:25 到"),
        ("陈小华", Mark.PRESENT, ""),
    }


def test_the_same_form_sent_twice_is_saved_once(world, session, committee_child, as_user):
    client = as_user("homeroom")
    data = sheet_post(session, {world.child.pk: Mark.PRESENT, committee_child.pk: Mark.ABSENT})
    client.post(roll_call_url(session), data, follow=True)
    history_rows = ChildAttendance.history.count()

    response = client.post(roll_call_url(session), data)

    assert response.status_code == 302
    assert message_texts(response) == ["点名结果与已保存的一致，没有改动。"]
    assert ChildAttendance.history.count() == history_rows
    assert AbsenceCase.objects.count() == 1
    assert Session.objects.get(pk=session.pk).roll_version == 1


def test_a_correction_of_a_past_day_returns_to_that_day(world, enrolled, basic_care, as_user):
    friday = TODAY - timedelta(days=3)
    sessions_prepare(school=world.school, day=friday)
    past = Session.objects.get(offering=basic_care, date=friday)

    response = as_user("homeroom").post(roll_call_url(past), sheet_post(past, {world.child.pk: Mark.PRESENT}))

    assert response["Location"] == f"{reverse('attendance:today')}?date=2026-10-09"


def test_a_conflicting_save_gets_409_with_the_stored_marks_and_the_differences(
    world, session, committee_child, as_user
):
    # The teacher and the administrator both opened the sheet at version 0; the teacher saved first.
    as_user("homeroom").post(
        roll_call_url(session),
        sheet_post(session, {world.child.pk: Mark.PRESENT, committee_child.pk: Mark.PRESENT}, version=0),
    )
    history_rows = ChildAttendance.history.count()

    response = as_user("admin").post(
        roll_call_url(session),
        sheet_post(session, {world.child.pk: Mark.ABSENT, committee_child.pk: Mark.PRESENT}, version=0),
    )

    assert response.status_code == 409
    html = response.content.decode()
    saved_at = Session.objects.get(pk=session.pk).roll_taken_at.astimezone(at(0).tzinfo)
    teacher = world.users["homeroom"].display_name
    assert f"其他人已在 {saved_at:%H:%M} 保存了这次点名（{teacher}）。" in html
    assert f"张小明：已保存为“出勤”（{teacher} {saved_at:%H:%M}），您选的是“缺勤”。" in html
    # The stored marks are selected, the differing child highlighted, the fresh version in the form.
    assert checked(html, world.child, Mark.PRESENT) and not checked(html, world.child, Mark.ABSENT)
    assert re.search(rf'class="rollcall-row rollcall-differs"[^>]*id="child-{world.child.pk}"', html)
    assert "您选的是：缺勤" in html
    assert 'name="version" value="1"' in html
    # Nothing of the second save is stored.
    assert ChildAttendance.objects.get(session=session, student=world.child).mark == Mark.PRESENT
    assert ChildAttendance.history.count() == history_rows
    assert not AbsenceCase.objects.exists()

    # A deliberate second save from the fresh version goes through.
    again = as_user("admin").post(
        roll_call_url(session),
        sheet_post(session, {world.child.pk: Mark.ABSENT, committee_child.pk: Mark.PRESENT}, version=1),
    )
    assert again.status_code == 302
    assert ChildAttendance.objects.get(session=session, student=world.child).mark == Mark.ABSENT


def test_a_refused_save_keeps_the_page_and_the_choices(world, session, committee_child, as_user):
    session_cancel(actor=world.users["admin"], session=session, reason="暴雨")

    response = as_user("homeroom").post(
        roll_call_url(session),
        sheet_post(session, {world.child.pk: Mark.ABSENT, committee_child.pk: Mark.LATE}),
    )

    assert response.status_code == 400
    assert message_texts(response) == ["这一场次已经取消，不能点名。"]
    assert checked(response.content.decode(), world.child, Mark.ABSENT)
    assert not ChildAttendance.objects.exists()


def test_a_form_without_its_version_is_refused(world, session, as_user):
    response = as_user("homeroom").post(roll_call_url(session), {f"mark-{world.child.pk}": Mark.ABSENT})

    assert response.status_code == 400
    assert message_texts(response) == [str(BAD_FORM)] == ["点名表不完整，请刷新页面后重新点名。"]
    assert not ChildAttendance.objects.exists()


def test_a_teacher_cannot_mark_a_session_that_is_not_theirs(world, session, as_user):
    notifications = Notification.objects.count()

    response = as_user("other_homeroom").post(
        roll_call_url(session), sheet_post(session, {world.child.pk: Mark.ABSENT})
    )

    assert response.status_code == 403
    assert not ChildAttendance.objects.exists()
    assert not AbsenceCase.objects.exists()
    assert Notification.objects.count() == notifications
    assert Session.objects.get(pk=session.pk).roll_version == 0


@pytest.mark.parametrize(("persona", "status"), [("parent", 404), ("far_principal", 404), ("inspector", 403)])
def test_nobody_else_marks_a_session(world, session, as_user, persona, status):
    response = as_user(persona).post(
        roll_call_url(session), sheet_post(session, {world.child.pk: Mark.ABSENT})
    )

    assert response.status_code == status
    assert not ChildAttendance.objects.exists()
    assert Session.objects.get(pk=session.pk).roll_version == 0


# Queries --------------------------------------------------------------------------------------

# Sign-in (session, user, roles) 3, the session 1 and its teachers 1; then the roster 4 (GET), or the
# sheet, the claim of the session (its version), the marks and their history 4 (POST).
GET_QUERIES = 9
POST_QUERIES = 9


@pytest.fixture
def warm_client(world, as_user):
    def make(session):
        client = as_user("homeroom")
        client.get(roll_call_url(session))  # the first request of a session writes it
        return client

    return make


def test_the_screen_costs_the_same_for_two_children_and_thirty(
    world, session, basic_care, warm_client, django_assert_num_queries
):
    client = warm_client(session)
    with django_assert_num_queries(GET_QUERIES):
        client.get(roll_call_url(session))
    grow(world, basic_care, 30)
    roll_call_record(
        actor=world.users["homeroom"],
        session=session,
        marks={e.student_id: Mark.PRESENT for e in Enrollment.objects.filter(offering=basic_care)},
        version=0,
    )
    with django_assert_num_queries(GET_QUERIES):
        response = client.get(roll_call_url(session))
    assert len(response.context["rows"]) == 30


@pytest.mark.parametrize("size", [2, 30])
def test_saving_all_present_costs_the_same_for_two_children_and_thirty(
    world, session, basic_care, warm_client, django_assert_num_queries, size
):
    grow(world, basic_care, size)
    ids = list(Enrollment.objects.filter(offering=basic_care).values_list("student_id", flat=True))
    client = warm_client(session)
    data = sheet_post(session, dict.fromkeys(ids, Mark.PRESENT))

    with django_assert_num_queries(POST_QUERIES):
        response = client.post(roll_call_url(session), data)

    assert response.status_code == 302
    assert ChildAttendance.objects.filter(session=session, mark=Mark.PRESENT).count() == size


@pytest.mark.parametrize("size", [2, 30])
def test_saving_changes_costs_the_same_for_two_children_and_thirty(
    world, session, basic_care, warm_client, django_assert_num_queries, size
):
    grow(world, basic_care, size)
    ids = list(Enrollment.objects.filter(offering=basic_care).values_list("student_id", flat=True))
    roll_call_record(
        actor=world.users["homeroom"], session=session, marks=dict.fromkeys(ids, Mark.PRESENT), version=0
    )
    client = warm_client(session)
    # Two late, one corrected back... all but the first child change.
    data = sheet_post(session, {pk: (Mark.PRESENT if n == 0 else Mark.LATE) for n, pk in enumerate(ids)})

    with django_assert_num_queries(POST_QUERIES):
        response = client.post(roll_call_url(session), data)

    assert response.status_code == 302
    assert ChildAttendance.objects.filter(session=session, mark=Mark.LATE).count() == size - 1


@pytest.mark.parametrize("size", [2, 30])
def test_saving_absences_costs_the_same_for_two_children_and_thirty(
    world, session, basic_care, warm_client, django_assert_num_queries, size
):
    grow(world, basic_care, size)
    ids = list(Enrollment.objects.filter(offering=basic_care).values_list("student_id", flat=True))
    client = warm_client(session)
    data = sheet_post(session, dict.fromkeys(ids, Mark.ABSENT))

    # The save, then the new cases and their history; the alerts leave from a task after commit.
    with django_assert_num_queries(POST_QUERIES + 2):
        response = client.post(roll_call_url(session), data)

    assert response.status_code == 302
    assert AbsenceCase.objects.filter(session=session).count() == size


def test_the_home_page_lists_a_teachers_sessions_of_today(world, session, football_session, as_user):
    response = as_user("service_teacher").get(reverse("home"))

    html = response.content.decode()
    section = html[html.index('id="teaching"') : html.index("</section>", html.index('id="teaching"'))]
    assert "足球" in section
    assert "未点名" in section
    assert "基础托管" not in section  # 3-1's basic care is the homeroom teacher's


def test_the_home_page_counts_open_cases_for_those_who_supervise(world, session, as_user):
    roll_call_record(
        actor=world.users["homeroom"],
        session=session,
        marks={world.child.pk: Mark.ABSENT, world.classroom.students.get(name="陈小华").pk: Mark.PRESENT},
        version=0,
    )

    html = as_user("inspector").get(reverse("home")).content.decode()

    assert "1 名学生无故缺勤，尚在跟踪。" in html
    assert 'id="supervision"' not in as_user("homeroom").get(reverse("home")).content.decode()
