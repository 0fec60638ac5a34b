"""Roll-call, through the service: recording, idempotence, conflicts, refusals and the audit.

The session is today's basic care of 3-1 (张小明 and 陈小华), led by the homeroom teacher."""

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from attendance.models import ChildAttendance, LeaveKind, LeaveRequest, Mark, Session
from attendance.rollcall import (
    NO_MARKS,
    NOT_ON_ROSTER,
    NOTE_TOO_LONG,
    SESSION_CANCELLED,
    SESSION_IN_FUTURE,
    UNKNOWN_MARK,
    RollCallConflict,
    RollCallResult,
    roll_call_record,
)
from attendance.sessions import session_cancel
from enrollment.models import Enrollment

from .conftest import SHANGHAI, TODAY


@pytest.fixture
def committee_child(world):
    return world.classroom.students.get(name="陈小华")


def stored(session) -> dict[str, tuple[str, str]]:
    return {
        m.student.name: (m.mark, m.note)
        for m in ChildAttendance.objects.filter(session=session).select_related("student")
    }


def record(session, actor, marks, *, version=None, notes=None):
    if version is None:
        version = Session.objects.get(pk=session.pk).roll_version
    return roll_call_record(actor=actor, session=session, marks=marks, notes=notes, version=version)


# Recording ------------------------------------------------------------------------------------


def test_the_first_save_records_every_mark_and_who_took_the_roll(world, session, committee_child):
    teacher = world.users["homeroom"]

    result = roll_call_record(
        actor=teacher,
        session=session,
        marks={world.child.pk: Mark.PRESENT, committee_child.pk: Mark.LATE},
        notes={world.child.pk: "", committee_child.pk: "16:20 到"},
        version=0,
    )

    assert result == RollCallResult(changed=2, version=1)
    assert stored(session) == {"张小明": (Mark.PRESENT, ""), "陈小华": (Mark.LATE, "16:20 到")}
    assert set(ChildAttendance.objects.filter(session=session).values_list("marked_by", flat=True)) == {
        teacher.pk
    }
    session.refresh_from_db()
    assert (session.roll_version, session.roll_taken_by) == (1, teacher)
    assert session.roll_taken_at is not None


def test_the_same_save_twice_is_one(world, session, committee_child):
    teacher = world.users["homeroom"]
    marks = {world.child.pk: Mark.PRESENT, committee_child.pk: Mark.ABSENT}
    record(session, teacher, marks, version=0, notes={world.child.pk: "", committee_child.pk: ""})
    history_rows = ChildAttendance.history.count()
    taken_at = Session.objects.get(pk=session.pk).roll_taken_at

    # A double tap: the same form, from the same version, sent again.
    again = record(session, teacher, marks, version=0, notes={world.child.pk: "", committee_child.pk: ""})

    assert again == RollCallResult(changed=0, version=1)
    assert ChildAttendance.history.count() == history_rows
    assert Session.objects.get(pk=session.pk).roll_taken_at == taken_at


def test_a_correction_changes_only_what_differs(world, session, committee_child):
    record(session, world.users["homeroom"], {world.child.pk: Mark.PRESENT, committee_child.pk: Mark.PRESENT})

    result = record(
        session, world.users["admin"], {world.child.pk: Mark.PRESENT, committee_child.pk: Mark.LATE}
    )

    assert result == RollCallResult(changed=1, version=2)
    marks = {m.student_id: m for m in ChildAttendance.objects.filter(session=session)}
    assert (marks[committee_child.pk].mark, marks[committee_child.pk].marked_by) == (
        Mark.LATE,
        world.users["admin"],
    )
    assert (marks[world.child.pk].mark, marks[world.child.pk].marked_by) == (
        Mark.PRESENT,
        world.users["homeroom"],
    )


def test_a_save_without_notes_keeps_the_notes(world, session):
    record(session, world.users["homeroom"], {world.child.pk: Mark.LATE}, notes={world.child.pk: "  堵车  "})

    record(session, world.users["homeroom"], {world.child.pk: Mark.PRESENT})

    assert stored(session) == {"张小明": (Mark.PRESENT, "堵车")}


def test_only_a_note_changed_is_a_change(world, session):
    record(session, world.users["homeroom"], {world.child.pk: Mark.LATE}, notes={world.child.pk: ""})

    result = record(
        session, world.users["homeroom"], {world.child.pk: Mark.LATE}, notes={world.child.pk: "16:30 到"}
    )

    assert result.changed == 1
    assert stored(session) == {"张小明": (Mark.LATE, "16:30 到")}


def test_a_child_who_left_the_offering_stays_correctable(world, session, basic_care):
    record(session, world.users["homeroom"], {world.child.pk: Mark.PRESENT})
    Enrollment.objects.filter(student=world.child, offering=basic_care).update(
        left_on=TODAY - timedelta(days=3)
    )

    result = record(session, world.users["homeroom"], {world.child.pk: Mark.LATE})

    assert result.changed == 1
    assert stored(session) == {"张小明": (Mark.LATE, "")}


# Conflicts ------------------------------------------------------------------------------------


def test_two_saves_from_the_same_version_with_different_marks_conflict(world, session, committee_child):
    homeroom, admin = world.users["homeroom"], world.users["admin"]
    # Both opened the sheet at version 0; the teacher saves first.
    record(session, homeroom, {world.child.pk: Mark.PRESENT, committee_child.pk: Mark.PRESENT}, version=0)
    history_rows = ChildAttendance.history.count()

    with pytest.raises(RollCallConflict) as caught:
        record(session, admin, {world.child.pk: Mark.ABSENT, committee_child.pk: Mark.PRESENT}, version=0)

    conflict = caught.value
    assert conflict.version == 1
    assert conflict.saved_by == homeroom
    assert [
        (d.student.name, d.stored_mark, d.marked_by, d.submitted_mark, d.stored_label, d.submitted_label)
        for d in conflict.differences
    ] == [("张小明", Mark.PRESENT, homeroom, Mark.ABSENT, "出勤", "缺勤")]
    assert conflict.differences[0].marked_at == ChildAttendance.objects.get(student=world.child).marked_at
    local = conflict.saved_at.astimezone(SHANGHAI)
    assert conflict.message == (
        f"其他人已在 {local:%H:%M} 保存了这次点名（{homeroom.display_name}）。下面显示的是已保存的结果，"
        "与您的选择不同的孩子已标出；核对后再保存一次即可。"
    )
    # Nothing of the second save is stored.
    assert stored(session) == {"张小明": (Mark.PRESENT, ""), "陈小华": (Mark.PRESENT, "")}
    assert ChildAttendance.history.count() == history_rows
    assert Session.objects.get(pk=session.pk).roll_version == 1


def test_a_deliberate_second_save_from_the_fresh_version_goes_through(world, session):
    record(session, world.users["homeroom"], {world.child.pk: Mark.PRESENT}, version=0)
    with pytest.raises(RollCallConflict) as caught:
        record(session, world.users["admin"], {world.child.pk: Mark.ABSENT}, version=0)

    result = record(
        session, world.users["admin"], {world.child.pk: Mark.ABSENT}, version=caught.value.version
    )

    assert result == RollCallResult(changed=1, version=2)
    assert stored(session) == {"张小明": (Mark.ABSENT, "")}


def test_a_stale_save_that_agrees_with_what_is_stored_is_no_conflict(world, session, committee_child):
    record(session, world.users["homeroom"], {world.child.pk: Mark.LATE}, version=0)

    # The admin's sheet (version 0) agrees on 张小明 and adds 陈小华, whom nobody had marked.
    result = record(
        session,
        world.users["admin"],
        {world.child.pk: Mark.LATE, committee_child.pk: Mark.PRESENT},
        version=0,
    )

    assert result == RollCallResult(changed=1, version=2)
    assert stored(session) == {"张小明": (Mark.LATE, ""), "陈小华": (Mark.PRESENT, "")}


def test_a_stale_save_that_would_overwrite_a_note_conflicts(world, session):
    record(
        session,
        world.users["homeroom"],
        {world.child.pk: Mark.LATE},
        notes={world.child.pk: "堵车"},
        version=0,
    )

    with pytest.raises(RollCallConflict) as caught:
        record(
            session, world.users["admin"], {world.child.pk: Mark.LATE}, notes={world.child.pk: ""}, version=0
        )

    assert [(d.stored_note, d.submitted_note) for d in caught.value.differences] == [("堵车", "")]
    assert stored(session) == {"张小明": (Mark.LATE, "堵车")}


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_saves_at_the_same_moment_store_one_and_report_the_other(world, session, committee_child):
    # The teacher and the administrator tap 保存点名 at once, from the same sheet, disagreeing on 张小明.
    barrier = threading.Barrier(2)
    outcomes = {}

    def save(persona, mark):
        try:
            barrier.wait()
            outcomes[persona] = roll_call_record(
                actor=world.users[persona],
                session=session,
                marks={world.child.pk: mark, committee_child.pk: Mark.PRESENT},
                version=0,
            )
        except Exception as error:
            outcomes[persona] = error
        finally:
            connection.close()  # the thread's own connection, or the test database cannot be dropped

    threads = [
        threading.Thread(target=save, args=("homeroom", Mark.PRESENT)),
        threading.Thread(target=save, args=("admin", Mark.LATE)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    results = sorted(outcomes.values(), key=lambda outcome: isinstance(outcome, Exception))
    assert results[0] == RollCallResult(changed=2, version=1)
    assert isinstance(results[1], RollCallConflict), results[1]
    (winner,) = [persona for persona, outcome in outcomes.items() if outcome == results[0]]
    kept = Mark.PRESENT if winner == "homeroom" else Mark.LATE
    assert stored(session) == {"张小明": (kept, ""), "陈小华": (Mark.PRESENT, "")}
    assert ChildAttendance.history.count() == 2


# The audit ------------------------------------------------------------------------------------


def test_every_change_is_a_history_row_with_who_and_before_and_after(world, session):
    homeroom, admin = world.users["homeroom"], world.users["admin"]
    record(session, homeroom, {world.child.pk: Mark.PRESENT})
    record(session, admin, {world.child.pk: Mark.ABSENT}, notes={world.child.pk: "没来"})

    history = list(ChildAttendance.history.filter(student=world.child).order_by("history_date", "history_id"))

    assert [(h.history_type, h.history_user, h.mark, h.note) for h in history] == [
        ("+", homeroom, Mark.PRESENT, ""),
        ("~", admin, Mark.ABSENT, "没来"),
    ]
    delta = history[1].diff_against(history[0])
    assert sorted((c.field, c.old, c.new) for c in delta.changes if c.field in ("mark", "note")) == [
        ("mark", Mark.PRESENT, Mark.ABSENT),
        ("note", "", "没来"),
    ]


# Refusals -------------------------------------------------------------------------------------


def assert_nothing_stored(session):
    assert not ChildAttendance.objects.filter(session=session).exists()
    session = Session.objects.get(pk=session.pk)
    assert (session.roll_version, session.roll_taken_at, session.roll_taken_by) == (0, None, None)


def test_a_cancelled_session_takes_no_roll(world, session):
    session_cancel(actor=world.users["admin"], session=session, reason="暴雨")

    with pytest.raises(ValidationError) as caught:
        record(session, world.users["homeroom"], {world.child.pk: Mark.PRESENT})

    assert caught.value.messages == [str(SESSION_CANCELLED)] == ["这一场次已经取消，不能点名。"]
    assert_nothing_stored(session)


def test_a_session_in_the_future_takes_no_roll(world, session):
    Session.objects.filter(pk=session.pk).update(date=TODAY + timedelta(days=1))

    with pytest.raises(ValidationError) as caught:
        record(session, world.users["homeroom"], {world.child.pk: Mark.PRESENT})

    assert caught.value.messages == [str(SESSION_IN_FUTURE)] == ["这一场次还没到，不能提前点名。"]
    assert_nothing_stored(session)


def test_a_child_not_on_the_roster_is_refused_and_nothing_is_stored(world, session):
    with pytest.raises(ValidationError) as caught:
        # 李小红 is in 3-2, not in 3-1's basic care.
        record(
            session,
            world.users["homeroom"],
            {world.child.pk: Mark.PRESENT, world.other_child.pk: Mark.PRESENT},
        )

    assert (
        caught.value.messages
        == [str(NOT_ON_ROSTER)]
        == ["有孩子不在这一场次的名单上，请刷新页面后重新点名。"]
    )
    assert_nothing_stored(session)


@pytest.mark.parametrize(
    ("mark", "note", "message"),
    [(None, None, NO_MARKS), ("sick", None, UNKNOWN_MARK), (Mark.PRESENT, "长" * 201, NOTE_TOO_LONG)],
)
def test_bad_input_is_refused(world, session, mark, note, message):
    marks = {world.child.pk: mark} if mark else {}
    notes = {world.child.pk: note} if note else None

    with pytest.raises(ValidationError) as caught:
        record(session, world.users["homeroom"], marks, notes=notes)

    assert caught.value.messages == [str(message)]
    assert_nothing_stored(session)


def test_the_refusal_messages_read_as_written():
    assert [str(m) for m in (NO_MARKS, UNKNOWN_MARK, NOTE_TOO_LONG)] == [
        "没有收到任何点名结果，请为每个孩子选择一项后再保存。",
        "无法识别的点名结果：请在出勤、迟到、请假、缺勤中选择。",
        "备注最多 200 个字。",
    ]


def test_a_child_on_leave_may_be_marked_present_when_they_came_after_all(world, session):
    LeaveRequest.objects.create(
        school=world.school,
        student=world.child,
        kind=LeaveKind.ABSENT,
        starts_on=TODAY,
        ends_on=TODAY,
        reason="看牙医",
        requested_by=world.users["parent"],
    )

    record(session, world.users["homeroom"], {world.child.pk: Mark.PRESENT})

    assert stored(session) == {"张小明": (Mark.PRESENT, "")}
