"""Teachers' pay end to end: `schooladmin` drafts the payout for the demo term, `principal` approves
it (the run freezes), and `teacher` sees their own line and not another teacher's."""

import pytest
from playwright.sync_api import expect

from aftercare.models import School
from compensation.models import PayoutLine, PayoutRun, RunStatus

pytestmark = pytest.mark.browser


def test_admin_drafts_principal_approves_teacher_sees_only_their_line(
    demo, make_page, sign_in, screenshot, live_server
):
    term = School.objects.get(code="demo-1").terms.get()

    admin = make_page(1280, 900, mobile=False)
    sign_in(admin, "schooladmin")
    admin.goto(f"{live_server.url}/pay/terms/{term.pk}/")
    admin.get_by_role("button", name="核算草稿").click()
    admin.get_by_role("link", name="查看结果").click()
    run = PayoutRun.objects.get(term=term)
    assert run.status == RunStatus.DRAFT
    lines = list(run.lines.select_related("teacher"))
    assert len(lines) > 10
    # Every pool is shared out to the fen.
    assert sum(line.total for line in lines) == run.total
    expect(admin.locator("main")).to_contain_text("草稿")
    expect(admin.locator("main")).to_contain_text(lines[0].teacher.display_name)
    screenshot(admin, "admin-payout-draft")

    principal = make_page(1280, 900, mobile=False)
    sign_in(principal, "principal")
    principal.goto(f"{live_server.url}/pay/runs/{run.pk}/")
    principal.get_by_role("button", name="审定并冻结").click()
    expect(principal.locator(".messages")).to_contain_text("审定")
    run.refresh_from_db()
    assert run.status == RunStatus.APPROVED
    screenshot(principal, "principal-payout-approved")

    # The frozen run refuses a new draft.
    admin.goto(f"{live_server.url}/pay/terms/{term.pk}/")
    expect(admin.get_by_role("button", name="重新核算草稿")).to_have_count(0)

    teacher = make_page(390, 844)
    sign_in(teacher, "teacher")
    teacher.goto(f"{live_server.url}/pay/mine/")
    own = PayoutLine.objects.get(run=run, teacher__username="teacher")
    expect(teacher.locator("main")).to_contain_text(term.name)
    teacher.goto(f"{live_server.url}/pay/mine/{own.pk}/")
    expect(teacher.locator("main")).to_contain_text(f"{own.total}")
    screenshot(teacher, "teacher-own-pay")
    other = PayoutLine.objects.filter(run=run).exclude(teacher__username="teacher").first()
    response = teacher.goto(f"{live_server.url}/pay/mine/{other.pk}/")
    assert response.status == 404
    response = teacher.goto(f"{live_server.url}/pay/runs/{run.pk}/")
    assert response.status in (403, 404)
