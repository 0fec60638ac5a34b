"""The enrollment app's long jobs (agreement PDFs, exports)."""

from django.utils.translation import gettext as _

from aftercare.jobs import Job, JobError, JobResult, Progress, job_handler

AGREEMENT_PDF = "agreement_pdf"


@job_handler(AGREEMENT_PDF)
def agreement_pdf(job: Job, progress: Progress) -> JobResult:
    """A signed agreement as a PDF: the exact text signed, the name typed, when and from where."""
    from aftercare.documents import render_pdf  # WeasyPrint loads in the worker only

    from .models import Signature
    from .permissions import get_application_for_user

    signature = (
        Signature.objects.select_related(
            "agreement", "application__student__classroom", "application__school", "application__term"
        )
        .filter(pk=job.params["signature_id"])
        .first()
    )
    if signature is None:
        raise JobError(_("这份签署记录已不存在。"))
    # Whoever started the job must still be allowed to see the application.
    get_application_for_user(job.created_by, signature.application_id)
    progress(40, _("正在排版"))
    application = signature.application
    pdf = render_pdf(
        "documents/agreement.html",
        {
            "signature": signature,
            "agreement": signature.agreement,
            "application": application,
            "student": application.student,
            "school": application.school,
        },
    )
    return JobResult(
        content=pdf,
        filename=f"agreement-{signature.pk}.pdf",
        message=_("协议书 PDF 已生成。"),
    )
