"""The core's long jobs."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .jobs import Job, JobResult, Progress, job_handler
from .permissions import get_classroom_for_user
from .services import invitations_ensure_for_classroom

INVITATION_LETTERS = "invitation_letters"


@job_handler(INVITATION_LETTERS)
def invitation_letters(job: Job, progress: Progress) -> JobResult:
    """A printable sheet per child with the invitation code for the guardians to join."""
    from .documents import render_pdf  # WeasyPrint is heavy: load it in the worker, not at start-up

    # The job acts for the person who started it, so the policy is asked again here.
    classroom = get_classroom_for_user(job.created_by, job.params["classroom_id"], for_write=True)
    progress(10, _("正在生成邀请码并排版"))
    # New codes are kept only if the letters carrying them were printed: a failed job changes nothing.
    with transaction.atomic():
        codes = invitations_ensure_for_classroom(actor=job.created_by, classroom=classroom)
        pdf = render_pdf(
            "documents/invitation_letters.html",
            {
                "school": classroom.school,
                "classroom": classroom,
                "codes": codes,
                "join_url": job.params.get("join_url", "/join/"),
                "printed_on": timezone.localdate(),
            },
        )
    return JobResult(
        content=pdf,
        filename=f"invitations-{classroom.short_name}.pdf",
        message=_("共 %(count)d 名学生的邀请函已生成。") % {"count": len(codes)},
    )
