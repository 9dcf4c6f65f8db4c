"""Next month's total cost from the monthly history, and how wrong the last one was.

Method: with fewer than three months of history, next month repeats the last month;
with three or more, a least-squares straight line through the last six months (or as
many as there are) is extended by one month, never below 0. A year of history would
allow a seasonal method; one month of data cannot show seasonality, so none is tried.

The error of last month's forecast is reported the month after: `last_error` compares
the forecast made for `month` (the one kept in last month's summary when given, else
the same method re-run on the history before `month`) with the actual cost of `month`:
error = actual - forecast, error_pct = 100 x error / actual.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd

TREND_MONTHS = 6
MIN_TREND_MONTHS = 3


def next_month(month: str) -> str:
    return str(pd.Period(month, freq="M") + 1)


def forecast_next_month(
    history: Sequence[tuple[str, float]],
    month: str,
    previous_forecast: Mapping | None = None,
) -> dict:
    """Forecast the month after `month` from the costs of `month` and before.

    `history` holds (YYYY-MM, total cost) pairs, in any order; later months are ignored.
    `previous_forecast` is last month's summary.json `forecast`, when there is one.
    """
    points = _points_up_to(history, month)
    cost, method = _predict([c for _, c in points])
    return {
        "month": next_month(month),
        "cost": cost,
        "method": method,
        "last_error": _last_error(points, month, previous_forecast),
    }


def _points_up_to(
    history: Sequence[tuple[str, float]], month: str
) -> list[tuple[str, float]]:
    last = pd.Period(month, freq="M")
    by_month = {}
    for key, cost in history:
        period = pd.Period(key, freq="M")
        if period <= last and cost is not None and math.isfinite(float(cost)):
            by_month[str(period)] = float(cost)  # a later entry for a month wins
    return sorted(by_month.items())


def _predict(costs: list[float]) -> tuple[float | None, str]:
    if not costs:
        return None, "none: no monthly history"
    if len(costs) < MIN_TREND_MONTHS:
        return costs[-1], "naive: next month repeats the last month"
    recent = costs[-TREND_MONTHS:]
    n = len(recent)
    mean_x = (n - 1) / 2
    mean_y = sum(recent) / n
    spread = sum((x - mean_x) ** 2 for x in range(n))
    slope = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(recent)) / spread
    value = mean_y + slope * (n - mean_x)
    return max(value, 0.0), f"linear trend over the last {n} months"


def _last_error(
    points: list[tuple[str, float]], month: str, previous_forecast: Mapping | None
) -> dict | None:
    actuals = dict(points)
    if month not in actuals:
        return None
    forecast = _stored_forecast(previous_forecast, month)
    if forecast is None:
        earlier = [cost for key, cost in points if key < month]
        forecast, _ = _predict(earlier)
    if forecast is None:
        return None
    actual = actuals[month]
    error = actual - forecast
    return {
        "month": month,
        "forecast": forecast,
        "actual": actual,
        "error": error,
        "error_pct": 100 * error / actual if actual else None,
    }


def _stored_forecast(previous: Mapping | None, month: str) -> float | None:
    if not isinstance(previous, Mapping) or previous.get("month") != month:
        return None
    cost = previous.get("cost")
    if cost is None or not math.isfinite(float(cost)):
        return None
    return float(cost)
