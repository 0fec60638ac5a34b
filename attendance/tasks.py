"""Beat tasks of the day: prepare the coming sessions each night; every few minutes, alert on
sessions without roll-call 15 minutes after the start and on children not handed over at the end."""

from celery import shared_task


@shared_task
def prepare_sessions_task() -> int:
    from .sessions import sessions_prepare_ahead

    return sessions_prepare_ahead()


@shared_task
def alert_unmarked_sessions_task() -> int:
    from .alerts import alert_unmarked_sessions

    return alert_unmarked_sessions()


@shared_task
def alert_missing_hand_overs_task() -> int:
    from .handover import alert_missing_hand_overs

    return alert_missing_hand_overs()


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def alert_absences_task(case_ids: list[int], actor_id: int) -> int:
    from .alerts import absence_alerts_send

    return absence_alerts_send(case_ids, actor_id)
