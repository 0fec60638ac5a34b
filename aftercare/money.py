"""Money helpers: amounts are `Decimal` yuan with two places (fen).

This module is the one place that rounds. Everything else either keeps exact `Decimal` arithmetic or
calls `to_fen`, and pools are divided with `allocate` so that the shares add up to the pool exactly.
"""

from collections.abc import Hashable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

FEN = Decimal("0.01")
# Half-up is how amounts are rounded on Chinese receipts and payslips (0.005 yuan -> 0.01 yuan);
# the banker's rounding that `Decimal` uses by default would surprise the school's accountant.
ROUNDING = ROUND_HALF_UP

FLOAT_REFUSED = "Floats are refused near money: pass a Decimal, an int or a string."
NOT_A_NUMBER = "Money must be a finite number."
POOL_NEGATIVE = "The pool to share must not be negative."
POOL_FINER_THAN_FEN = "The pool to share must be a whole number of fen."
WEIGHT_NEGATIVE = "Weights must not be negative."
KEYS_LENGTH_MISMATCH = "There must be exactly one key per weight."
KEYS_NOT_UNIQUE = "Keys must be unique."
PARTS_NOT_INTEGERS = "Ratio parts must be integers."
PARTS_ALL_ZERO = "At least one ratio part must be positive."


def to_fen(value: Decimal | int | str) -> Decimal:
    """Round an amount in yuan to the fen with `ROUNDING`."""
    # A float has already lost the exact amount (0.1 + 0.2 != 0.3), so it is refused, not rounded.
    if isinstance(value, float | bool):
        raise TypeError(FLOAT_REFUSED)
    amount = Decimal(value)
    if not amount.is_finite():
        raise ValueError(NOT_A_NUMBER)
    return amount.quantize(FEN, rounding=ROUNDING)


def allocate(
    pool: Decimal, weights: Sequence[Decimal], keys: Sequence[Hashable] | None = None
) -> list[Decimal]:
    """Share `pool` in proportion to `weights`, to the fen, with shares adding up to `pool` exactly.

    Largest-remainder method: every share first gets the whole fen of its exact quota, then the fen
    left over go one each to the largest remainders. Equal remainders are ordered by key (keys must
    be mutually orderable, e.g. teacher ids) or, without keys, by position; with keys the result does
    not depend on the order of the input. A larger weight never gets a smaller share.

    When every weight is zero nobody has earned a share: all shares are zero and the whole pool is
    left undistributed; the caller must report it (the shares then add up to 0, not to the pool).
    """
    pool_in_fen = _pool_in_fen(pool)
    exact_weights = [_exact_weight(weight) for weight in weights]
    if keys is not None:
        if len(keys) != len(weights):
            raise ValueError(KEYS_LENGTH_MISMATCH)
        if len(set(keys)) != len(keys):
            raise ValueError(KEYS_NOT_UNIQUE)
    total_weight = sum(exact_weights, Fraction(0))
    if total_weight == 0:
        return [Decimal("0.00") for _ in weights]

    quotas = [pool_in_fen * weight / total_weight for weight in exact_weights]
    fen = [quota.numerator // quota.denominator for quota in quotas]
    leftover = pool_in_fen - sum(fen)

    def rank(index: int) -> tuple[Fraction, Any]:
        tie_breaker: Any = keys[index] if keys is not None else index
        return (-(quotas[index] - fen[index]), tie_breaker)

    # Each remainder is below one fen, so fewer than len(weights) fen are left over, and they all go
    # to positive remainders: a zero weight never receives a fen.
    for index in sorted(range(len(fen)), key=rank)[:leftover]:
        fen[index] += 1
    return [Decimal(amount) * FEN for amount in fen]


def split_ratio(total: Decimal, parts: Sequence[int]) -> list[Decimal]:
    """Split `total` exactly in the ratio `parts`, e.g. `split_ratio(fund, [9, 1])`.

    A fen that cannot be split evenly goes to the earlier part (the process pool in a 9 : 1 split).
    """
    if any(isinstance(part, bool) or not isinstance(part, int) for part in parts):
        raise TypeError(PARTS_NOT_INTEGERS)
    if parts and not any(parts):
        raise ValueError(PARTS_ALL_ZERO)
    return allocate(total, [Decimal(part) for part in parts])


def _pool_in_fen(pool: Decimal) -> int:
    if isinstance(pool, float | bool):
        raise TypeError(FLOAT_REFUSED)
    pool = Decimal(pool)
    if not pool.is_finite():
        raise ValueError(NOT_A_NUMBER)
    if pool < 0:
        raise ValueError(POOL_NEGATIVE)
    # Rounding the pool here would make the shares add up to something other than what was passed.
    if to_fen(pool) != pool:
        raise ValueError(POOL_FINER_THAN_FEN)
    return int(pool / FEN)


def _exact_weight(weight: Decimal) -> Fraction:
    if isinstance(weight, float | bool):
        raise TypeError(FLOAT_REFUSED)
    exact = Decimal(weight)
    if not exact.is_finite():
        raise ValueError(NOT_A_NUMBER)
    if exact < 0:
        raise ValueError(WEIGHT_NEGATIVE)
    return Fraction(exact)
