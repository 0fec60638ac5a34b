"""Long jobs of the pay pages: drafting a run (with progress) and the pay sheets in Excel and PDF.
Each handler asks the policy again for the person who started the job, as the page did."""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftercare.jobs import Job, JobError, JobResult, Progress, job_handler

from . import selectors, services
from .permissions import get_run_for_user, get_term_for_user

PAYOUT_DRAFT = "compensation_payout_draft"
PAY_SHEET_XLSX = "compensation_pay_sheet_xlsx"
PAY_SHEET_PDF = "compensation_pay_sheet_pdf"

NOT_ALLOWED = gettext_lazy("您已无权进行这项操作。")
DRAFTED = gettext_lazy("酬金草稿已生成：%(teachers)d 名教师，发放合计 %(total)s 元。")


@job_handler(PAYOUT_DRAFT)
def payout_draft(job: Job, progress: Progress) -> JobResult:
    try:
        term = get_term_for_user(job.created_by, job.params["term_id"], action="manage")
    except (PermissionDenied, Http404) as error:
        raise JobError(str(NOT_ALLOWED)) from error
    cut_off = job.params.get("cut_off")
    try:
        run = services.payout_run_draft(
            actor=job.created_by,
            term=term,
            cut_off=datetime.date.fromisoformat(cut_off) if cut_off else None,
            progress=progress,
        )
    except ValidationError as error:
        raise JobError(" ".join(error.messages)) from error
    return JobResult(
        url=reverse("compensation:run-detail", args=[run.pk]),
        message=DRAFTED % {"teachers": run.teacher_count, "total": run.total},
    )


def _run_for(job: Job):
    try:
        return get_run_for_user(job.created_by, job.params["run_id"])
    except (PermissionDenied, Http404) as error:
        raise JobError(str(NOT_ALLOWED)) from error


@job_handler(PAY_SHEET_XLSX)
def pay_sheet_xlsx(job: Job, progress: Progress) -> JobResult:
    from .exports import pay_sheet_workbook

    run = _run_for(job)
    progress(20, _("正在生成 Excel 酬金表"))
    content = pay_sheet_workbook(run, selectors.run_lines(run))
    return JobResult(
        content=content, filename=f"pay-sheet-{run.term_id}.xlsx", message=_("Excel 酬金表已生成。")
    )


@job_handler(PAY_SHEET_PDF)
def pay_sheet_pdf(job: Job, progress: Progress) -> JobResult:
    from .documents import pay_sheet_pdf as render

    run = _run_for(job)
    progress(20, _("正在排版"))
    content = render(run, selectors.run_lines(run))
    return JobResult(
        content=content, filename=f"pay-sheet-{run.term_id}.pdf", message=_("PDF 酬金表已生成。")
    )
