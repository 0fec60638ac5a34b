"""Terms, their calendar and time bands, fee standards, and the district's caps, by role persona."""

from datetime import date, time
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aftercare.models import Term
from aftercare.roles import Role
from catalogue import selectors, services
from catalogue.calendar_rules import DEFAULT_SLOTS
from catalogue.forms_calendar import BAD_DATE_LINE, DATE_REPEATED
from catalogue.models import (
    CalendarDate,
    CalendarDateKind,
    DistrictPolicy,
    Domain,
    FeeMode,
    FeeStandard,
    Offering,
    OfferingKind,
    TimeSlot,
)
from catalogue.services import (
    SLOT_GRADES_REVERSED,
    TERM_DATES_REVERSED,
    TERM_OVERLAPS,
    WINTER_DATES_REVERSED,
)
from tests.conftest import client_for
from tests.factories import DistrictFactory, TermFactory, make_district_officer, make_staff

# The existing services' messages have no constants; these are their exact texts.
SLOTS_OVERLAP = "同一时段、同一作息下，年级范围不能重叠。"
PAY_BAND_REVERSED = "课时酬金下限不能高于上限。"

DEFAULT_ROWS = [
    {"kind": "after_school", "season": "summer", "grade_from": 1, "grade_to": 2, "starts_at": "16:10", "ends_at": "17:30"},
    {"kind": "after_school", "season": "summer", "grade_from": 3, "grade_to": 6, "starts_at": "16:10", "ends_at": "17:45"},
    {"kind": "after_school", "season": "winter", "grade_from": 1, "grade_to": 2, "starts_at": "16:10", "ends_at": "17:15"},
    {"kind": "after_school", "season": "winter", "grade_from": 3, "grade_to": 6, "starts_at": "16:10", "ends_at": "17:30"},
]  # fmt: skip


def slot_state(term) -> list[tuple]:
    return list(
        TimeSlot.objects.filter(term=term)
        .order_by("kind", "season", "grade_from")
        .values_list("kind", "season", "grade_from", "grade_to", "starts_at", "ends_at")
    )


def calendar_state(term) -> tuple:
    term = Term.objects.get(pk=term.pk)
    dates = list(
        CalendarDate.objects.filter(term=term).order_by("date").values_list("date", "kind", "reason")
    )
    return term.service_weekdays, term.winter_starts_on, term.winter_ends_on, dates, slot_state(term)


def calendar_post(
    *,
    weekdays=(0, 1, 2, 3, 4),
    winter_starts_on="",
    winter_ends_on="",
    excluded="",
    makeup="",
    slots=DEFAULT_ROWS,
    initial_count=None,
    extra_blank_rows=2,
    delete=(),
) -> dict:
    """The calendar form as the browser sends it: saved rows, then blank extra rows."""
    rows = [*slots, *({} for _ in range(extra_blank_rows))]
    data = {
        "service_weekdays": [str(day) for day in weekdays],
        "winter_starts_on": winter_starts_on,
        "winter_ends_on": winter_ends_on,
        "excluded": excluded,
        "makeup": makeup,
        "slots-TOTAL_FORMS": str(len(rows)),
        "slots-INITIAL_FORMS": str(len(slots) if initial_count is None else initial_count),
        "slots-MIN_NUM_FORMS": "0",
        "slots-MAX_NUM_FORMS": "30",
    }
    for index, row in enumerate(rows):
        for name in ("kind", "season", "grade_from", "grade_to", "starts_at", "ends_at"):
            data[f"slots-{index}-{name}"] = str(row.get(name, ""))
        if index in delete:
            data[f"slots-{index}-DELETE"] = "on"
    return data


@pytest.fixture
def short_term(world):
    """Two weeks of school A, Monday 2027-03-01 to Sunday 2027-03-14, with the default bands."""
    term = TermFactory(
        school=world.school, name="2027春季短学期", starts_on=date(2027, 3, 1), ends_on=date(2027, 3, 14)
    )
    services.term_setup_defaults(actor=world.users["admin"], term=term)
    return term


def calendar_url(term) -> str:
    return reverse("catalogue:calendar-edit", kwargs={"pk": term.pk})


# Term list and creation -------------------------------------------------------------------------


def test_principal_sees_the_terms_with_their_service_day_count_and_no_edit_links(world, as_user, short_term):
    # Given school A's autumn term and the two-week term, one holiday on a Tuesday in the short one
    CalendarDate.objects.create(term=short_term, date=date(2027, 3, 9), kind=CalendarDateKind.EXCLUDED)

    # When the principal opens the list
    response = as_user("principal").get(reverse("catalogue:term-list"))

    # Then both terms are listed newest first, with their service days, and nothing to edit
    assert response.status_code == 200
    terms = response.context["terms"]
    assert [(t.name, t.service_day_count, t.excluded_count, t.slot_count) for t in terms] == [
        ("2027春季短学期", 9, 1, 4),
        ("2026秋季学期", 102, 0, 0),
    ]
    assert response.context["may_manage"] is False
    assert calendar_url(short_term) not in response.content.decode()


def test_admin_sees_links_to_calendar_and_fees(world, as_user, short_term):
    response = as_user("admin").get(reverse("catalogue:term-list"))

    page = response.content.decode()
    assert calendar_url(short_term) in page
    assert reverse("catalogue:fee-standard-edit", kwargs={"pk": short_term.pk}) in page
    assert reverse("catalogue:term-create") in page


def test_admin_creates_a_term_and_finds_the_default_bands_on_its_calendar(world, as_user):
    client = as_user("admin")

    # When the administrator creates the spring term through the page
    response = client.post(
        reverse("catalogue:term-create"),
        {
            "name": "2027春季学期",
            "starts_on": "2027-02-22",
            "ends_on": "2027-07-02",
            "winter_starts_on": "2027-02-22",
            "winter_ends_on": "2027-03-31",
        },
    )

    # Then the term exists with the seeds' bands and an empty fee standard, and the page goes on to its calendar
    term = Term.objects.get(school=world.school, name="2027春季学期")
    assert response.status_code == 302
    assert response["Location"] == calendar_url(term)
    assert (
        term.starts_on,
        term.ends_on,
        term.winter_starts_on,
        term.winter_ends_on,
        term.service_weekdays,
    ) == (
        date(2027, 2, 22),
        date(2027, 7, 2),
        date(2027, 2, 22),
        date(2027, 3, 31),
        [0, 1, 2, 3, 4],
    )
    assert slot_state(term) == [
        ("after_school", "summer", 1, 2, time(16, 10), time(17, 30)),
        ("after_school", "summer", 3, 6, time(16, 10), time(17, 45)),
        ("after_school", "winter", 1, 2, time(16, 10), time(17, 15)),
        ("after_school", "winter", 3, 6, time(16, 10), time(17, 30)),
    ]
    assert FeeStandard.objects.filter(term=term, is_free=False).count() == 1

    # And the calendar page shows those four bands as saved rows, plus two blank ones
    page = client.get(calendar_url(term))
    formset = page.context["slot_formset"]
    assert page.context["slots_saved"] is True
    assert formset.initial_form_count() == 4
    assert len(formset.forms) == 6
    assert [form.initial for form in formset.forms[:4]] == [
        {
            "kind": "after_school",
            "season": season,
            "grade_from": grade_from,
            "grade_to": grade_to,
            "starts_at": time(16, 10),
            "ends_at": ends_at,
        }
        for season, grade_from, grade_to, ends_at in [
            ("summer", 1, 2, time(17, 30)),
            ("summer", 3, 6, time(17, 45)),
            ("winter", 1, 2, time(17, 15)),
            ("winter", 3, 6, time(17, 30)),
        ]
    ]


def test_a_term_overlapping_another_is_refused(world, as_user):
    data = {"name": "2026冬季托管", "starts_on": "2027-01-10", "ends_on": "2027-02-10"}

    response = as_user("admin").post(reverse("catalogue:term-create"), data)

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        TERM_OVERLAPS % {"name": "2026秋季学期", "start": date(2026, 9, 1), "end": date(2027, 1, 20)}
    ]
    assert list(Term.objects.filter(school=world.school).values_list("name", flat=True)) == ["2026秋季学期"]
    assert response.context["form"]["name"].value() == "2026冬季托管"


def test_a_term_ending_before_it_starts_is_refused(world, as_user):
    data = {"name": "2027春季学期", "starts_on": "2027-07-02", "ends_on": "2027-02-22"}

    response = as_user("admin").post(reverse("catalogue:term-create"), data)

    assert response.context["form"].errors == {"ends_on": [str(TERM_DATES_REVERSED)]}
    assert Term.objects.filter(school=world.school).count() == 1


@pytest.mark.parametrize(("persona", "status"), [("principal", 403), ("homeroom", 403), ("parent", 403)])
def test_only_administrators_create_terms(world, persona, status, as_user):
    data = {"name": "2027春季学期", "starts_on": "2027-02-22", "ends_on": "2027-07-02"}

    response = as_user(persona).post(reverse("catalogue:term-create"), data)

    assert response.status_code == status
    assert Term.objects.filter(name="2027春季学期").count() == 0


# Calendar ---------------------------------------------------------------------------------------


def test_the_calendar_page_shows_the_saved_values(world, as_user, short_term):
    CalendarDate.objects.create(
        term=short_term, date=date(2027, 3, 9), kind=CalendarDateKind.EXCLUDED, reason="校运会"
    )
    CalendarDate.objects.create(
        term=short_term, date=date(2027, 3, 10), kind=CalendarDateKind.EXCLUDED, reason="校运会"
    )
    CalendarDate.objects.create(
        term=short_term, date=date(2027, 3, 13), kind=CalendarDateKind.MAKEUP, reason="调休"
    )

    form = as_user("admin").get(calendar_url(short_term)).context["form"]

    assert form["service_weekdays"].value() == [0, 1, 2, 3, 4]
    assert form["excluded"].value() == "2027-03-09~2027-03-10 校运会"
    assert form["makeup"].value() == "2027-03-13 调休"


# Monday 2027-03-01 to Sunday 2027-03-14: ten weekdays. Without Thursdays (03-04, 03-11): eight.
# The holiday on Tuesday 03-09 takes one away: seven. The make-up Saturday 03-13 adds one: eight.
@pytest.mark.parametrize(
    ("weekdays", "excluded", "makeup", "expected"),
    [
        ((0, 1, 2, 3, 4), "", "", [1, 2, 3, 4, 5, 8, 9, 10, 11, 12]),
        ((0, 1, 2, 4), "", "", [1, 2, 3, 5, 8, 9, 10, 12]),
        ((0, 1, 2, 4), "2027-03-09 校运会", "", [1, 2, 3, 5, 8, 10, 12]),
        ((0, 1, 2, 4), "2027-03-09 校运会", "2027/3/13 调休补班", [1, 2, 3, 5, 8, 10, 12, 13]),
    ],
)
def test_saving_the_calendar_changes_the_service_days_exactly(
    world, as_user, short_term, weekdays, excluded, makeup, expected
):
    client = as_user("admin")

    response = client.post(
        calendar_url(short_term), calendar_post(weekdays=weekdays, excluded=excluded, makeup=makeup)
    )

    assert response.status_code == 302
    assert response["Location"] == calendar_url(short_term)
    calendar = selectors.term_calendar(Term.objects.get(pk=short_term.pk))
    assert calendar.service_days == [date(2027, 3, day) for day in expected]
    summary = client.get(calendar_url(short_term)).context["summary"]
    assert (summary.service_day_count, summary.first_day, summary.last_day) == (
        len(expected),
        date(2027, 3, 1),
        date(2027, 3, expected[-1]),
    )


def test_the_saved_calendar_round_trips(world, as_user, short_term):
    client = as_user("admin")
    data = calendar_post(
        weekdays=(0, 1, 2, 4),
        winter_starts_on="2027-03-08",
        excluded="2027-03-09 校运会\n\n2027-03-04 教研（本来周四不服务）",
        makeup="2027/3/13 调休补班",
    )

    client.post(calendar_url(short_term), data)

    assert calendar_state(short_term) == (
        [0, 1, 2, 4],
        date(2027, 3, 8),
        None,
        [
            (date(2027, 3, 4), CalendarDateKind.EXCLUDED, "教研（本来周四不服务）"),
            (date(2027, 3, 9), CalendarDateKind.EXCLUDED, "校运会"),
            (date(2027, 3, 13), CalendarDateKind.MAKEUP, "调休补班"),
        ],
        slot_state(short_term),
    )
    page = client.get(calendar_url(short_term))
    form, summary = page.context["form"], page.context["summary"]
    assert (form["excluded"].value(), form["makeup"].value()) == (
        "2027-03-04 教研（本来周四不服务）\n2027-03-09 校运会",
        "2027-03-13 调休补班",
    )
    # The Thursday holiday changes nothing, which the summary says; 03-08 to 03-13 are winter days.
    assert [(d.day, d.has_effect) for d in summary.excluded] == [
        (date(2027, 3, 4), False),
        (date(2027, 3, 9), True),
    ]
    assert [(d.day, d.has_effect) for d in summary.makeup] == [(date(2027, 3, 13), True)]
    assert summary.winter_service_day_count == 4
    (march,) = summary.months
    assert [[cell.state if cell else None for cell in week] for week in march.weeks] == [
        ["service", "service", "service", "excluded", "service", "off", "off"],
        ["service", "excluded", "service", "off", "service", "makeup", "off"],
        ["outside"] * 7,
        ["outside"] * 7,
        ["outside", "outside", "outside", None, None, None, None],
    ]
    assert page.content.decode().count('class="cal-service cal-winter"') == 3


def test_bad_date_lines_are_reported_by_line_number_and_nothing_is_saved(world, as_user, short_term):
    before = calendar_state(short_term)
    text = "2027-03-09 校运会\n2027-3-32 错日子\n植树节\n2027-03-09 又写一次"

    response = as_user("admin").post(
        calendar_url(short_term), calendar_post(weekdays=(0, 1, 2, 4), excluded=text)
    )

    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors == {
        "excluded": [
            BAD_DATE_LINE % {"line": 2, "text": "2027-3-32 错日子"},
            BAD_DATE_LINE % {"line": 3, "text": "植树节"},
            DATE_REPEATED % {"line": 4, "date": date(2027, 3, 9), "first": 1},
        ]
    }
    assert calendar_state(short_term) == before
    # What was typed is all still there.
    assert form["excluded"].value() == text
    assert form["service_weekdays"].value() == ["0", "1", "2", "4"]
    assert "没有保存，请修改下面标出的问题。" in response.content.decode()


def test_overlapping_bands_are_refused_and_the_calendar_part_is_not_saved(world, as_user, short_term):
    before = calendar_state(short_term)
    slots = [
        {**DEFAULT_ROWS[0], "grade_to": 3},  # summer, grades 1-3: overlaps 3-6 in grade 3
        *DEFAULT_ROWS[1:],
    ]

    response = as_user("admin").post(
        calendar_url(short_term),
        calendar_post(weekdays=(0, 1, 2, 4), excluded="2027-03-09 校运会", slots=slots),
    )

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [SLOTS_OVERLAP]
    assert calendar_state(short_term) == before


def test_problems_of_dates_and_bands_are_reported_together(world, as_user, short_term):
    before = calendar_state(short_term)
    slots = [{**DEFAULT_ROWS[0], "grade_to": 3}, *DEFAULT_ROWS[1:]]

    response = as_user("admin").post(
        calendar_url(short_term), calendar_post(excluded="2027-04-01 春假", slots=slots)
    )

    assert response.context["form"].non_field_errors() == [
        "以下日期不在本学期（2027-03-01 至 2027-03-14）内：2027-04-01",
        SLOTS_OVERLAP,
    ]
    assert calendar_state(short_term) == before


def test_a_band_with_reversed_grades_is_marked_on_its_row(world, as_user, short_term):
    before = calendar_state(short_term)
    slots = [*DEFAULT_ROWS, {"kind": "noon", "season": "any", "grade_from": 5, "grade_to": 2, "starts_at": "12:00", "ends_at": "13:00"}]  # fmt: skip

    response = as_user("admin").post(calendar_url(short_term), calendar_post(slots=slots, initial_count=4))

    formset = response.context["slot_formset"]
    assert formset.errors[4] == {"grade_to": [str(SLOT_GRADES_REVERSED)]}
    assert calendar_state(short_term) == before


def test_winter_dates_out_of_order_are_refused(world, as_user, short_term):
    before = calendar_state(short_term)

    response = as_user("admin").post(
        calendar_url(short_term), calendar_post(winter_starts_on="2027-03-10", winter_ends_on="2027-03-02")
    )

    assert response.context["form"].errors == {"winter_ends_on": [str(WINTER_DATES_REVERSED)]}
    assert calendar_state(short_term) == before


def test_bands_are_added_and_deleted_and_blank_rows_ignored(world, as_user, short_term):
    noon = {"kind": "noon", "season": "any", "grade_from": 1, "grade_to": 6, "starts_at": "12:10", "ends_at": "13:00"}  # fmt: skip
    data = calendar_post(slots=[*DEFAULT_ROWS, noon], initial_count=4, delete={2, 3})

    response = as_user("admin").post(calendar_url(short_term), data)

    assert response.status_code == 302
    assert slot_state(short_term) == [
        ("after_school", "summer", 1, 2, time(16, 10), time(17, 30)),
        ("after_school", "summer", 3, 6, time(16, 10), time(17, 45)),
        ("noon", "any", 1, 6, time(12, 10), time(13, 0)),
    ]


def test_a_term_without_bands_offers_the_defaults_as_unsaved_rows(world, as_user):
    term = world.school.terms.get()

    response = as_user("admin").get(calendar_url(term))

    assert response.context["slots_saved"] is False
    assert [form.initial["ends_at"] for form in response.context["slot_formset"].forms[:4]] == [
        slot.ends_at for slot in DEFAULT_SLOTS
    ]
    assert TimeSlot.objects.filter(term=term).count() == 0


@pytest.fixture
def far_admin(world):
    # An administrator of school B: nothing of school A.
    return make_staff(world.other_school, Role.ADMINISTRATOR, username="far_admin")


@pytest.mark.parametrize(
    ("persona", "status"),
    [("principal", 403), ("homeroom", 403), ("parent", 403), ("far_principal", 404), ("district", 404)],
)
@pytest.mark.parametrize("url_name", ["catalogue:calendar-edit", "catalogue:fee-standard-edit"])
def test_only_the_school_administrators_change_a_term(world, as_user, short_term, persona, status, url_name):
    path = reverse(url_name, kwargs={"pk": short_term.pk})
    before = (calendar_state(short_term), list(FeeStandard.objects.values_list("term", "is_free")))
    data = {**calendar_post(weekdays=(0,), excluded="2027-03-09 校运会"), "is_free": "on"}
    client = as_user(persona)

    assert client.get(path).status_code == status
    assert client.post(path, data).status_code == status
    assert (calendar_state(short_term), list(FeeStandard.objects.values_list("term", "is_free"))) == before


def test_another_schools_administrator_gets_404(world, short_term, far_admin):
    before = calendar_state(short_term)
    client = client_for(far_admin)

    response = client.post(calendar_url(short_term), calendar_post(weekdays=(0,)))

    assert response.status_code == 404
    assert client.get(reverse("catalogue:fee-standard-edit", kwargs={"pk": short_term.pk})).status_code == 404
    assert calendar_state(short_term) == before


# Fee standard -----------------------------------------------------------------------------------


@pytest.fixture
def charged_offerings(world):
    term = world.school.terms.get()
    services.term_setup_defaults(actor=world.users["admin"], term=term)
    care = services.offering_create(
        actor=world.users["admin"],
        term=term,
        kind=OfferingKind.BASIC_CARE,
        name="三（1）班基础托管",
        classroom=world.classroom,
        capacity=45,
        weekdays=[0, 1, 2, 3, 4],
        fee_mode=FeeMode.PER_TERM,
        fee_amount=Decimal("300.00"),
    )
    football = services.offering_create(
        actor=world.users["admin"],
        term=term,
        kind=OfferingKind.COURSE,
        name="足球",
        domain=Domain.PHYSICAL,
        grades=[3, 4],
        capacity=30,
        weekdays=[1, 3],
        fee_mode=FeeMode.PER_SESSION,
        fee_amount=Decimal("10.00"),
    )
    choir = services.offering_create(
        actor=world.users["admin"],
        term=term,
        kind=OfferingKind.COURSE,
        name="合唱",
        domain=Domain.AESTHETIC,
        grades=[3],
        capacity=40,
        weekdays=[2],
    )
    return term, [care, football, choir]


def test_the_fee_page_shows_the_district_caps_and_what_declaring_free_changes(
    world, as_user, charged_offerings
):
    term, _offerings = charged_offerings

    response = as_user("admin").get(reverse("catalogue:fee-standard-edit", kwargs={"pk": term.pk}))

    page = response.content.decode()
    assert "每生每学期不超过 350.00 元" in page
    assert "每生每学期不超过 600.00 元" in page
    assert "每课时 40.00–60.00 元" in page
    assert response.context["charged_count"] == 2
    assert "目前有 2 个收费项目会改为免费" in page


def test_declaring_the_term_free_makes_every_offering_free(world, as_user, charged_offerings):
    term, offerings = charged_offerings
    client = as_user("admin")
    path = reverse("catalogue:fee-standard-edit", kwargs={"pk": term.pk})

    response = client.post(
        path,
        {
            "is_free": "on",
            "legal_basis": "示范区课后服务管理办法（示教〔2026〕8号）",
            "complaint_phone": "0755-12345678",
            "refund_rule": "",
        },
        follow=True,
    )

    assert response.redirect_chain == [(path, 302)]
    assert [str(m) for m in response.context["messages"]] == [
        "收费标准已保存。本学期 2 个收费项目已改为免费。"
    ]
    assert list(
        Offering.objects.filter(pk__in=[o.pk for o in offerings])
        .order_by("name")
        .values_list("name", "fee_mode", "fee_amount")
    ) == [
        ("三（1）班基础托管", FeeMode.FREE, Decimal("0.00")),
        ("合唱", FeeMode.FREE, Decimal("0.00")),
        ("足球", FeeMode.FREE, Decimal("0.00")),
    ]
    standard = FeeStandard.objects.get(term=term)
    assert (standard.is_free, standard.legal_basis, standard.complaint_phone) == (
        True,
        "示范区课后服务管理办法（示教〔2026〕8号）",
        "0755-12345678",
    )
    assert response.context["form"]["is_free"].value() is True


# District policy --------------------------------------------------------------------------------


POLICY = {
    "basic_care_cap": "300.00",
    "course_cap": "500.00",
    "hourly_pay_min": "45.00",
    "hourly_pay_max": "55.00",
    "low_satisfaction_percent": "70",
}


def policy_state(district) -> tuple | None:
    return (
        DistrictPolicy.objects.filter(district=district)
        .values_list(
            "basic_care_cap", "course_cap", "hourly_pay_min", "hourly_pay_max", "low_satisfaction_percent"
        )
        .first()
    )


def test_the_district_officer_sees_the_defaults_then_saves_new_caps(world, as_user):
    client = as_user("district")
    path = reverse("catalogue:district-policy-edit")

    form = client.get(path).context["form"]
    assert [form[name].value() for name in POLICY] == [
        Decimal("350.00"),
        Decimal("600.00"),
        Decimal("40.00"),
        Decimal("60.00"),
        Decimal("60.00"),
    ]

    response = client.post(path, POLICY)

    assert response.status_code == 302
    assert response["Location"] == f"{path}?district={world.district.pk}"
    assert policy_state(world.district) == (
        Decimal("300.00"),
        Decimal("500.00"),
        Decimal("45.00"),
        Decimal("55.00"),
        Decimal("70.00"),
    )


def test_a_reversed_pay_band_is_refused_and_nothing_saved(world, as_user):
    response = as_user("district").post(
        reverse("catalogue:district-policy-edit"), {**POLICY, "hourly_pay_min": "70.00"}
    )

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [PAY_BAND_REVERSED]
    assert response.context["form"]["hourly_pay_min"].value() == "70.00"
    assert policy_state(world.district) is None


def test_the_principal_may_not_edit_the_district_policy(world, as_user):
    response = as_user("principal").post(reverse("catalogue:district-policy-edit"), POLICY)

    assert response.status_code == 403
    assert policy_state(world.district) is None


@pytest.mark.parametrize("district_param", ["other", "999999", "abc"])
def test_a_district_not_the_officers_is_404(world, as_user, district_param):
    other = DistrictFactory(name="邻区")
    value = str(other.pk) if district_param == "other" else district_param
    path = f"{reverse('catalogue:district-policy-edit')}?district={value}"

    response = as_user("district").post(path, POLICY)

    assert response.status_code == 404
    assert policy_state(other) is None
    assert policy_state(world.district) is None


def test_an_officer_of_two_districts_starts_with_the_first_by_name_and_may_choose(world):
    east = DistrictFactory(name="东区")  # sorts before 示范区
    officer = make_district_officer(world.district, username="two_districts")
    officer.district_seats.create(district=east)
    client = client_for(officer)
    path = reverse("catalogue:district-policy-edit")

    assert client.get(path).context["district"] == east
    client.post(f"{path}?district={world.district.pk}", POLICY)

    assert policy_state(world.district)[0] == Decimal("300.00")
    assert policy_state(east) is None


# Query counts -----------------------------------------------------------------------------------


def grow_terms(world, count: int) -> None:
    """``count`` more terms of school A, one a year from 2030, each with bands and special dates."""
    for n in range(count):
        term = TermFactory(school=world.school, starts_on=date(2030 + n, 3, 1), ends_on=date(2030 + n, 6, 30))
        services.term_setup_defaults(actor=world.users["admin"], term=term)
        for day in (2, 3, 4):
            CalendarDate.objects.create(
                term=term, date=date(2030 + n, 4, day), kind=CalendarDateKind.EXCLUDED
            )


def grow_calendar(term, count: int) -> None:
    """``count`` special dates and ``count`` single-grade bands more."""
    CalendarDate.objects.filter(term=term).delete()
    TimeSlot.objects.filter(term=term).delete()
    bands = [(kind, season, grade) for kind in ("morning", "noon") for season in ("any", "summer", "winter") for grade in range(1, 7)]  # fmt: skip
    for n in range(count):
        kind = CalendarDateKind.EXCLUDED if n % 2 else CalendarDateKind.MAKEUP
        CalendarDate.objects.create(term=term, date=date(2026, 9, 1 + n), kind=kind, reason=f"第{n}天")
        slot_kind, season, grade = bands[n]
        TimeSlot.objects.create(
            term=term,
            kind=slot_kind,
            season=season,
            grade_from=grade,
            grade_to=grade,
            starts_at=time(7, 30),
            ends_at=time(8, 0),
        )


def counted_get(client, path) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(queries)


def test_the_term_list_runs_a_constant_number_of_queries(world, as_user):
    client = as_user("admin")
    path = reverse("catalogue:term-list")
    client.get(path)  # the first request of a session writes it

    counts = []
    for more in (1, 10):
        grow_terms(world, more)
        counts.append(counted_get(client, path))

    assert Term.objects.filter(school=world.school).count() == 12
    assert counts == [6, 6]


def test_the_calendar_page_runs_a_constant_number_of_queries(world, as_user):
    term = world.school.terms.get()
    client = as_user("admin")
    path = calendar_url(term)
    client.get(path)

    counts = []
    for size in (2, 20):
        grow_calendar(term, size)
        counts.append(counted_get(client, path))

    assert len(as_user("admin").get(path).context["slot_formset"].forms) == 22
    assert counts == [6, 6]
