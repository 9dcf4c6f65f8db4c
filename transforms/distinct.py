"""Row-wise work done once per distinct value: millions of rows, a few hundred keys.

Telemetry and billing columns repeat a handful of values (hosts, models, tags) over
millions of rows. `per_distinct` hands `func` a small frame of the distinct key rows
(missing values kept as they are) and spreads its answer back to every row, so a
`map`, a regex or a `fillna` chain costs one pass over the keys, not over the rows.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd


def distinct_codes(
    frame: pd.DataFrame, columns: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """A code per row (equal rows share one, NaN equals NaN) and each code's 1st row."""
    combined = np.zeros(len(frame), dtype=np.int64)
    for column in columns:
        codes, uniques = pd.factorize(frame[column])
        combined = combined * (len(uniques) + 1) + (codes + 1)
    codes, uniques = pd.factorize(combined)
    first = np.full(len(uniques), -1, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(frame) - 1, -1, -1)
    return codes, first


def per_distinct(
    frame: pd.DataFrame | pd.Series,
    func: Callable[[pd.DataFrame], object],
    columns: list[str] | None = None,
) -> pd.Series:
    """`func(distinct rows)` (one value per distinct row, in order) for every row.

    With a Series, `func` gets a Series of its distinct values (NaN included once).
    """
    is_series = isinstance(frame, pd.Series)
    table = frame.to_frame("value") if is_series else frame
    keys = ["value"] if is_series else list(columns or table.columns)
    codes, first = distinct_codes(table, keys)
    distinct = table[keys].iloc[first].reset_index(drop=True)
    for column in keys:  # the functions see plain values, not categories
        if isinstance(distinct[column].dtype, pd.CategoricalDtype):
            distinct[column] = distinct[column].astype(object)
    argument = distinct["value"] if is_series else distinct
    answer = func(argument)
    if isinstance(answer, pd.Series | pd.Index | np.ndarray):
        values = np.asarray(answer)
    else:  # a list: objects as they are (tuples stay tuples)
        values = _objects(list(answer))  # type: ignore[call-overload]  # a list
    return pd.Series(values[codes], index=frame.index, dtype=values.dtype)


def _objects(items: list) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        out[i] = item
    return out
