"""Large FOCUS files rolled up in DuckDB to one row per day before pandas sees them.

A month of hourly charge lines repeats every column but the charge period and the
amounts 24 times a day. For a file of more than `ROLLUP_MIN_LINES` lines, DuckDB groups
the lines that agree on every other wanted column (raw values, `Tags` as its text, NULL
equal to NULL) within one UTC day: `ChargePeriodStart` becomes the group's first start,
`ChargePeriodEnd` its last end, the `*Cost` and `*Quantity` columns are summed, `_row`
is the group's first data row and `x_LineCount` the number of lines it stands for. The
smaller table then goes through the same canonical mapping as line-level chunks.

A day never straddles a month boundary in UTC, so the month cut, restatements and
out-of-period counts come out as for the lines. Files the rollup cannot judge cell by
cell (`roll_up` returns None) are read line by line, so that their row-precise findings
still apply: a cost or timestamp that does not parse, a required cell that is empty,
`Tags` that is not text, or a CSV that does not parse as a plain table.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ingest.billing_common import LINE_COUNT, NULL_TEXTS
from ingest.billing_io import open_text, unique_names
from transforms.schema import BILLING_REQUIRED, Focus

log = logging.getLogger(__name__)

ROLLUP_MIN_LINES = 500_000
DUCKDB_THREADS = 2
DUCKDB_MEMORY_LIMIT = "1GB"
CSV_BLOCK_BYTES = 16 << 20

START, END = str(Focus.ChargePeriodStart), str(Focus.ChargePeriodEnd)
TIMES = (START, END)
NUMBER_TYPES = ("DOUBLE", "FLOAT", "REAL", "BIGINT", "INTEGER", "SMALLINT", "TINYINT")
NESTED = ("MAP(", "STRUCT(", "UNION(")


def has_many_lines(path: Path, kind: str, limit: int | None = None) -> bool:
    """Whether the file holds more than `limit` data lines.

    Parquet says so in its footer. For CSV, the line length of the first block and the
    text size (a gzip member records it in its last 4 bytes) give an estimate; only
    when it lies within a factor of 2 of the limit are the lines counted.
    """
    limit = ROLLUP_MIN_LINES if limit is None else limit
    if kind == "parquet":
        return pq.ParquetFile(path).metadata.num_rows > limit
    estimate = _estimated_lines(path, kind)
    if estimate > 2 * limit or estimate < limit / 2:
        return estimate > 2 * limit
    return _counted_lines(path, kind, limit) > limit


def _estimated_lines(path: Path, kind: str) -> float:
    with open_text(path, kind) as stream:
        head = stream.read(1 << 20)
    if not head:
        return 0.0
    text_bytes = path.stat().st_size
    if kind == "csv.gz":  # ISIZE: the text size modulo 4 GiB
        with path.open("rb") as handle:
            handle.seek(-4, 2)
            text_bytes = int.from_bytes(handle.read(4), "little")
    return max(text_bytes, len(head)) / len(head) * head.count(b"\n")


def _counted_lines(path: Path, kind: str, limit: int) -> int:
    """Newlines up to just past `limit` data lines (the header line excluded)."""
    newlines = 0
    with open_text(path, kind) as stream:
        while (block := stream.read(1 << 20)) and newlines <= limit + 1:
            newlines += block.count(b"\n")
    return newlines - 1


def is_summed(column: str) -> bool:
    """Amounts and quantities add up over a day; prices and everything else group."""
    return not column.startswith("x_") and column.endswith(("Cost", "Quantity"))


def roll_up(
    path: Path, kind: str, header: list[str], wanted: list[str], uri: str
) -> pa.Table | None:
    """One row per day and distinct other columns, or None: read the file by lines.

    `header` is the file's column names, stripped (only CSV needs it).
    """
    with tempfile.TemporaryDirectory(prefix="finops-rollup-") as spill:
        con = _connect(spill)
        try:
            return _roll_up(con, path, kind, header, wanted)
        except (duckdb.Error, pa.ArrowException) as exc:
            log.info("%s: not rolled up (%s); reading it line by line", uri, exc)
            return None
        finally:
            con.close()


def _connect(spill: str) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.sql(f"SET threads = {DUCKDB_THREADS}")
    con.sql(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
    con.sql("SET preserve_insertion_order = false")
    con.sql("SET enable_progress_bar = false")
    con.sql("SET TimeZone = 'UTC'")
    con.sql(f"SET temp_directory = '{_quote(spill)}'")
    return con


def _roll_up(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    kind: str,
    header: list[str],
    wanted: list[str],
) -> pa.Table | None:
    if kind == "parquet":
        con.sql(
            "CREATE VIEW src AS SELECT *, file_row_number + 1 AS _row FROM "
            f"read_parquet('{_quote(str(path))}', file_row_number = true)"
        )
    else:
        con.register("src", _csv_batches(path, kind, header, wanted))
    types = {row[0]: str(row[1]) for row in con.sql("DESCRIBE src").fetchall()}
    sql = rollup_sql({c: types[c] for c in wanted if c in types})
    if sql is None:
        return None
    con.sql(f"CREATE TEMP TABLE rolled AS {sql}")
    [(problems,)] = con.sql("SELECT coalesce(sum(_problems), 0) FROM rolled").fetchall()
    if problems:
        return None
    return con.sql(
        "SELECT * EXCLUDE (_problems) FROM rolled ORDER BY _row"
    ).to_arrow_table()


def rollup_sql(types: dict[str, str]) -> str | None:
    """The GROUP BY query over `src` for columns of these DuckDB types, or None."""
    nested = [t for t in types.values() if t.startswith(NESTED) or t.endswith("]")]
    if START not in types or nested:
        return None
    keys = [c for c in types if c not in TIMES and not is_summed(c)]
    values = {c: _typed(c, types[c]) for c in types if c in TIMES or is_summed(c)}
    if None in values.values():
        return None
    select = [_ident(c) for c in keys]
    select.append(f"min({values[START]}) AS {_ident(START)}")
    if END in values:
        select.append(f"max({values[END]}) AS {_ident(END)}")
    select += [f"sum({values[c]}) AS {_ident(c)}" for c in values if c not in TIMES]
    select.append(f"count(*) AS {LINE_COUNT}")
    select.append("min(_row) AS _row")
    select.append(f"count_if({_problem(types)}) AS _problems")
    groups = [_ident(c) for c in keys] + [f"date_trunc('day', {values[START]})"]
    return f"SELECT {', '.join(select)} FROM src GROUP BY {', '.join(groups)}"


def _typed(column: str, duck_type: str) -> str | None:
    """The column as DOUBLE or TIMESTAMPTZ; text through TRY_CAST; None: cannot."""
    name = _ident(column)
    target = "TIMESTAMPTZ" if column in TIMES else "DOUBLE"
    if duck_type == "VARCHAR":
        return f"TRY_CAST(trim({name}) AS {target})"
    if target == "DOUBLE" and (duck_type in NUMBER_TYPES or duck_type[:7] == "DECIMAL"):
        return f"CAST({name} AS DOUBLE)"
    if target == "TIMESTAMPTZ" and duck_type.startswith(("TIMESTAMP", "DATE")):
        return f"CAST({name} AS TIMESTAMPTZ)"
    return None


def _problem(types: dict[str, str]) -> str:
    """A line the line-level reader would report cell by cell (then: no rollup)."""
    checks = []
    for column, duck_type in types.items():
        if column in TIMES or is_summed(column):
            typed = _typed(column, duck_type)
            checks.append(f"({typed} IS NULL AND NOT {_null(column, duck_type)})")
    for column in BILLING_REQUIRED:
        if str(column) in types:
            checks.append(_null(str(column), types[str(column)]))
    return " OR ".join(checks)


def _null(column: str, duck_type: str) -> str:
    """The reader's idea of an empty cell: NULL, or the text '', 'NULL', 'null'."""
    name = _ident(column)
    if duck_type != "VARCHAR":
        return f"({name} IS NULL)"
    texts = ", ".join(f"'{t}'" for t in NULL_TEXTS)
    return f"({name} IS NULL OR trim({name}) IN ({texts}))"


def _csv_batches(
    path: Path, kind: str, header: list[str], wanted: list[str]
) -> pa.RecordBatchReader:
    """The wanted columns as text, BOMs dropped as the line reader does, with `_row`."""
    names = unique_names(header)
    columns = [n for n in names if n in set(wanted)]
    reader = pacsv.open_csv(
        open_text(path, kind),
        read_options=pacsv.ReadOptions(
            column_names=names, skip_rows=1, block_size=CSV_BLOCK_BYTES
        ),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            include_columns=columns,
            column_types={n: pa.string() for n in columns},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    schema = reader.schema.append(pa.field("_row", pa.int64()))
    return pa.RecordBatchReader.from_batches(schema, _numbered(reader))


def _numbered(reader: pacsv.CSVStreamingReader) -> Iterator[pa.RecordBatch]:
    first = 1
    for batch in reader:
        rows = pa.array(range(first, first + batch.num_rows), pa.int64())
        first += batch.num_rows
        yield pa.RecordBatch.from_arrays(
            [*batch.columns, rows], names=[*batch.schema.names, "_row"]
        )


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote(text: str) -> str:
    return text.replace("'", "''")
