"""Where money for a child's term enters the books.

Today finance records every payment by hand (cash, bank transfer, the school's payment platform):
``ManualPayments``. An online payment provider plugs in later as another ``PaymentProvider``: it
would confirm the money with the provider and then record it through the same service, so the
no-other-term rule and the audit history stay in one place.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Protocol

from aftercare.models import Student, Term

from . import services
from .models import Payment


class PaymentProvider(Protocol):
    """Records money received for ``student``'s ``term``; raises ValidationError when refused."""

    def record(
        self,
        *,
        actor,
        student: Student,
        term: Term,
        amount: Decimal,
        method: str,
        paid_by: str,
        paid_on: date,
        reference: str = "",
    ) -> Payment: ...


class ManualPayments:
    """Finance types in money already received."""

    def record(
        self,
        *,
        actor,
        student: Student,
        term: Term,
        amount: Decimal,
        method: str,
        paid_by: str,
        paid_on: date,
        reference: str = "",
    ) -> Payment:
        return services.payment_record(
            actor=actor,
            student=student,
            term=term,
            amount=amount,
            method=method,
            paid_by=paid_by,
            paid_on=paid_on,
            reference=reference,
        )
