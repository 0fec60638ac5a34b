"""Fee arithmetic as plain functions: a term's cost of an offering and the check against the caps."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _

from aftercare.money import to_fen


def term_cost(fee_mode: str, fee_amount: Decimal, session_count: int) -> Decimal:
    """What one student pays for an offering over the term."""
    if fee_mode == "free":
        return Decimal("0.00")
    if fee_mode == "per_session":
        return to_fen(fee_amount * session_count)
    return to_fen(fee_amount)


def cap_violation(
    *, kind_label: str, fee_mode: str, fee_amount: Decimal, session_count: int, cap: Decimal
) -> str | None:
    """None if the price keeps within the cap; otherwise the refusal with the arithmetic shown."""
    cost = term_cost(fee_mode, fee_amount, session_count)
    if cost <= cap:
        return None
    if fee_mode == "per_session":
        return _(
            "收费超出上限：每次 %(amount)s 元 × 本学期 %(count)d 次 = %(cost)s 元，超过%(kind)s每生每学期 %(cap)s 元的上限。"
        ) % {
            "amount": to_fen(fee_amount),
            "count": session_count,
            "cost": cost,
            "kind": kind_label,
            "cap": to_fen(cap),
        }
    return _("收费超出上限：每学期 %(cost)s 元，超过%(kind)s每生每学期 %(cap)s 元的上限。") % {
        "cost": cost,
        "kind": kind_label,
        "cap": to_fen(cap),
    }
