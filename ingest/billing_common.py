"""Helpers shared by the billing readers: parsing money and time, tallying problems.

Pure functions of pandas objects. A reader parses a chunk with `parse_money` and
`parse_utc`, which hand back the parsed values and record every cell that did not parse
in a `Tally`; at the end of a file the tally becomes findings (DESIGN §7: the file, the
column, the count, up to 20 row numbers and a few of the values found). A row rolled up
from several lines (`LINE_COUNT`) counts as that many lines.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from transforms.distinct import per_distinct
from transforms.findings import Finding, Severity

MAX_ROW_EXAMPLES = 20
MAX_VALUE_EXAMPLES = 5
NULL_TEXTS = ("", "NULL", "null")
# How many source lines a canonical row stands for: 1, or a day's lines rolled up.
LINE_COUNT = "x_LineCount"


@dataclass
class Problem:
    """Cells of one column of one file that broke one rule."""

    check: str
    column: str
    expected: str
    count: int = 0
    rows: list[int] = field(default_factory=list)
    values: list[str] = field(default_factory=list)

    def add(self, rows: pd.Series, values: pd.Series, lines: int) -> None:
        self.count += lines
        room = MAX_ROW_EXAMPLES - len(self.rows)
        self.rows.extend(int(r) for r in rows.iloc[: max(room, 0)])
        for value in values.astype(str).unique()[:MAX_VALUE_EXAMPLES]:
            if len(self.values) < MAX_VALUE_EXAMPLES and value not in self.values:
                self.values.append(value)


@dataclass
class Tally:
    """Every problem of one file, keyed by (check, column)."""

    uri: str
    problems: dict[tuple[str, str], Problem] = field(default_factory=dict)
    # The current chunk's LINE_COUNT column when its rows are rolled up, else None.
    lines: pd.Series | None = None

    def record(
        self, check: str, column: str, expected: str, rows: pd.Series, values: pd.Series
    ) -> None:
        if len(rows) == 0:
            return
        key = (check, column)
        if key not in self.problems:
            self.problems[key] = Problem(check, column, expected)
        self.problems[key].add(rows, values, self.line_count(rows))

    def line_count(self, rows: pd.Series) -> int:
        """Source lines behind these rows of the current chunk."""
        if self.lines is None:
            return len(rows)
        return int(self.lines.loc[rows.index].sum())

    def findings(self, severity: Severity = Severity.BLOCKING) -> list[Finding]:
        return [self._finding(p, severity) for p in self.problems.values()]

    def _finding(self, problem: Problem, severity: Severity) -> Finding:
        shown = ", ".join(repr(v) for v in problem.values)
        message = (
            f"{self.uri}: column {problem.column!r} has {problem.count} value(s) "
            f"that are not {problem.expected} (rows {_rows_text(problem.rows)}; "
            f"found {shown}); fix the export or remove those rows"
        )
        return Finding(
            severity,
            "billing",
            problem.check,
            message,
            file=self.uri,
            column=problem.column,
            count=problem.count,
            examples=list(problem.rows),
        )


def _rows_text(rows: list[int]) -> str:
    return ", ".join(str(r) for r in rows)


def is_null(values: pd.Series) -> pd.Series:
    """Missing cells: NaN/None, or the texts FOCUS and CUR exports use for null."""
    if (
        values.dtype == object
        or pd.api.types.is_string_dtype(values)
        or isinstance(values.dtype, pd.CategoricalDtype)
    ):
        text = values.astype("string").str.strip()
        return values.isna() | text.isin(NULL_TEXTS).fillna(True)
    return values.isna()


def parse_money(
    values: pd.Series, rows: pd.Series, column: str, tally: Tally
) -> pd.Series:
    """float64 amounts; null stays NaN; text that is not a number is tallied."""
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("float64")
    missing = is_null(values)
    parsed = pd.to_numeric(
        values.where(~missing).astype("string").str.strip(), errors="coerce"
    ).astype("float64")
    bad = parsed.isna() & ~missing
    tally.record("unparseable_cost", column, "numbers", rows[bad], values[bad])
    return parsed


def parse_utc(
    values: pd.Series, rows: pd.Series, column: str, tally: Tally
) -> pd.Series:
    """tz-aware UTC timestamps; a time without zone (no `Z`, no offset) is UTC."""
    if pd.api.types.is_datetime64_any_dtype(values):
        stamps = pd.Series(values)
        if stamps.dt.tz is None:
            return stamps.dt.tz_localize("UTC").astype("datetime64[us, UTC]")
        return stamps.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    missing = is_null(values)
    text = values.where(~missing).astype("string").str.strip()
    parsed = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
    parsed = pd.Series(parsed, index=values.index).astype("datetime64[us, UTC]")
    bad = parsed.isna() & ~missing
    tally.record(
        "unparseable_timestamp", column, "ISO 8601 timestamps", rows[bad], values[bad]
    )
    return parsed


def text_or_none(values: pd.Series) -> pd.Series:
    """Strings with the null texts turned into None (object dtype).

    Worked out once per distinct value: bills repeat a few hundred texts per column.
    """
    if values.empty:
        return _text_or_none(values)
    return per_distinct(values, _text_or_none).astype("object")


def _text_or_none(values: pd.Series) -> pd.Series:
    out = values.astype("object")
    return out.where(~is_null(values), None)


def month_bounds(month: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[start, next month start) in UTC for 'YYYY-MM'."""
    start = pd.Timestamp(f"{month}-01", tz="UTC")
    return start, start + pd.offsets.MonthBegin(1)


def add_month(month: str, n: int) -> str:
    start, _ = month_bounds(month)
    return (start + pd.offsets.MonthBegin(n)).strftime("%Y-%m")


def compact_json(mapping: dict) -> str | None:
    if not mapping:
        return None
    return json.dumps(mapping, separators=(",", ":"), ensure_ascii=False)


def combine_json_pieces(pieces: list[pd.Series], index: pd.Index) -> pd.Series:
    """Join per-column `"key":"value"` pieces (or "") into one JSON object per row."""
    body = pd.Series("", index=index, dtype="object")
    for piece in pieces:
        sep = np.where((body != "") & (piece != ""), ",", "")
        body = body + sep + piece
    return ("{" + body + "}").where(body != "", None)
