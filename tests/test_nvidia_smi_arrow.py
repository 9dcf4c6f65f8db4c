"""The Arrow reader of nvidia-smi CSV logs keeps the line-by-line rules."""

from __future__ import annotations

import math

import pandas as pd

from ingest import nvidia_smi

HEADER = "timestamp, name, uuid, utilization.gpu [%], power.draw [W]"


def _parse(*lines: str) -> nvidia_smi.SmiTable:
    return nvidia_smi.parse_query_gpu("\n".join([HEADER, *lines]) + "\n")


def test_a_unit_without_a_space_is_still_dropped():
    table = _parse("2026/10/03 09:00:00.000, A100, GPU-a, 45%, 300.5W")
    assert table.frame["utilization.gpu"].tolist() == [45.0]
    assert table.frame["power.draw"].tolist() == [300.5]
    assert table.bad_rows == []


def test_text_in_a_numeric_field_is_a_bad_line_but_the_row_stays():
    table = _parse(
        "2026/10/03 09:00:00.000, A100, GPU-a, 45 %, 300 W",
        "",
        "   ",
        "2026/10/03 09:01:00.000, A100, GPU-a, busy %, 301 W",
    )
    assert table.bad_rows == [5]  # blank lines count in line numbers
    assert len(table.frame) == 2
    assert math.isnan(table.frame["utilization.gpu"].iloc[1])
    assert table.frame["power.draw"].iloc[1] == 301.0


def test_a_text_cell_holding_a_comma_reads_as_with_the_old_split():
    table = _parse(
        "2026/10/03 09:00:00.000, A100,rev2, GPU-a, 45 %, 300 W",
        "2026/10/03 09:01:00.000, A100, GPU-a, 46 %",
    )
    assert table.frame["name"].astype(str).tolist() == ["A100,rev2"]
    assert table.frame["utilization.gpu"].tolist() == [45.0]
    assert table.bad_rows == [3]  # the short line


def test_bad_timestamps_drop_the_row_and_are_reported():
    table = _parse(
        "2026/10/03 09:00:00.000, A100, GPU-a, 45 %, 300 W",
        "2026/13/03 09:00:00.000, A100, GPU-a, 45 %, 300 W",
        "yesterday, A100, GPU-a, 45 %, 300 W",
        "2026/10/03 09:02:00.123456789, A100, GPU-a, 45 %, 300 W",
    )
    assert table.bad_rows == [3, 4]
    stamps = table.frame["timestamp"].tolist()
    assert stamps == [
        pd.Timestamp("2026-10-03 09:00Z"),
        pd.Timestamp("2026-10-03 09:02:00.123456789Z"),
    ]


def test_placeholders_in_text_fields_are_missing_and_counted():
    table = _parse(
        "2026/10/03 09:00:00.000, [N/A], GPU-a, N/A, [Not Supported]",
        "2026/10/03 09:01:00.000, A100, GPU-a, 45 %, 300 W",
    )
    assert table.placeholders == {"name": 1, "utilization.gpu": 1, "power.draw": 1}
    assert pd.isna(table.frame["name"].iloc[0])
    assert table.bad_rows == []
