"""The catalogue's long jobs."""

from django.utils import timezone
from django.utils.translation import gettext as _

from aftercare.jobs import Job, JobResult, Progress, job_handler

from .permissions import get_term_for_user
from .selectors import public_offer

OFFER_LETTER = "offer_letter"


@job_handler(OFFER_LETTER)
def offer_letter(job: Job, progress: Progress) -> JobResult:
    """The letter to parents (致家长一封信) with the term's offer, as a PDF."""
    from aftercare.documents import render_pdf  # WeasyPrint loads in the worker only

    term = get_term_for_user(job.created_by, job.params["term_id"])
    progress(20, _("正在整理课程与收费"))
    offer = public_offer(term)
    progress(50, _("正在排版"))
    pdf = render_pdf(
        "documents/offer_letter.html",
        {
            "offer": offer,
            "school": term.school,
            "offer_url": job.params.get("offer_url", ""),
            "today": timezone.localdate(),
        },
    )
    return JobResult(content=pdf, filename=f"letter-{term.pk}.pdf", message=_("致家长一封信已生成。"))
