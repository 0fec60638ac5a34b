"""In-app notifications, also sent by email after commit. Later issues add one function per message
(application returned, place offered, absence alert, ...) on top of ``notify``."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from .models import Notification


def notify(*, users, title: str, body: str = "", url: str = "", school=None) -> list[Notification]:
    """Store one notification per user and send the emails once the transaction commits."""
    return notify_each(
        [Notification(user=user, school=school, title=title, body=body, url=url) for user in users]
    )


def notify_each(notifications: list[Notification]) -> list[Notification]:
    """Notifications that differ per person (an alert per session, per child) in one insert, emailed
    after commit: batch alerts stay at a constant number of queries."""
    if not notifications:
        return []
    created = Notification.objects.bulk_create(notifications)
    ids = [n.pk for n in created]
    from .tasks import email_notifications_task

    transaction.on_commit(lambda: email_notifications_task.delay(ids))
    return created


def notifications_mark_read(*, user, ids=None) -> int:
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())


def email_notifications(ids: list[int]) -> int:
    """Email each notification not yet emailed to a user with an address. Idempotent."""
    from django.conf import settings
    from django.core.mail import send_mail

    sent = 0
    pending = Notification.objects.filter(pk__in=ids, emailed_at__isnull=True).select_related("user")
    for notification in pending:
        if notification.user.email:
            body = notification.body
            if notification.url:
                body = f"{body}\n\n{settings.AFTERCARE_SITE_URL.rstrip('/')}{notification.url}"
            send_mail(notification.title, body, None, [notification.user.email])
            sent += 1
        Notification.objects.filter(pk=notification.pk).update(emailed_at=timezone.now())
    return sent
