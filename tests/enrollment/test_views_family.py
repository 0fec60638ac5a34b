"""The family's pages: apply, sign, withdraw, the signed agreement PDF, and the family's overview."""

import subprocess
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aftercare.models import Job, JobStatus
from catalogue import services as catalogue
from catalogue.models import FeeMode, OfferingKind
from enrollment import services
from enrollment.forms_family import WAIVER_NEEDS_REASON
from enrollment.models import Application, ApplicationStatus, Choice, Enrollment, Refund, Signature
from tests.factories import StudentFactory, make_parent

TODAY = date(2026, 10, 12)
WECHAT = "Mozilla/5.0 (Linux; Android 13) MicroMessenger/8.0.47"


def course(world, term, name="足球", capacity=2, fee=Decimal("10.00"), grades=(3,), publish=True):
    offering = catalogue.offering_create(
        actor=world.users["admin"],
        term=term,
        kind=OfferingKind.COURSE,
        name=name,
        domain="physical",
        grades=list(grades),
        capacity=capacity,
        weekdays=[1],
        fee_mode=FeeMode.PER_SESSION if fee else FeeMode.FREE,
        fee_amount=fee,
        teachers=[world.users["service_teacher"]],
    )
    if not publish:
        return offering
    return catalogue.offering_publish(actor=world.users["admin"], offering=offering)


def apply(world, term, student=None, parent=None, courses=(), basic=True):
    return services.application_submit(
        actor=parent or world.users["parent"],
        student=student or world.child,
        term=term,
        wants_basic_care=basic,
        course_ids=[c.pk for c in courses],
    )


def approve(world, application):
    services.application_class_approve(actor=world.users["homeroom"], application=application)
    services.applications_approve(actor=world.users["principal"], applications=[application])


def agreement(world, body="第一条 学校负责学生在校期间的看护。\n第二条 家长按时接送。"):
    return services.agreement_publish(
        actor=world.users["admin"],
        school=world.school,
        title="课后服务协议（含安全协议）",
        body=body,
        effective_from=date(2026, 9, 1),
    )


def sign_post(client, application, data, **meta):
    return client.post(reverse("enrollment:application-sign", args=[application.pk]), data, **meta)


# The family's overview ---------------------------------------------------------------------------


def test_family_home_offers_to_apply_for_a_child_without_an_application(world, term, as_user):
    page = as_user("parent").get(reverse("enrollment:family-home")).content.decode()
    assert "张小明" in page and "三年级（1）班" in page
    assert "本学期尚未报名。" in page
    assert reverse("enrollment:apply", args=[world.child.pk]) in page
    # Another family's child is never listed.
    assert "李小红" not in page


def test_family_home_shows_status_places_waiting_list_and_return_reason(world, term, as_user):
    football = course(world, term, capacity=1)
    first_child = StudentFactory(classroom=world.classroom, name="一号")
    first = apply(world, term, first_child, make_parent(first_child), courses=[football], basic=False)
    approve(world, first)
    application = apply(world, term, courses=[football])
    approve(world, application)

    page = as_user("parent").get(reverse("enrollment:family-home")).content.decode()
    assert "已审定" in page
    assert "已录取：三年级（1）班 基础托管" in page
    assert "足球：候补第 1 位" in page
    assert reverse("enrollment:application-detail", args=[application.pk]) in page


def test_family_home_shows_why_the_class_returned_the_application(world, term, as_user):
    application = apply(world, term)
    services.application_return(actor=world.users["homeroom"], application=application, reason="请补充接送人")
    page = as_user("parent").get(reverse("enrollment:family-home")).content.decode()
    assert "已退回修改" in page
    assert "班主任退回原因：请补充接送人" in page
    assert "修改报名" in page


def test_family_home_is_for_parents_only(world, term, as_user):
    assert as_user("principal").get(reverse("enrollment:family-home")).status_code == 403
    assert as_user("homeroom").get(reverse("enrollment:family-home")).status_code == 403


# Applying --------------------------------------------------------------------------------------


def test_apply_form_lists_basic_care_and_the_published_courses_open_to_the_childs_grade(world, term, as_user):
    course(world, term, name="足球", capacity=2)
    course(world, term, name="绘本", grades=(1, 2))
    course(world, term, name="机器人", publish=False)
    page = as_user("parent").get(reverse("enrollment:apply", args=[world.child.pk])).content.decode()
    assert "三年级（1）班 基础托管" in page
    assert "300.00 元/学期" in page
    # Tuesdays 2026-09-01..2027-01-19: 21 sessions at 10 yuan.
    assert "足球" in page and "210.00 元/学期" in page and "剩余 2 个名额" in page
    assert "绘本" not in page and "机器人" not in page
    # Basic care is ticked for a first application, so its fee is in the summary.
    assert 'id="id_wants_basic_care" checked' in page
    assert '基础托管小计</td><td class="number">300.00 元' in page


def test_submitting_creates_the_application_and_asks_to_sign(world, term, as_user):
    agreement(world)
    football = course(world, term)
    client = as_user("parent")
    response = client.post(
        reverse("enrollment:apply", args=[world.child.pk]),
        {
            "wants_basic_care": "on",
            "course_ids": [football.pk],
            "waiver_requested": "on",
            "waiver_reason": "父亲失业",
        },
    )
    application = Application.objects.get(student=world.child)
    assert response["Location"] == reverse("enrollment:application-detail", args=[application.pk])
    assert (application.status, application.waiver_status, application.waiver_reason) == (
        ApplicationStatus.SUBMITTED,
        "pending",
        "父亲失业",
    )
    assert sorted(application.choices.values_list("offering__name", flat=True)) == [
        "三年级（1）班 基础托管",
        "足球",
    ]
    page = client.get(response["Location"]).content.decode()
    assert "请阅读并签署服务协议（含安全协议），报名才算完整。" in page
    assert '合计</th><td class="number"><strong>510.00 元' in page


def test_a_double_submission_makes_one_application(world, term, as_user):
    football = course(world, term)
    client = as_user("parent")
    url = reverse("enrollment:apply", args=[world.child.pk])
    data = {"wants_basic_care": "on", "course_ids": [football.pk]}
    first = client.post(url, data)
    second = client.post(url, data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Application.objects.filter(student=world.child).count() == 1
    assert Choice.objects.filter(application__student=world.child).count() == 2


def test_another_familys_child_is_404_and_nothing_is_created(world, term, as_user):
    client = as_user("other_parent")
    url = reverse("enrollment:apply", args=[world.child.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"wants_basic_care": "on"}).status_code == 404
    assert not Application.objects.exists()


def test_the_family_can_edit_until_the_class_review_then_it_is_refused(world, term, as_user):
    football = course(world, term)
    client = as_user("parent")
    url = reverse("enrollment:apply", args=[world.child.pk])
    client.post(url, {"wants_basic_care": "on"})
    client.post(url, {"wants_basic_care": "on", "course_ids": [football.pk]})
    application = Application.objects.get(student=world.child)
    assert application.choices.count() == 2
    services.application_class_approve(actor=world.users["homeroom"], application=application)

    page = client.get(url).content.decode()
    assert str(services.ALREADY_DECIDED) in page
    assert "提交修改" not in page
    response = client.post(url, {"wants_basic_care": "on"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [str(services.ALREADY_DECIDED)]
    application.refresh_from_db()
    assert application.status == ApplicationStatus.CLASS_APPROVED
    assert sorted(application.choices.values_list("offering__name", flat=True)) == [
        "三年级（1）班 基础托管",
        "足球",
    ]


def test_a_waiver_needs_a_reason_and_the_form_keeps_the_choices(world, term, as_user):
    football = course(world, term)
    response = as_user("parent").post(
        reverse("enrollment:apply", args=[world.child.pk]),
        {"course_ids": [football.pk], "waiver_requested": "on", "waiver_reason": " "},
    )
    assert response.context["form"].errors["waiver_reason"] == [str(WAIVER_NEEDS_REASON)]
    page = response.content.decode()
    assert f'value="{football.pk}" id="id_course_{football.pk}" checked' in page
    # The summary follows what was posted: football only, no basic care.
    assert '特色课程小计</td><td class="number">210.00 元' in page
    assert '基础托管小计</td><td class="number">0.00 元' in page
    assert not Application.objects.exists()


def test_courses_over_the_cap_are_refused_with_the_total(world, term, as_user):
    courses = [course(world, term, name=n, capacity=5) for n in ("足球", "篮球", "排球")]
    response = as_user("parent").post(
        reverse("enrollment:apply", args=[world.child.pk]), {"course_ids": [c.pk for c in courses]}
    )
    message = "特色课程合计 630.00 元，超过每生每学期 600.00 元的上限，请减少课程。"
    assert response.context["form"].non_field_errors() == [message]
    assert not Application.objects.exists()


def test_recalculating_the_fee_does_not_submit(world, term, as_user):
    football = course(world, term)
    response = as_user("parent").post(
        reverse("enrollment:apply", args=[world.child.pk]),
        {"wants_basic_care": "on", "course_ids": [football.pk], "preview": "1"},
    )
    assert response.status_code == 200
    assert "510.00 元" in response.content.decode()
    assert not Application.objects.exists()


# The application page --------------------------------------------------------------------------


def test_the_application_page_shows_the_review_and_the_choices(world, term, as_user):
    application = apply(world, term, courses=[course(world, term)])
    approve(world, application)
    page = as_user("homeroom").get(reverse("enrollment:application-detail", args=[application.pk]))
    text = page.content.decode()
    assert "班级审核：" + world.users["homeroom"].display_name in text
    assert "校长审定：" + world.users["principal"].display_name in text
    assert "已录取" in text
    # The school sees the page without the family's buttons.
    assert "撤回报名" not in text
    assert (
        as_user("other_parent")
        .get(reverse("enrollment:application-detail", args=[application.pk]))
        .status_code
        == 404
    )


# Signing ---------------------------------------------------------------------------------------


def test_signing_stores_the_version_the_hash_the_name_the_address_and_the_browser(world, term, as_user):
    version = agreement(world)
    application = apply(world, term)
    client = as_user("parent")
    page = client.get(reverse("enrollment:application-sign", args=[application.pk])).content.decode()
    shown_hash = services.agreement_text_hash(version)
    assert f'value="{shown_hash}"' in page
    assert "第二条 家长按时接送。" in page

    response = sign_post(
        client,
        application,
        {"text_hash": shown_hash, "consent": "on", "typed_name": " 张妈妈 "},
        REMOTE_ADDR="203.0.113.7",
        HTTP_USER_AGENT=WECHAT,
    )
    assert response["Location"] == reverse("enrollment:application-detail", args=[application.pk])
    signature = Signature.objects.get()
    assert (
        signature.agreement_id,
        signature.text_sha256,
        signature.typed_name,
        signature.ip_address,
        signature.user_agent,
        signature.signer,
    ) == (version.pk, shown_hash, "张妈妈", "203.0.113.7", WECHAT, world.users["parent"])
    detail = client.get(response["Location"]).content.decode()
    assert "课后服务协议（含安全协议）（第 1 版）：张妈妈 于" in detail
    assert "请阅读并签署服务协议" not in detail


def test_signing_the_same_version_again_is_refused(world, term, as_user):
    version = agreement(world)
    application = apply(world, term)
    client = as_user("parent")
    data = {"text_hash": services.agreement_text_hash(version), "consent": "on", "typed_name": "张妈妈"}
    sign_post(client, application, data)
    again = sign_post(client, application, {**data, "typed_name": "张爸爸"})
    assert again.context["form"].non_field_errors() == [str(services.ALREADY_SIGNED)]
    assert list(Signature.objects.values_list("typed_name", flat=True)) == ["张妈妈"]


def test_a_new_version_needs_a_new_signature(world, term, as_user):
    first = agreement(world)
    application = apply(world, term)
    client = as_user("parent")
    sign_post(
        client,
        application,
        {"text_hash": services.agreement_text_hash(first), "consent": "on", "typed_name": "张妈妈"},
    )
    second = agreement(world, body="新版正文")
    # A page still showing the old text cannot sign the new version.
    stale = sign_post(
        client,
        application,
        {"text_hash": services.agreement_text_hash(first), "consent": "on", "typed_name": "张妈妈"},
    )
    assert stale.context["form"].non_field_errors() == [str(services.TEXT_CHANGED)]
    assert f'value="{services.agreement_text_hash(second)}"' in stale.content.decode()
    sign_post(
        client,
        application,
        {"text_hash": services.agreement_text_hash(second), "consent": "on", "typed_name": "张妈妈"},
    )
    assert sorted(Signature.objects.values_list("agreement__version", flat=True)) == [1, 2]


def test_signing_without_consent_is_refused_and_keeps_the_name(world, term, as_user):
    version = agreement(world)
    application = apply(world, term)
    response = sign_post(
        as_user("parent"),
        application,
        {"text_hash": services.agreement_text_hash(version), "typed_name": "张妈妈"},
    )
    assert response.context["form"].non_field_errors() == [str(services.CONSENT_REQUIRED)]
    assert 'value="张妈妈"' in response.content.decode()
    assert not Signature.objects.exists()


def test_without_a_published_agreement_the_page_says_so(world, term, as_user):
    application = apply(world, term)
    page = (
        as_user("parent").get(reverse("enrollment:application-sign", args=[application.pk])).content.decode()
    )
    assert "学校还没有发布服务协议，发布后会在这里签署。" in page


def test_the_school_cannot_sign_for_the_family(world, term, as_user):
    version = agreement(world)
    application = apply(world, term)
    data = {"text_hash": services.agreement_text_hash(version), "consent": "on", "typed_name": "张妈妈"}
    assert sign_post(as_user("homeroom"), application, data).status_code == 403
    assert sign_post(as_user("other_parent"), application, data).status_code == 404
    assert not Signature.objects.exists()


# The signed agreement as a PDF -----------------------------------------------------------------


def pdf_text_and_fonts(content: bytes, tmp_path):
    path = tmp_path / "agreement.pdf"
    path.write_bytes(content)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    return text, fonts


@pytest.mark.parametrize("persona", ["parent", "principal"])
def test_the_signed_agreement_is_a_pdf_with_the_evidence_and_a_cjk_font(
    world, term, as_user, persona, django_capture_on_commit_callbacks, tmp_path
):
    version = agreement(world)
    application = apply(world, term)
    signature = services.agreement_sign(
        actor=world.users["parent"],
        application=application,
        agreement=version,
        typed_name="张妈妈",
        consent=True,
        shown_text_sha256=services.agreement_text_hash(version),
        ip_address="203.0.113.7",
        user_agent=WECHAT,
    )
    client = as_user(persona)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("enrollment:signature-pdf", args=[signature.pk]))
    job = Job.objects.get(created_by=world.users[persona])
    assert response["Location"] == reverse("core:job-detail", args=[job.pk])
    assert job.status == JobStatus.SUCCEEDED, job.error
    download = client.get(reverse("core:job-download", args=[job.pk]))
    text, fonts = pdf_text_and_fonts(b"".join(download.streaming_content), tmp_path)
    assert "课后服务协议（含安全协议）" in text
    assert "第二条 家长按时接送。" in text
    assert "张小明" in text and "甲小学" in text and "协议版本 1" in text
    assert "张妈妈" in text and "203.0.113.7" in text
    assert signature.text_sha256 in text.replace("\n", "")
    cjk = [line for line in fonts.splitlines() if "CJK" in line]
    assert cjk, fonts
    assert all(" yes " in line for line in cjk)


def test_another_family_cannot_start_the_pdf(world, term, as_user):
    version = agreement(world)
    application = apply(world, term)
    signature = services.agreement_sign(
        actor=world.users["parent"],
        application=application,
        agreement=version,
        typed_name="张妈妈",
        consent=True,
        shown_text_sha256=services.agreement_text_hash(version),
        ip_address=None,
        user_agent="",
    )
    assert (
        as_user("other_parent").post(reverse("enrollment:signature-pdf", args=[signature.pk])).status_code
        == 404
    )
    assert not Job.objects.exists()


# Withdrawal ------------------------------------------------------------------------------------


def test_withdrawal_shows_the_refund_of_today_then_records_it(world, term, as_user):
    application = apply(world, term)
    approve(world, application)
    services.payment_record(
        actor=world.users["finance"],
        student=world.child,
        term=term,
        amount=Decimal("300.00"),
        method="cash",
        paid_by="张妈妈",
        paid_on=TODAY,
    )
    client = as_user("parent")
    url = reverse("enrollment:application-withdraw", args=[application.pk])
    page = client.get(url).content.decode()
    # 102 service days in the term, 72 after Monday 2026-10-12: 300 × 72/102 = 211.76.
    assert "今天（2026-10-12）撤回的退费" in page
    assert "三年级（1）班 基础托管：退 211.76 元" in page
    assert "300.00 × 72/102 个服务日 = 211.76" in page
    assert "合计应退 211.76 元" in page
    assert not Refund.objects.exists()

    response = client.post(url, {"reason": "搬家"})
    assert response["Location"] == reverse("enrollment:application-detail", args=[application.pk])
    enrollment = Enrollment.objects.get(application=application)
    assert (enrollment.left_on, enrollment.leave_reason) == (TODAY, "搬家")
    assert list(Refund.objects.values_list("amount", flat=True)) == [Decimal("211.76")]
    detail = client.get(response["Location"]).content.decode()
    assert "报名已撤回，应退 211.76 元。" in detail
    assert "三年级（1）班 基础托管：退 211.76 元" in detail
    assert "已撤回" in detail


def test_only_the_family_may_withdraw(world, term, as_user):
    application = apply(world, term)
    url = reverse("enrollment:application-withdraw", args=[application.pk])
    assert as_user("principal").post(url, {"reason": "x"}).status_code == 403
    assert as_user("other_parent").post(url, {"reason": "x"}).status_code == 404
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED


# Query counts ----------------------------------------------------------------------------------


def _count(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_family_home_runs_a_constant_number_of_queries(world, term, as_user):
    client = as_user("parent")
    url = reverse("enrollment:family-home")
    client.get(url)  # the session's first request loads more (language, access)
    counts = []
    application = None
    for size in (3, 15):
        courses = [course(world, term, name=f"课程{size}-{i}", fee=Decimal("0")) for i in range(size)]
        application = apply(world, term, courses=courses)
        counts.append(_count(client, url))
    assert application.choices.count() == 16
    assert counts == [10, 10]


def test_apply_page_runs_a_constant_number_of_queries(world, term, as_user):
    client = as_user("parent")
    url = reverse("enrollment:apply", args=[world.child.pk])
    client.get(url)
    counts = []
    for size in (3, 15):
        courses = [course(world, term, name=f"课程{size}-{i}", fee=Decimal("0")) for i in range(size)]
        apply(world, term, courses=courses)
        counts.append(_count(client, url))
    assert counts == [18, 18]
