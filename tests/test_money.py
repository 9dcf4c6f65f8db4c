"""Splits sum back exactly at the output precision (DESIGN §4)."""

from __future__ import annotations

import pytest

from transforms.money import round_preserving_sum, split_exact, to_cents


def test_the_design_example_splits_with_largest_remainder_and_ties():
    # 1.002 x 33/33/34 = 0.33066, 0.33066, 0.34068: the tie between a and b goes to
    # the first key in sorted order.
    assert split_exact(1.002, {"a": 33, "b": 33, "c": 34}, places=3) == {
        "a": 0.331,
        "b": 0.330,
        "c": 0.341,
    }


@pytest.mark.parametrize(
    ("total", "weights"),
    [
        (100.0, {"x": 1, "y": 1, "z": 1}),  # thirds
        (
            0.05,
            {"x": 1, "y": 1, "z": 1, "w": 1, "v": 1, "u": 1},
        ),  # less than a cent each
        (-33.86, {"x": 2, "y": 1}),  # a credit
        (1234567.891, {"x": 0.3, "y": 0.3, "z": 0.4}),
    ],
)
def test_parts_always_sum_to_the_rounded_total(total, weights):
    parts = split_exact(total, weights)
    assert round(sum(parts.values()), 2) == to_cents(total)


def test_ties_in_remainder_go_to_the_larger_raw_amount():
    # both have remainder .005; y is larger, so y gets the cent
    assert round_preserving_sum({"x": 1.005, "y": 2.005}, total=3.01) == {
        "x": 1.0,
        "y": 2.01,
    }


def test_zero_weights_are_refused():
    with pytest.raises(ValueError, match="sum to zero"):
        split_exact(1.0, {"a": 0})
