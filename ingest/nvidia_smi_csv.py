"""nvidia-smi CSV log lines to typed columns with Arrow: no Python work per line.

Arrow splits each line at "," (nvidia-smi writes ", "; the cells are trimmed after),
so a file of a million lines is read column by column. The rules are those of the
contract in `nvidia_smi`: placeholders (`[N/A]`, any bracketed notice, bare `N/A`,
blank) are missing; units after a number are dropped; lines of the wrong width are
skipped with their line numbers. Line numbers are worked out (by one pass over the
lines) only when a file has such lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

TIMESTAMP_FORMAT = "%Y/%m/%d %H:%M:%S.%f"
PLACEHOLDER = r"^(\[[^\]]*\]|N/A|)$"  # on trimmed cells
NUMBER = r"^(?P<n>[-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?\d+)?)\s*\S*$"
_FAST_STAMP = r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}\.\d{1,6}$"
_NO_TEXT = pa.scalar(None, pa.string())


@dataclass
class Rows:
    """The data rows of a log: trimmed text cells, one array per header field."""

    cells: list[pa.Array]
    wrong_width: list[int] = field(default_factory=list)  # 1-based line numbers
    lines: np.ndarray | None = None  # line number of each row, when worked out

    def line_numbers(self, text: str, positions: np.ndarray) -> np.ndarray:
        if not len(positions):
            return np.array([], dtype=np.int64)
        if self.lines is None:
            self.lines = _walk(text, len(self.cells)).data_lines(self.keep)
        return self.lines[positions]

    keep: np.ndarray = field(default_factory=lambda: np.array([], dtype=bool))


def read_rows(text: str, header: list[str]) -> Rows:
    """Every line of `len(header)` fields but repeated headers, cells trimmed."""
    width = len(header)
    invalid: list[str] = []
    if not first_line(text):
        return Rows([pa.array([], pa.string()) for _ in header])
    table = _arrow_rows(text, width, invalid)
    if table.num_rows == 0:
        return Rows([pa.array([], pa.string()) for _ in header])
    cells = [pc.utf8_trim_whitespace(c).combine_chunks() for c in table.columns]
    walk = None
    if any(line.strip() for line in invalid):
        walk = _walk(text, width)
        cells = [
            pa.concat_arrays([c, pa.array(extra, pa.string())])
            for c, extra in zip(cells, walk.rescued_cells(), strict=True)
        ]
    repeated = _header_rows(cells, header)
    keep = ~repeated
    rows = Rows([c.filter(pa.array(keep)) for c in cells], keep=keep)
    if walk is not None:
        rows.wrong_width = walk.wrong_width
        rows.lines = walk.data_lines(keep)
    return rows


def _arrow_rows(text: str, width: int, invalid: list[str]) -> pa.Table:
    def skip(row) -> str:  # a pyarrow InvalidRow: counted once all lines are read
        invalid.append(row.text)
        return "skip"

    names = [f"f{i}" for i in range(width)]
    return pcsv.read_csv(
        pa.py_buffer(text.encode("utf-8")),
        read_options=pcsv.ReadOptions(column_names=names),
        parse_options=pcsv.ParseOptions(
            delimiter=",", quote_char=False, invalid_row_handler=skip
        ),
        convert_options=pcsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


def _header_rows(cells: list[pa.Array], header: list[str]) -> np.ndarray:
    same = pc.equal(cells[0], header[0])
    for cell, name in zip(cells[1:], header[1:], strict=True):
        same = pc.and_(same, pc.equal(cell, name))
    return same.to_numpy(zero_copy_only=False).astype(bool)


@dataclass
class _Walk:
    """One pass over the lines, only for files with lines Arrow could not split."""

    parsed: list[int]  # lines Arrow read (", "-free or not), in order
    rescued: list[tuple[int, list[str]]]  # lines whose cells hold "," but split on ", "
    wrong_width: list[int]

    def data_lines(self, keep: np.ndarray) -> np.ndarray:
        lines = np.array(self.parsed + [n for n, _ in self.rescued], dtype=np.int64)
        return lines[keep[: len(lines)]]

    def rescued_cells(self) -> list[list[str]]:
        columns: list[list[str]] = [[] for _ in range(self._width)]
        for _, cells in self.rescued:
            for column, cell in zip(columns, cells, strict=True):
                column.append(cell.strip())
        return columns

    _width: int = 0


def _walk(text: str, width: int) -> _Walk:
    walk = _Walk([], [], [], width)
    for number, line in enumerate(text.splitlines(), start=1):
        if not line:
            continue
        if line.count(",") + 1 == width:
            walk.parsed.append(number)
        elif line.strip() and len(split := line.split(", ")) == width:
            walk.rescued.append((number, split))
        elif line.strip():
            walk.wrong_width.append(number)
    return walk


def first_line(text: str) -> str:
    """The first line that is not blank, without reading past it."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        if text[start:end].strip():
            return text[start:end].rstrip("\r")
        start = end + 1
    return ""


def typed(
    cells: list[pa.Array], names: list[str], numeric: set[str]
) -> tuple[pd.DataFrame, dict[str, int], np.ndarray]:
    """Numbers as float64 (units dropped), text as categoricals, placeholders missing.

    Returns the frame, placeholder counts per field and the positions of rows with
    text in a numeric field.
    """
    columns: dict[str, object] = {}
    placeholders: dict[str, int] = {}
    rows = len(cells[0]) if cells else 0
    bad = np.zeros(rows, dtype=bool)
    for name, cell in zip(names, cells, strict=True):
        missing = placeholders_in(cell)
        count = int(pc.sum(missing).as_py() or 0)
        if count:
            placeholders[name] = count
        if name in numeric:
            number = numbers(cell)
            columns[name] = number
            gap = np.isnan(number) & ~missing.to_numpy(zero_copy_only=False)
            bad |= gap
        elif name != "timestamp":
            columns[name] = categorical(pc.if_else(missing, _NO_TEXT, cell))
    frame = pd.DataFrame(columns, index=pd.RangeIndex(rows), copy=False)
    return frame, placeholders, np.flatnonzero(bad)


def placeholders_in(cell: pa.Array) -> pa.Array:
    """True where a cell is a placeholder; the pattern runs only if one may be."""
    bracket = pc.starts_with(cell, "[")
    maybe = pc.or_(bracket, pc.is_in(cell, pa.array(["", "N/A"])))
    if not pc.any(maybe).as_py():
        return bracket  # all False
    return pc.match_substring_regex(cell, PLACEHOLDER)


def numbers(cell: pa.Array) -> np.ndarray:
    """`45 %`, `433.78 W`, `59` -> float64; anything else NaN."""
    valid = pc.match_substring_regex(cell, NUMBER)
    head = pc.list_element(pc.split_pattern(cell, " ", max_splits=1), 0)
    try:  # the number is the first word: no regex extraction needed
        values = pc.cast(pc.if_else(valid, head, _NO_TEXT), pa.float64())
        return values.to_numpy(zero_copy_only=False).astype("float64")
    except pa.ArrowInvalid:
        pass  # e.g. `45%`: the number is found by the pattern below
    found = pc.struct_field(pc.extract_regex(cell, NUMBER), [0])
    try:
        values = pc.cast(found, pa.float64())
    except pa.ArrowInvalid:  # a form Arrow does not parse: pandas decides
        text = pd.Series(found.to_pandas(), dtype=object)
        return pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64")
    return values.to_numpy(zero_copy_only=False).astype("float64")


def categorical(text: pa.Array) -> pd.Categorical:
    """Arrow text (nulls for missing) as a pandas categorical, through a dictionary."""
    encoded = text.dictionary_encode()
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    categories = pd.Index(encoded.dictionary.to_pylist(), dtype=object)
    return pd.Categorical.from_codes(codes, categories=categories)


def timestamps(cell: pa.Array, timezone: str) -> pd.Series:
    """`2026/07/14 09:00:27.792` in `timezone` -> UTC; anything else NaT."""
    fast = pc.match_substring_regex(cell, _FAST_STAMP)
    if pc.all(fast).as_py() is not False:
        iso = pc.replace_substring(cell, "/", "-")
        try:
            local = pd.Series(pc.cast(iso, pa.timestamp("us")).to_pandas())
            return localize(local, timezone)
        except pa.ArrowInvalid:
            pass  # e.g. a 13th month: pandas marks the cell NaT
    text = pd.Series(cell.to_pandas(), dtype=object)
    local = pd.to_datetime(text, format=TIMESTAMP_FORMAT, errors="coerce")
    return localize(local, timezone)


def localize(local: pd.Series, timezone: str) -> pd.Series:
    """Zone-less local times read in `timezone`, as UTC."""
    # Clocks set back in autumn repeat an hour: those stamps are read as standard time.
    local = local.dt.tz_localize(
        timezone,
        ambiguous=np.zeros(len(local), dtype=bool),
        nonexistent="shift_forward",
    )
    return local.dt.tz_convert("UTC")
