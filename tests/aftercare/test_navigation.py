"""The menu: links by role; many links grouped by stage of the year, a few shown flat."""

import re

from django.urls import reverse


def _menu(response) -> str:
    html = response.content.decode()
    return html[html.index('<nav id="main-nav"') : html.index("</nav>")]


def test_the_principal_sees_links_grouped_by_stage(as_user):
    menu = _menu(as_user("principal").get(reverse("home")))

    assert re.findall(r"<summary[^>]*>([^<]+)</summary>", menu) == ["每日", "报名", "经费", "学校设置"]
    assert reverse("enrollment:principal-review") in menu
    assert reverse("roster:import-upload") not in menu  # the administrator's


def test_a_parent_sees_a_few_links_flat(as_user):
    menu = _menu(as_user("parent").get(reverse("home")))

    assert "<summary" not in menu
    assert reverse("enrollment:family-home") in menu
    assert reverse("enrollment:bills") not in menu


def test_the_group_of_the_current_page_is_marked(as_user):
    menu = _menu(as_user("principal").get(reverse("enrollment:bills")))

    assert '<summary class="current">经费</summary>' in menu
    assert f'<a href="{reverse("enrollment:bills")}" aria-current="page">' in menu
