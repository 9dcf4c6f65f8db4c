"""CSV outputs that a spreadsheet opens without running anything.

A text cell that starts with `=`, `+`, `-` or `@` (or a tab or carriage return, which
some spreadsheets skip before reading a formula) is read as a formula by Excel, Calc and
Sheets. Such cells get a leading apostrophe, which those programs show as text. Numbers
stay numbers: only text cells (and column names) change, so `-2500.0` in a float column
is written as is, while the text `-2500` in a text column becomes `'-2500`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd
from pandas.api import types as ptypes

log = logging.getLogger(__name__)

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """The value itself, or text made inert with a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells and column names are neutralised."""
    safe = frame.copy()
    for column in safe.columns:
        series = safe[column]
        if _holds_text(series):
            safe[column] = series.astype(object).map(neutralise, na_action="ignore")
    safe.columns = [neutralise(str(c)) for c in safe.columns]
    return safe


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write `frame` as UTF-8 CSV without its index, formula-safe."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    safe_frame(frame).to_csv(path, index=False, lineterminator="\n")
    log.info("wrote %s rows to %s", len(frame), path)


def _holds_text(series: pd.Series) -> bool:
    if ptypes.is_numeric_dtype(series) or ptypes.is_bool_dtype(series):
        return False
    return not ptypes.is_datetime64_any_dtype(series)
