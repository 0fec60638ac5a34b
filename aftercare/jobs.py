"""Long jobs started from a page: the state lives in ``Job`` rows, the work runs in Celery.

A page calls ``job_start``; the job is dispatched after commit with a short broker timeout. If the
broker is down the page still answers, the job stays queued with no ``dispatched_at``, and the
periodic sweep (``dispatch_stranded_jobs``) sends it once the broker is back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Job, JobStatus

logger = logging.getLogger(__name__)


class JobResult:
    """What a handler returns: a file to download, or a page to go to, and a message."""

    def __init__(self, *, content: bytes | None = None, filename: str = "", url: str = "", message: str = ""):
        self.content = content
        self.filename = filename
        self.url = url
        self.message = message


class JobError(Exception):
    """A failure to show the user as it is (a translated message, not a traceback)."""


Progress = Callable[[int, str], None]
Handler = Callable[[Job, Progress], JobResult]

_HANDLERS: dict[str, Handler] = {}

# A job sent to the broker that has not started after this long is sent again by the sweep.
REDISPATCH_AFTER = timedelta(minutes=10)
MAX_ATTEMPTS = 3


def job_handler(kind: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        _HANDLERS[kind] = handler
        return handler

    return register


def job_start(*, actor, school, kind: str, params: dict | None = None) -> Job:
    if kind not in _HANDLERS:
        raise ValueError(f"unknown job kind {kind!r}")
    job = Job.objects.create(created_by=actor, school=school, kind=kind, params=params or {})
    transaction.on_commit(lambda: job_dispatch(job.pk))
    return job


def job_dispatch(job_id) -> bool:
    """Send the job to the broker; on any broker failure leave it for the sweep. Never raises."""
    from .tasks import run_job_task

    try:
        run_job_task.apply_async(args=[str(job_id)], retry=False)
    except Exception:
        logger.warning("job %s could not reach the broker; the sweep will retry", job_id, exc_info=True)
        return False
    Job.objects.filter(pk=job_id, dispatched_at__isnull=True).update(dispatched_at=timezone.now())
    return True


def dispatch_stranded_jobs() -> int:
    """Dispatch queued jobs that never reached the broker, or reached it and were lost."""
    stale = timezone.now() - REDISPATCH_AFTER
    stranded = Job.objects.filter(status=JobStatus.QUEUED, attempts__lt=MAX_ATTEMPTS).filter(
        Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=stale)
    )
    sent = 0
    for job_id in stranded.values_list("pk", flat=True)[:200]:
        Job.objects.filter(pk=job_id).update(dispatched_at=None)
        sent += job_dispatch(job_id)
    return sent


def _progress_reporter(job_id) -> Progress:
    def report(percent: int, message: str = "") -> None:
        Job.objects.filter(pk=job_id).update(progress=max(0, min(100, percent)), message=message[:200])

    return report


def job_run(job_id) -> None:
    """Run a job once. Idempotent: a job already running or finished is left alone."""
    claimed = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=timezone.now(), attempts=F("attempts") + 1
    )
    if not claimed:
        return
    job = Job.objects.select_related("school", "created_by").get(pk=job_id)
    handler = _HANDLERS[job.kind]
    try:
        result = handler(job, _progress_reporter(job.pk))
    except JobError as error:
        _fail(job, str(error))
        return
    except Exception:
        logger.exception("job %s (%s) failed", job.pk, job.kind)
        _fail(job, _("任务失败，请稍后重试；如果一再失败，请联系管理员。"))
        return
    job.refresh_from_db(fields=["progress", "message"])
    if result.content is not None:
        job.result_file.save(result.filename, ContentFile(result.content), save=False)
        job.result_name = result.filename
    job.result_url = result.url
    job.message = result.message or job.message
    job.status = JobStatus.SUCCEEDED
    job.progress = 100
    job.finished_at = timezone.now()
    job.save(
        update_fields=[
            "result_file",
            "result_name",
            "result_url",
            "message",
            "status",
            "progress",
            "finished_at",
        ]
    )


def _fail(job: Job, message: str) -> None:
    Job.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, error=message, finished_at=timezone.now())
