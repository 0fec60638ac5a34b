"""The administrator sets up a term and a course in the browser; a parent reads the offer on a phone."""

import pytest
from playwright.sync_api import expect

from aftercare.models import Term
from catalogue.models import CalendarDate, Offering, OfferingKind, OfferingStatus

pytestmark = pytest.mark.browser


def test_administrator_sets_up_a_term_and_publishes_a_course_by_hand(
    demo, desktop_page, sign_in, screenshot, live_server
):
    page = desktop_page
    sign_in(page, "schooladmin")

    # A new term, with the seeds' time bands filled in.
    page.goto(f"{live_server.url}/catalogue/terms/new/")
    page.fill("#id_name", "2027春季学期")
    page.fill("#id_starts_on", "2027-02-22")
    page.fill("#id_ends_on", "2027-07-02")
    page.get_by_role("button", name="创建学期").click()
    term = Term.objects.get(name="2027春季学期")
    assert term.time_slots.count() == 4

    # Its calendar: Thursday off for teacher study, Qingming and Labour Day off.
    page.goto(f"{live_server.url}/catalogue/terms/{term.pk}/calendar/")
    page.locator("input[name=service_weekdays][value='3']").uncheck()
    page.fill("#id_excluded", "2027-04-05 清明节\n2027-05-03~2027-05-05 劳动节")
    page.get_by_role("button", name="保存校历和时段").click()
    expect(page.locator(".messages")).to_be_visible()
    term.refresh_from_db()
    assert term.service_weekdays == [0, 1, 2, 4]
    assert CalendarDate.objects.filter(term=term).count() == 4
    screenshot(page, "admin-calendar")

    # Basic care for every class of the school, in one click.
    page.goto(f"{live_server.url}/catalogue/terms/{term.pk}/offerings/")
    page.get_by_text("为所有班级开设基础托管").click()
    page.get_by_role("button", name="开设基础托管").click()
    expect(page.locator(".messages")).to_be_visible()
    assert Offering.objects.filter(term=term, kind=OfferingKind.BASIC_CARE).count() == 24

    # A course typed in by hand in the current demo term, then published.
    current = Term.objects.exclude(pk=term.pk).get(school__code="demo-1")
    page.goto(f"{live_server.url}/catalogue/terms/{current.pk}/offerings/new/")
    page.fill("#id_name", "纸艺衍纸")
    page.fill("#id_description", "用彩色纸条卷出花鸟图案。")
    page.select_option("#id_domain", "labour")
    for grade in ("3", "4"):
        page.locator(f"input[name=grades][value='{grade}']").check()
    page.fill("#id_capacity", "20")
    page.locator("input[name=weekdays][value='2']").check()
    page.fill("#id_place", "劳技室")
    page.locator("input[name=teachers]").first.check()
    page.locator("input[name=fee_mode][value='per_session']").check()
    page.fill("#id_fee_amount", "8")
    page.get_by_role("button", name="保存").click()
    course = Offering.objects.get(term=current, name="纸艺衍纸")
    page.goto(f"{live_server.url}/catalogue/offerings/{course.pk}/")
    page.get_by_role("button", name="发布").click()
    course.refresh_from_db()
    assert course.status == OfferingStatus.PUBLISHED
    screenshot(page, "admin-course-published")
    courses = Offering.objects.filter(term=current, kind=OfferingKind.COURSE, status=OfferingStatus.PUBLISHED)
    assert courses.count() >= 6


def test_parent_reads_the_offer_on_a_phone(demo, phone_page, sign_in, screenshot, live_server):
    page = phone_page
    sign_in(page, "parent")
    page.goto(f"{live_server.url}/catalogue/offer/")
    expect(page.locator("h1")).to_contain_text("课后服务公示")
    expect(page.locator("#offer-times")).to_contain_text("16:10–17:30")
    expect(page.locator("#grade-2")).to_contain_text("基础托管")
    expect(page.locator("#grade-5")).to_contain_text("国画")
    expect(page.locator("#offer-fees")).to_contain_text("0755-12345678")
    expect(page.locator("#offer-principles")).to_contain_text("不上新课")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    screenshot(page, "parent-offer")
