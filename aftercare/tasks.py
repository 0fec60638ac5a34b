from celery import shared_task

from . import jobs


@shared_task(acks_late=True, max_retries=0)
def run_job_task(job_id: str) -> None:
    jobs.job_run(job_id)


@shared_task
def dispatch_stranded_jobs_task() -> int:
    return jobs.dispatch_stranded_jobs()


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def email_notifications_task(notification_ids: list[int]) -> int:
    from .notifications import email_notifications

    return email_notifications(notification_ids)


@shared_task(bind=True, max_retries=5)
def send_sms_task(self, phones: list[str], text: str) -> int:
    """Text each phone; a retry sends only to the phones that failed, so nobody gets it twice."""
    from .sms import sms_send

    failed = sms_send(phones, text)
    if failed:
        raise self.retry(args=(failed, text), countdown=30 * 2**self.request.retries)
    return len(set(phones))


@shared_task
def sweep_roster_uploads_task() -> int:
    from .roster_import import roster_uploads_sweep

    return roster_uploads_sweep()
