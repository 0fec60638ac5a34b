"""Refund arithmetic as plain functions (no I/O): pro rata to the service not yet held."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from aftercare.money import to_fen


@dataclass(frozen=True)
class RefundCalculation:
    amount: Decimal
    basis: str


def pro_rata_refund(
    paid: Decimal, *, total_units: int, remaining_units: int, unit_label: str
) -> RefundCalculation:
    """What comes back of ``paid`` when ``remaining_units`` of ``total_units`` service days (or
    sessions) will not be held. Rounded half-up to the fen; never more than was paid."""
    if total_units <= 0 or remaining_units <= 0 or paid <= 0:
        return RefundCalculation(Decimal("0.00"), f"{to_fen(paid)} × 0/{max(total_units, 0)} = 0.00")
    remaining_units = min(remaining_units, total_units)
    amount = min(to_fen(paid * remaining_units / total_units), to_fen(paid))
    basis = f"{to_fen(paid)} × {remaining_units}/{total_units} {unit_label} = {amount}"
    return RefundCalculation(amount, basis)
