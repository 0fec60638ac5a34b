"""The pay sheet as a PDF for the principal's signature (WeasyPrint, CJK font), fed by selectors."""

from __future__ import annotations

from django.utils import timezone

from . import selectors
from .exports import run_title
from .models import PayoutLine, PayoutRun


def pay_sheet_pdf(run: PayoutRun, lines: list[PayoutLine]) -> bytes:
    from aftercare.documents import render_pdf  # WeasyPrint loads in the worker only

    return render_pdf(
        "documents/pay_sheet.html",
        {
            "run": run,
            "title": run_title(run),
            "lines": lines,
            "totals": selectors.line_totals(lines),
            "policy_rows": selectors.policy_rows(run.policy),
            "fund_rows": selectors.fund_rows(run.fund_basis),
            "notes": selectors.pay_sheet_notes(run),
            "printed_on": timezone.localdate(),
        },
    )
