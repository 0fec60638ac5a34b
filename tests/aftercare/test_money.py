from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aftercare.money import (
    FEN,
    FLOAT_REFUSED,
    KEYS_LENGTH_MISMATCH,
    KEYS_NOT_UNIQUE,
    PARTS_ALL_ZERO,
    PARTS_NOT_INTEGERS,
    POOL_FINER_THAN_FEN,
    POOL_NEGATIVE,
    ROUNDING,
    WEIGHT_NEGATIVE,
    allocate,
    split_ratio,
    to_fen,
)

D = Decimal


def test_rounding_is_half_up_to_the_fen():
    assert (D("0.01"), ROUND_HALF_UP) == (FEN, ROUNDING)
    assert to_fen(D("2.665")) == D("2.67")  # banker's rounding (Decimal's default) would give 2.66
    assert to_fen(D("-2.665")) == D("-2.67")
    assert to_fen(D("2.664999")) == D("2.66")
    assert to_fen(3) == D("3.00")
    assert to_fen("12.3") == D("12.30")
    assert str(to_fen(D("5"))) == "5.00"


@pytest.mark.parametrize("value", [0.1, 1.0, True])
def test_to_fen_refuses_floats(value):
    with pytest.raises(TypeError, match=FLOAT_REFUSED):
        to_fen(value)


def test_to_fen_refuses_non_finite():
    with pytest.raises(ValueError, match="finite"):
        to_fen(D("NaN"))


def test_allocate_largest_remainder_hand_computed():
    # 100.00 yuan = 10000 fen over weights 1:1:1 -> quotas 3333.33 fen each, floors sum to 9999,
    # 1 fen left, remainders tie at 1/3, so the smallest index (no keys) gets it.
    assert allocate(D("100.00"), [D(1), D(1), D(1)]) == [D("33.34"), D("33.33"), D("33.33")]
    # Same with keys: the tie goes to the smallest key, wherever it sits in the input.
    assert allocate(D("100.00"), [D(1), D(1), D(1)], keys=[30, 10, 20]) == [
        D("33.33"),
        D("33.34"),
        D("33.33"),
    ]
    # 10.00 over 1 : 2 : 3.5 (6.5) -> quotas 153.846, 307.692, 538.461 fen; floors 153+307+538 = 998;
    # 2 fen left go to the largest remainders .846 and .692.
    assert allocate(D("10.00"), [D(1), D(2), D("3.5")]) == [D("1.54"), D("3.08"), D("5.38")]


def test_allocate_gives_nothing_to_zero_weights():
    # 0.05 over 0 : 1 : 1 -> quotas 0, 2.5, 2.5 fen; 1 fen left goes to the first positive tie.
    assert allocate(D("0.05"), [D(0), D(1), D(1)]) == [D("0.00"), D("0.03"), D("0.02")]


def test_allocate_all_zero_weights_leaves_pool_undistributed():
    assert allocate(D("50.00"), [D(0), D(0)]) == [D("0.00"), D("0.00")]
    assert allocate(D("50.00"), []) == []


def test_allocate_validates_input():
    with pytest.raises(ValueError, match=POOL_NEGATIVE):
        allocate(D("-0.01"), [D(1)])
    with pytest.raises(ValueError, match=POOL_FINER_THAN_FEN):
        allocate(D("1.005"), [D(1)])
    with pytest.raises(ValueError, match=WEIGHT_NEGATIVE):
        allocate(D("1.00"), [D(1), D("-0.5")])
    with pytest.raises(TypeError, match=FLOAT_REFUSED):
        allocate(D("1.00"), [0.5])  # type: ignore[list-item]
    with pytest.raises(ValueError, match=KEYS_LENGTH_MISMATCH):
        allocate(D("1.00"), [D(1), D(1)], keys=[1])
    with pytest.raises(ValueError, match=KEYS_NOT_UNIQUE):
        allocate(D("1.00"), [D(1), D(1)], keys=[1, 1])


def test_split_ratio_nine_to_one():
    # 12345.67 = 1234567 fen; 9/10 -> 1111110.3 fen, 1/10 -> 123456.7 fen; floors leave 1 fen,
    # which goes to the larger remainder .7: the terminal pool.
    assert split_ratio(D("12345.67"), [9, 1]) == [D("11111.10"), D("1234.57")]
    # 100.05 -> 9004.5 and 1000.5 fen: a tie, so the earlier part (the process pool) gets the fen.
    assert split_ratio(D("100.05"), [9, 1]) == [D("90.05"), D("10.00")]
    assert split_ratio(D("0.00"), [9, 1]) == [D("0.00"), D("0.00")]


def test_split_ratio_validates_parts():
    with pytest.raises(ValueError, match=PARTS_ALL_ZERO):
        split_ratio(D("1.00"), [0, 0])
    with pytest.raises(TypeError, match=PARTS_NOT_INTEGERS):
        split_ratio(D("1.00"), [D("0.9"), 1])  # type: ignore[list-item]
    with pytest.raises(ValueError, match=WEIGHT_NEGATIVE):
        split_ratio(D("1.00"), [-1, 2])


pools = st.integers(min_value=0, max_value=10**9).map(lambda fen: D(fen) * FEN)
weights = st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(pool=pools, weight_list=st.lists(weights, max_size=12))
def test_allocate_is_exact_and_fair(pool, weight_list):
    shares = allocate(pool, weight_list)

    total_weight = sum(weight_list, D(0))
    assert sum(shares, D(0)) == (pool if total_weight else 0)
    assert all(share >= 0 and share == to_fen(share) for share in shares)
    for share, weight in zip(shares, weight_list, strict=True):
        # Largest remainder never strays a whole fen from the exact quota.
        exact = Fraction(pool) * Fraction(weight) / Fraction(total_weight) if total_weight else 0
        assert abs(Fraction(share) - exact) < Fraction(1, 100)
    for share_a, weight_a in zip(shares, weight_list, strict=True):
        for share_b, weight_b in zip(shares, weight_list, strict=True):
            if weight_a > weight_b:
                assert share_a >= share_b


@settings(max_examples=200, deadline=None)
@given(data=st.data(), pool=pools, weight_list=st.lists(weights, min_size=1, max_size=8))
def test_allocate_with_keys_does_not_depend_on_input_order(data, pool, weight_list):
    keyed = dict(enumerate(weight_list))
    shuffled = data.draw(st.permutations(list(keyed)))

    in_order = dict(zip(keyed, allocate(pool, list(keyed.values()), keys=list(keyed)), strict=True))
    reordered = allocate(pool, [keyed[key] for key in shuffled], keys=shuffled)

    assert dict(zip(shuffled, reordered, strict=True)) == in_order


@settings(max_examples=200, deadline=None)
@given(
    total=pools,
    parts=st.lists(st.integers(min_value=0, max_value=100), min_size=1, max_size=5).filter(any),
)
def test_split_ratio_is_exact(total, parts):
    shares = split_ratio(total, parts)

    assert sum(shares, D(0)) == total
    assert all(share >= 0 for share in shares)
