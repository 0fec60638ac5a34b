"""Pay's background work: a draft re-computed after a correction of its records."""

from celery import shared_task


@shared_task(acks_late=True, max_retries=0)
def redraft_payout_task(term_id: int) -> bool:
    from .services import payout_redraft_after_correction

    return payout_redraft_after_correction(term_id) is not None
