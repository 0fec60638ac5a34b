"""Long jobs of the attendance pages (exports, roll sheets). Each handler acts for the person who
started the job and asks the policy again, as the page did: rights lost in between refuse the job."""

from datetime import date

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftercare.jobs import Job, JobError, JobResult, Progress, job_handler
from aftercare.models import Classroom, Term
from catalogue.models import Offering

from . import selectors
from .exports import children_attendance_workbook, teachers_attendance_workbook
from .permissions import ChildrenExportScope, get_session_for_user, may_export_children, may_export_teachers

ROLL_SHEET_PDF = "attendance_roll_sheet_pdf"
EXPORT_CHILDREN = "attendance_children_export"
EXPORT_TEACHERS = "attendance_teachers_export"

NOT_ALLOWED_EXPORT = gettext_lazy("您已无权导出这份考勤。")
NOT_ALLOWED_SHEET = gettext_lazy("您已无权查看这次课后服务的考勤表。")
SCOPE_GONE = gettext_lazy("要导出的班级或项目已不存在。")


@job_handler(ROLL_SHEET_PDF)
def roll_sheet_pdf(job: Job, progress: Progress) -> JobResult:
    from aftercare.documents import render_pdf  # WeasyPrint loads in the worker only

    try:
        session = get_session_for_user(job.created_by, job.params["session_id"], action="view")
    except (PermissionDenied, Http404) as error:
        raise JobError(str(NOT_ALLOWED_SHEET)) from error
    progress(20, _("正在整理考勤表"))
    sheet = selectors.roll_sheet(session)
    progress(50, _("正在排版"))
    pdf = render_pdf("documents/roll_sheet.html", {"sheet": sheet, "printed_at": timezone.localtime()})
    return JobResult(
        content=pdf,
        filename=f"roll-sheet-{session.date:%Y%m%d}-{session.pk}.pdf",
        message=_("考勤表已生成。"),
    )


@job_handler(EXPORT_CHILDREN)
def export_children(job: Job, progress: Progress) -> JobResult:
    params = job.params
    term = Term.objects.filter(pk=params["term_id"], school_id=job.school_id).first()
    classroom = offering = None
    if params.get("classroom_id"):
        classroom = Classroom.objects.filter(pk=params["classroom_id"], school_id=job.school_id).first()
    if params.get("offering_id"):
        offering = Offering.objects.filter(pk=params["offering_id"], term=term).first()
    if (
        term is None
        or (params.get("classroom_id") and classroom is None)
        or (params.get("offering_id") and offering is None)
    ):
        raise JobError(str(SCOPE_GONE))
    scope = ChildrenExportScope(kind=params["scope"], classroom=classroom, offering=offering)
    if not may_export_children(job.created_by, school=job.school, scope=scope):
        raise JobError(str(NOT_ALLOWED_EXPORT))
    progress(5, _("正在整理学生考勤"))
    date_from = date.fromisoformat(params["date_from"])
    date_to = date.fromisoformat(params["date_to"])
    content = children_attendance_workbook(
        term=term,
        date_from=date_from,
        date_to=date_to,
        classroom=classroom,
        offering=offering,
        progress=progress,
    )
    return JobResult(
        content=content,
        filename=f"attendance-children-{date_from:%Y%m%d}-{date_to:%Y%m%d}.xlsx",
        message=_("学生考勤已导出。"),
    )


@job_handler(EXPORT_TEACHERS)
def export_teachers(job: Job, progress: Progress) -> JobResult:
    if not may_export_teachers(job.created_by, school=job.school):
        raise JobError(str(NOT_ALLOWED_EXPORT))
    term = Term.objects.filter(pk=job.params["term_id"], school_id=job.school_id).first()
    if term is None:
        raise JobError(str(SCOPE_GONE))
    progress(5, _("正在整理教师考勤"))
    content = teachers_attendance_workbook(
        term, date_to=date.fromisoformat(job.params["date_to"]), progress=progress
    )
    return JobResult(
        content=content, filename=f"attendance-teachers-{term.pk}.xlsx", message=_("教师考勤已导出。")
    )
