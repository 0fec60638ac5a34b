"""Text messages to guardians' phones (absence alerts, 篇七: in an emergency the guardian is told at once).

The gateway is a setting (``AFTERCARE_SMS_GATEWAY``, a dotted path): the console gateway writes to the
log and to ``outbox`` (as ``mail.outbox`` does for email); a real provider plugs in with the same
``send``. Sending happens in a task after commit, never inside a transaction.
"""

from __future__ import annotations

import logging
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from .permissions import mask_phone

logger = logging.getLogger("aftercare.sms")

# What the console gateway "sent": (phone, text) pairs, for tests and local development.
outbox: list[tuple[str, str]] = []


class SmsGateway(Protocol):
    def send(self, phone: str, text: str) -> None:
        """Send one message; raise ``OSError`` when the provider cannot be reached (the task retries)."""


class ConsoleSmsGateway:
    def send(self, phone: str, text: str) -> None:
        # The log is read by more people than the families' teachers: the number stays masked there.
        logger.info("SMS to %s: %s", mask_phone(phone), text)
        outbox.append((phone, text))


def sms_gateway() -> SmsGateway:
    return import_string(settings.AFTERCARE_SMS_GATEWAY)()


def sms_send(phones: list[str], text: str) -> list[str]:
    """Send ``text`` to each phone once; returns the phones that failed with ``OSError`` (to retry)."""
    gateway = sms_gateway()
    failed = []
    for phone in dict.fromkeys(phones):
        try:
            gateway.send(phone, text)
        except OSError:
            logger.warning("SMS to %s failed; will retry", mask_phone(phone), exc_info=True)
            failed.append(phone)
    return failed
