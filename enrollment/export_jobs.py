"""Long jobs of the school's enrollment pages: the Excel exports. Handlers re-check what the person
who started the job may see, as the page did."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftercare.jobs import Job, JobError, JobResult, Progress, job_handler
from aftercare.models import Classroom, Term
from aftercare.permissions import access_for
from aftercare.roles import Role
from catalogue.models import Offering

from . import permissions, selectors
from .exports import applications_workbook, roster_workbook

EXPORT_APPLICATIONS = "enrollment_applications_export"
EXPORT_ROSTER = "enrollment_roster_export"

APPLICATION_LIST_ROLES = frozenset({Role.PRINCIPAL, Role.ADMINISTRATOR, Role.FINANCE})
NOT_ALLOWED = gettext_lazy("您已无权导出这份名单。")


@job_handler(EXPORT_APPLICATIONS)
def export_applications(job: Job, progress: Progress) -> JobResult:
    if not access_for(job.created_by).roles_at(job.school_id) & APPLICATION_LIST_ROLES:
        raise JobError(str(NOT_ALLOWED))
    params = job.params
    term = Term.objects.get(pk=params["term_id"], school_id=job.school_id)
    classroom = Classroom.objects.filter(pk=params.get("classroom_id"), school_id=job.school_id).first()
    offering = Offering.objects.filter(pk=params.get("offering_id"), term=term).first()
    progress(20, _("正在整理报名名单"))
    applications = selectors.school_applications(
        term,
        classroom=classroom,
        grade=params.get("grade"),
        offering=offering,
        status=params.get("status") or "",
    )
    content = applications_workbook(applications)
    return JobResult(content=content, filename=f"applications-{term.pk}.xlsx", message=_("报名名单已导出。"))


@job_handler(EXPORT_ROSTER)
def export_roster(job: Job, progress: Progress) -> JobResult:
    try:
        offering = permissions.get_roster_offering_for_user(job.created_by, job.params["offering_id"])
    except (PermissionDenied, Http404) as error:
        raise JobError(str(NOT_ALLOWED)) from error
    progress(20, _("正在整理课程名单"))
    content = roster_workbook(
        job.created_by,
        offering,
        selectors.course_roster(offering),
        selectors.course_waiting_list(offering),
    )
    return JobResult(content=content, filename=f"roster-{offering.pk}.xlsx", message=_("课程名单已导出。"))
