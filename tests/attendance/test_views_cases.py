"""Follow-up cases (无故脱管) by persona: the school's dashboard, one case, recording what happened."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from attendance.alerts import absence_case_close, absence_cases_open
from attendance.models import AbsenceCase, CaseOutcome, CaseStatus, Mark, Session
from attendance.rollcall import roll_call_record
from attendance.sessions import sessions_prepare
from tests.factories import GuardianFactory, StudentFactory

from . import setup
from .conftest import TODAY


def message_texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def open_case(world, session, student, actor=None) -> AbsenceCase:
    (case,) = absence_cases_open(
        actor=actor or world.users["homeroom"], session=session, student_ids=[student.pk]
    )
    return case


@pytest.fixture
def case(world, session):
    """张小明, marked absent without leave in today's basic care of 3-1."""
    roll_call_record(
        actor=world.users["homeroom"], session=session, marks={world.child.pk: Mark.ABSENT}, version=0
    )
    return AbsenceCase.objects.get()


@pytest.fixture
def other_case(world, enrolled, term):
    """李小红 (3-2), absent in 3-2's basic care today."""
    sessions_prepare(school=world.school, day=TODAY)
    session = Session.objects.get(offering__classroom=world.other_classroom, date=TODAY)
    return open_case(world, session, world.other_child, actor=world.users["other_homeroom"])


@pytest.fixture
def older_case(world, enrolled, basic_care):
    """陈小华, absent last Friday, still open."""
    friday = TODAY - timedelta(days=3)
    sessions_prepare(school=world.school, day=friday)
    session = Session.objects.get(offering=basic_care, date=friday)
    return open_case(world, session, world.classroom.students.get(name="陈小华"))


# The dashboard --------------------------------------------------------------------------------


def groups_of(response) -> list[tuple[str, list[str]]]:
    return [(title, [c.student.name for c in cases]) for title, cases in response.context["groups"]]


def test_the_administrator_sees_today_s_open_cases_first_then_older_ones(
    world, case, other_case, older_case, as_user
):
    response = as_user("admin").get(reverse("attendance:case-list"))

    assert response.status_code == 200
    assert groups_of(response) == [("今天", ["李小红", "张小明"]), ("更早", ["陈小华"])]
    html = response.content.decode()
    assert reverse("attendance:case-detail", args=[case.pk]) in html
    assert "三年级（1）班 基础托管" in html


def test_closed_cases_are_behind_the_filter(world, case, other_case, as_user):
    absence_case_close(
        actor=world.users["admin"], case=case, outcome=CaseOutcome.REACHED_PARENT, note="已接回"
    )

    open_page = as_user("admin").get(reverse("attendance:case-list"))
    closed_page = as_user("admin").get(reverse("attendance:case-list"), {"status": "closed"})

    assert groups_of(open_page) == [("今天", ["李小红"]), ("更早", [])]
    assert groups_of(closed_page) == [("已处理", ["张小明"])]
    assert "已联系家长：已接回" in closed_page.content.decode()


def test_a_homeroom_teacher_sees_their_own_class_only(world, case, other_case, as_user):
    own = as_user("homeroom").get(reverse("attendance:case-list"))
    other = as_user("other_homeroom").get(reverse("attendance:case-list"))

    assert groups_of(own) == [("今天", ["张小明"]), ("更早", [])]
    assert groups_of(other) == [("今天", ["李小红"]), ("更早", [])]
    assert "张小明" not in other.content.decode()


def test_phones_are_full_for_the_administrator_and_masked_for_the_principal(world, case, as_user):
    admin_html = as_user("admin").get(reverse("attendance:case-list")).content.decode()
    principal_html = as_user("principal").get(reverse("attendance:case-list")).content.decode()

    assert 'href="tel:13812341234"' in admin_html
    assert "13812341234" not in principal_html
    assert "138****1234" in principal_html
    assert "tel:" not in principal_html


def test_school_b_sees_none_of_school_a_s_cases(world, case, as_user):
    response = as_user("far_principal").get(reverse("attendance:case-list"))

    assert groups_of(response) == [("今天", []), ("更早", [])]


@pytest.mark.parametrize("persona", ["service_teacher", "provider", "finance", "parent", "district"])
def test_others_have_no_dashboard(world, case, as_user, persona):
    assert as_user(persona).get(reverse("attendance:case-list")).status_code == 403


def test_the_dashboard_costs_the_same_for_one_case_and_many(
    world, case, basic_care, as_user, django_assert_num_queries
):
    client = as_user("admin")
    client.get(reverse("attendance:case-list"))  # the first request of a session writes it
    # Sign-in (session, user, roles), the school, the cases, their guardians.
    with django_assert_num_queries(6):
        client.get(reverse("attendance:case-list"))
    session = case.session
    for n in range(20):
        child = StudentFactory(classroom=world.classroom, name=f"学生{n:02d}")
        GuardianFactory(student=child)
        GuardianFactory(student=child)
        setup.enroll(world, child, [basic_care])
        open_case(world, session, child)
    with django_assert_num_queries(6):
        response = client.get(reverse("attendance:case-list"))
    assert len(response.context["groups"][0][1]) == 21


# One case -------------------------------------------------------------------------------------


def test_the_case_shows_the_facts_the_family_and_its_history(world, case, as_user):
    response = as_user("admin").get(reverse("attendance:case-detail", args=[case.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "张小明 · 三年级（1）班" in html
    assert "缺勤" in html and "跟踪中" in html
    assert 'href="tel:13812341234"' in html
    assert [line.text for line in response.context["history"]] == ["发现缺勤，开始跟踪"]
    assert response.context["history"][0].by == world.users["homeroom"]
    assert "保存处理结果" in html


def test_the_school_records_what_happened(world, case, as_user):
    response = as_user("admin").post(
        reverse("attendance:case-detail", args=[case.pk]),
        {"outcome": CaseOutcome.COLLECTED_EARLY, "note": "奶奶三点接走了，忘了请假"},
    )

    assert response.status_code == 302 and response["Location"] == reverse("attendance:case-list")
    assert message_texts(response) == ["已记录张小明的处理结果：家长已提前接走。"]
    case.refresh_from_db()
    assert (case.status, case.outcome, case.outcome_note, case.closed_by) == (
        CaseStatus.CLOSED,
        CaseOutcome.COLLECTED_EARLY,
        "奶奶三点接走了，忘了请假",
        world.users["admin"],
    )
    detail = as_user("admin").get(reverse("attendance:case-detail", args=[case.pk]))
    assert [line.text for line in detail.context["history"]] == [
        "发现缺勤，开始跟踪",
        "处理结果：家长已提前接走（奶奶三点接走了，忘了请假）",
    ]
    assert "保存处理结果" not in detail.content.decode()


def test_other_needs_a_note(world, case, as_user):
    response = as_user("homeroom").post(
        reverse("attendance:case-detail", args=[case.pk]), {"outcome": "other"}
    )

    assert response.status_code == 400
    assert response.context["form"].errors == {"note": ["选择“其他”时，请写明处理情况。"]}
    assert AbsenceCase.objects.get(pk=case.pk).status == CaseStatus.OPEN


def test_a_closed_case_cannot_be_closed_twice(world, case, as_user):
    absence_case_close(actor=world.users["admin"], case=case, outcome=CaseOutcome.CHILD_FOUND)

    response = as_user("principal").post(
        reverse("attendance:case-detail", args=[case.pk]), {"outcome": "reached_parent", "note": ""}
    )

    assert response.status_code == 400
    assert "这条跟踪已经处理过了，不能重复处理。" in response.content.decode()
    case.refresh_from_db()
    assert (case.outcome, case.closed_by) == (CaseOutcome.CHILD_FOUND, world.users["admin"])


def test_a_correction_of_the_roll_call_shows_in_the_case(world, case, as_user):
    roll_call_record(
        actor=world.users["homeroom"], session=case.session, marks={world.child.pk: Mark.PRESENT}, version=1
    )

    response = as_user("admin").get(reverse("attendance:case-detail", args=[case.pk]))

    assert [line.text for line in response.context["history"]] == [
        "发现缺勤，开始跟踪",
        "处理结果：点名有误（点名已更正）",
    ]


def test_the_guardian_reads_the_case_without_the_form(world, case, as_user):
    response = as_user("parent").get(reverse("attendance:case-detail", args=[case.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "张小明" in html and "保存处理结果" not in html
    assert 'href="tel:13812341234"' in html  # their own family's numbers


def test_the_guardian_is_told_whom_to_contact(world, case, as_user):
    world.school.phone = "0755-12345678"
    world.school.save()

    html = as_user("parent").get(reverse("attendance:case-detail", args=[case.pk])).content.decode()

    contact = html[
        html.index('id="contact-school"') : html.index("</section>", html.index('id="contact-school"'))
    ]
    assert f"班主任 {world.users['homeroom'].display_name}" in contact
    assert '<a href="tel:0755-12345678">0755-12345678</a>' in contact
    staff_page = as_user("admin").get(reverse("attendance:case-detail", args=[case.pk])).content.decode()
    assert 'id="contact-school"' not in staff_page


def test_the_guardian_cannot_record_what_happened(world, case, as_user):
    response = as_user("parent").post(
        reverse("attendance:case-detail", args=[case.pk]), {"outcome": "child_found", "note": ""}
    )

    assert response.status_code == 403
    assert AbsenceCase.objects.get(pk=case.pk).status == CaseStatus.OPEN


@pytest.mark.parametrize(
    ("persona", "status"), [("other_parent", 404), ("far_principal", 404), ("other_homeroom", 403)]
)
def test_others_cannot_see_the_case(world, case, as_user, persona, status):
    assert as_user(persona).get(reverse("attendance:case-detail", args=[case.pk])).status_code == status
    response = as_user(persona).post(
        reverse("attendance:case-detail", args=[case.pk]), {"outcome": "child_found"}
    )
    assert response.status_code == status
    assert AbsenceCase.objects.get(pk=case.pk).status == CaseStatus.OPEN


def test_the_session_s_teacher_may_record_what_happened(world, football_session, as_user):
    roll_call_record(
        actor=world.users["service_teacher"],
        session=football_session,
        marks={world.child.pk: Mark.ABSENT},
        version=0,
    )
    case = AbsenceCase.objects.get()

    response = as_user("service_teacher").post(
        reverse("attendance:case-detail", args=[case.pk]), {"outcome": "child_found", "note": "在操场另一边"}
    )

    assert response.status_code == 302
    assert AbsenceCase.objects.get(pk=case.pk).closed_by == world.users["service_teacher"]
