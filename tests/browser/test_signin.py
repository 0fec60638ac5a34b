"""Signing in, joining with an invitation code, and the home page of every demo login, in Chromium."""

import re

import pytest
from playwright.sync_api import expect

from aftercare.models import Guardian, InvitationCode, Relation

pytestmark = pytest.mark.browser

SCHOOL = "示范区第一实验小学"
OTHER_SCHOOL = "示范区第二小学"

# Each demo login, the home-page section of its role, and text that section must show.
HOME_SECTIONS = {
    "district": ("#district", ["辖区学校", SCHOOL, OTHER_SCHOOL]),
    "principal": ("#school-overview", ["今天要做的事", "在读学生", "家长已加入"]),
    "schooladmin": ("#school-overview", ["今天要做的事", "在读学生", "教职工"]),
    "finance": ("#finance", ["财务", "收费", "教师酬金"]),
    "inspector": ("#supervision", ["每日考勤", "今日概况", "教师考勤与巡查"]),
    "teacher": ("#homeroom", ["我的班级（班主任）", "三年级（1）班"]),
    "provider": ("#teaching", ["今天的课后服务"]),
    "parent": ("#children", ["我的孩子", "二年级（1）班"]),
    "committee": ("#committee", ["家委会", "三年级（1）班"]),
    "otherparent": ("#children", ["我的孩子", "一年级（1）班"]),
}
SCHOOL_STAFF = {"principal", "schooladmin", "finance", "inspector", "teacher", "provider", "parent"}
WRONG_LOGIN = "用户名（或手机号）或密码不正确。"


def children_names(username: str) -> list[str]:
    return list(
        Guardian.objects.filter(user__username=username)
        .order_by("student__name")
        .values_list("student__name", flat=True)
    )


@pytest.mark.parametrize("username", list(HOME_SECTIONS))
def test_each_demo_login_reaches_its_home_section_on_a_phone(
    demo, phone_page, sign_in, screenshot, live_server, username
):
    page = phone_page
    sign_in(page, username)

    expect(page).to_have_url(f"{live_server.url}/")
    section_id, texts = HOME_SECTIONS[username]
    section = page.locator(section_id)
    expect(section).to_be_visible()
    for text in texts:
        expect(section).to_contain_text(text)
    if username in SCHOOL_STAFF:
        expect(page.locator("h1")).to_have_text(SCHOOL)
    if username == "otherparent":
        expect(page.locator("h1")).to_have_text(OTHER_SCHOOL)
    for child in children_names(username):
        expect(page.locator("#children")).to_contain_text(child)
    # On a phone the navigation starts folded behind the menu button.
    expect(page.locator("[data-nav-toggle]")).to_be_visible()
    screenshot(page, username)


def test_wrong_password_shows_the_error_and_stays_on_the_login_page(
    demo, phone_page, sign_in, screenshot, live_server
):
    page = phone_page
    sign_in(page, "parent", "not-the-password")

    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.get_by_text(WRONG_LOGIN)).to_be_visible()
    expect(page.locator("input[name=login]")).to_have_value("parent")
    expect(page.locator("#children")).to_have_count(0)
    screenshot(page, "login-wrong-password")


def test_a_parent_joins_with_an_invitation_code(demo, phone_page, screenshot, live_server):
    invitation = (
        InvitationCode.objects.filter(
            used_at__isnull=True, revoked_at__isnull=True, student__school__code="demo-1"
        )
        .select_related("student__classroom")
        .order_by("student__classroom__grade", "student__classroom__number", "pk")
        .first()
    )
    assert invitation is not None, "seed_demo should leave open invitation codes"
    student = invitation.student

    page = phone_page
    page.goto("/join/")
    page.fill("input[name=code]", invitation.code)
    page.select_option("select[name=relation]", Relation.MOTHER)
    page.fill("input[name=full_name]", "吴女士")
    page.fill("input[name=phone]", "13700001234")
    page.fill("input[name=username]", "wumama")
    page.fill("input[name=password1]", "Kehou-2026-fuwu")
    page.fill("input[name=password2]", "Kehou-2026-fuwu")
    screenshot(page, "join-form")
    with page.expect_navigation():
        page.get_by_role("button", name="注册并关联孩子").click()

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.locator(".messages")).to_contain_text(f"已关联学生 {student.name}。")
    children = page.locator("#children")
    expect(children).to_be_visible()
    expect(children).to_contain_text(student.name)
    expect(children).to_contain_text(student.classroom.name)
    screenshot(page, "join-parent")

    invitation.refresh_from_db()
    assert invitation.used_at is not None
    assert invitation.used_by.username == "wumama"


@pytest.mark.parametrize("username", ["schooladmin", "parent"])
def test_signed_in_home_has_no_horizontal_overflow_at_360px(demo, make_page, sign_in, live_server, username):
    page = make_page(360, 740)
    sign_in(page, username)
    expect(page).to_have_url(f"{live_server.url}/")

    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 360, f"{username}'s home page is {scroll_width}px wide on a 360px phone"

    # The folded menu opens in place and must not widen the page either.
    page.locator("[data-nav-toggle]").click()
    expect(page.locator("#main-nav")).to_be_visible()
    expect(page.locator("[data-nav-toggle]")).to_have_attribute("aria-expanded", "true")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 360, f"{username}'s open menu makes the page {scroll_width}px wide"
