"""A month's folder appears all at once; the last good one survives a failure."""

from __future__ import annotations

import json
import multiprocessing

import pytest

from flows import months
from reports.outputs import MonthFolder, RunLocked, month_lock
from transforms.errors import ConfigError


def _write(root, run_id, total):
    folder = MonthFolder(root, "2026-10", run_id)
    folder.write_json("run.json", {"run_id": run_id})
    folder.write_json("summary.json", {"totals": {"total_cost": total}})
    return folder


def test_a_second_run_moves_the_first_to_history(tmp_path):
    _write(tmp_path, "r1", 10.0).commit()
    _write(tmp_path, "r2", 12.0).commit()
    current = json.loads((tmp_path / "2026-10" / "summary.json").read_text())
    kept = json.loads(
        (tmp_path / "history" / "2026-10" / "r1" / "summary.json").read_text()
    )
    assert current["totals"]["total_cost"] == 12.0
    assert kept["totals"]["total_cost"] == 10.0


def test_an_aborted_run_leaves_the_last_good_output(tmp_path):
    _write(tmp_path, "r1", 10.0).commit()
    failed = _write(tmp_path, "r2", 99.0)
    failed.abort()
    current = json.loads((tmp_path / "2026-10" / "summary.json").read_text())
    assert current["totals"]["total_cost"] == 10.0
    assert not list(tmp_path.glob(".staging-*"))


def _hold_lock(root, ready, release):
    with month_lock(root, "2026-10"):
        ready.set()
        release.wait(10)


def test_two_runs_of_one_month_cannot_overlap(tmp_path):
    ctx = multiprocessing.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(tmp_path, ready, release))
    holder.start()
    try:
        assert ready.wait(10)
        with (
            pytest.raises(RunLocked, match="another run of 2026-10"),
            month_lock(tmp_path, "2026-10"),
        ):
            pass
    finally:
        release.set()
        holder.join(10)
    with month_lock(tmp_path, "2026-10"):  # free again once the holder is gone
        pass


@pytest.mark.parametrize(
    ("month", "by", "expected"),
    [("2026-01", -1, "2025-12"), ("2026-12", 1, "2027-01"), ("2026-10", 0, "2026-10")],
)
def test_month_arithmetic(month, by, expected):
    assert months.shift(month, by) == expected


def test_month_ranges_and_bad_months():
    assert months.month_range("2025-11", "2026-02") == [
        "2025-11",
        "2025-12",
        "2026-01",
        "2026-02",
    ]
    with pytest.raises(ConfigError, match="YYYY-MM"):
        months.check("2026-13")
    with pytest.raises(ConfigError, match="after"):
        months.month_range("2026-03", "2026-01")
