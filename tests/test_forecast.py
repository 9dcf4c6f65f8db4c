"""Next month's cost forecast and the error of last month's forecast."""

from __future__ import annotations

import pytest

from transforms.forecast import forecast_next_month


def test_one_month_of_history_repeats_that_month():
    result = forecast_next_month([("2026-10", 1_000.0)], "2026-10")

    assert result["month"] == "2026-11"
    assert result["cost"] == 1_000.0
    assert result["method"].startswith("naive")
    assert result["last_error"] is None  # no forecast was made for October


def test_a_straight_line_is_extended_by_one_month():
    history = [("2026-08", 100.0), ("2026-09", 200.0), ("2026-10", 300.0)]

    result = forecast_next_month(history, "2026-10")

    assert result["cost"] == pytest.approx(400.0)
    assert result["method"] == "linear trend over the last 3 months"


def test_a_falling_trend_never_forecasts_below_zero():
    history = [("2026-08", 300.0), ("2026-09", 100.0), ("2026-10", 0.0)]

    assert forecast_next_month(history, "2026-10")["cost"] == 0.0


def test_december_rolls_over_to_january():
    assert forecast_next_month([("2026-12", 5.0)], "2026-12")["month"] == "2027-01"


def test_last_error_uses_the_forecast_kept_last_month():
    history = [("2026-09", 1_000.0), ("2026-10", 1_100.0)]
    kept = {"month": "2026-10", "cost": 1_000.0}

    result = forecast_next_month(history, "2026-10", previous_forecast=kept)
    error = result["last_error"]

    # actual 1,100 - forecast 1,000 = 100, which is 9.09 % of the actual.
    assert error == {
        "month": "2026-10",
        "forecast": 1_000.0,
        "actual": 1_100.0,
        "error": 100.0,
        "error_pct": pytest.approx(100 * 100 / 1_100),
    }


def test_last_error_is_rebuilt_from_history_when_no_forecast_was_kept():
    history = [("2026-09", 800.0), ("2026-10", 1_000.0)]

    error = forecast_next_month(history, "2026-10")["last_error"]

    assert error["forecast"] == 800.0  # the naive forecast made in September
    assert error["error"] == 200.0


def test_months_after_the_run_month_are_ignored():
    history = [("2026-10", 10.0), ("2026-11", 99.0)]

    assert forecast_next_month(history, "2026-10")["cost"] == 10.0


def test_no_history_gives_no_forecast():
    result = forecast_next_month([], "2026-10")

    assert result["cost"] is None
    assert result["last_error"] is None
