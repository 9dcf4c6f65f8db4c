"""Money at full precision inside, cents outside, and splits that sum back exactly.

DESIGN §4: any split of an amount sums back to that amount at the output precision, by
largest-remainder rounding; ties go to the larger raw amount, then to the first key in
sorted order.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal


def to_cents(amount: float, places: int = 2) -> float:
    """Round one amount for output (half-even on the decimal form of the float)."""
    quantum = Decimal(1).scaleb(-places)
    return float(Decimal(repr(float(amount))).quantize(quantum, ROUND_HALF_EVEN))


def split_exact(
    total: float, weights: Mapping[str, float], places: int = 2
) -> dict[str, float]:
    """Split `total` in proportion to `weights`, rounded so the parts sum to the total.

    >>> split_exact(1.002, {"a": 33, "b": 33, "c": 34}, places=3)
    {'a': 0.331, 'b': 0.33, 'c': 0.341}
    """
    if not weights:
        return {}
    weight_sum = sum(weights.values())
    if weight_sum == 0:
        raise ValueError("cannot split an amount over weights that sum to zero")
    raw = {k: float(total) * w / weight_sum for k, w in weights.items()}
    return round_preserving_sum(raw, places=places, total=total)


def round_preserving_sum(
    raw: Mapping[str, float], places: int = 2, total: float | None = None
) -> dict[str, float]:
    """Round every amount so the rounded parts add up to the rounded total."""
    quantum = Decimal(1).scaleb(-places)
    target_total = sum(raw.values()) if total is None else total
    target = Decimal(repr(float(target_total))).quantize(quantum, ROUND_HALF_EVEN)
    exact = {k: Decimal(repr(float(v))) for k, v in raw.items()}
    floors = {k: v.quantize(quantum, ROUND_FLOOR) for k, v in exact.items()}
    units_left = int((target - sum(floors.values(), Decimal(0))) / quantum)
    order = sorted(
        exact,
        key=lambda k: (-(exact[k] - floors[k]), -exact[k], k),
    )
    for key in order[: max(units_left, 0)]:
        floors[key] += quantum
    # A target below the sum of floors (negative parts) takes units back from the
    # smallest remainders first.
    for key in list(reversed(order))[: max(-units_left, 0)]:
        floors[key] -= quantum
    return {k: float(floors[k]) for k in sorted(raw)}
