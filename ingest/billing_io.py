"""Reading billing files in bounded memory: CSV, CSV.gz and Parquet, chunk by chunk.

Only I/O. The kind of a file comes from its first bytes (gzip magic, `PAR1`), not its
name. CSV text is read through a filter that drops every UTF-8 byte-order mark, also a
stray one that starts a later line (files concatenated with `cat`), so the first field
of that line keeps its quotes. Cells stay text (`dtype=str`): the readers parse money
and time themselves so that every cell that does not parse is reported.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from transforms.errors import IngestError

CHUNK_ROWS = 250_000
BOM = b"\xef\xbb\xbf"
GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"


class BomFilter(io.RawIOBase):
    """A byte stream with every UTF-8 BOM removed, also across read boundaries."""

    def __init__(self, raw: io.BufferedIOBase | gzip.GzipFile) -> None:
        self._raw = raw
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        data = self._next_block(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _next_block(self, size: int) -> bytes:
        while True:
            block = self._raw.read(max(size, 3))
            data = (self._pending + block).replace(BOM, b"")
            if not block:
                self._pending = b""
                return data
            keep = _partial_bom_suffix(data)
            self._pending = data[len(data) - keep :] if keep else b""
            data = data[: len(data) - keep]
            if data:
                return data

    def close(self) -> None:
        self._raw.close()
        super().close()


def _partial_bom_suffix(data: bytes) -> int:
    """How many trailing bytes could be the start of a BOM cut by the read."""
    for length in (2, 1):
        if data.endswith(BOM[:length]):
            return length
    return 0


def sniff_kind(path: Path, uri: str) -> str:
    """'csv', 'csv.gz' or 'parquet'; anything else cannot be read."""
    with path.open("rb") as handle:
        head = handle.read(4096)
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    if head.startswith(GZIP_MAGIC):
        return "csv.gz"
    text = head.replace(BOM, b"")
    if b"\x00" not in text and (b"," in text or not text.strip()):
        return "csv"
    raise IngestError(
        "not a CSV, CSV.gz or Parquet file; remove it from [sources] billing "
        "or export the bill as CSV or Parquet",
        file=uri,
    )


def open_text(path: Path, kind: str) -> io.BufferedReader:
    raw: io.BufferedIOBase | gzip.GzipFile = path.open("rb")
    if kind == "csv.gz":
        raw = gzip.GzipFile(fileobj=raw)
    return io.BufferedReader(BomFilter(raw), buffer_size=1 << 20)


def read_header(path: Path, kind: str, uri: str) -> list[str]:
    """Column names of a file, as written (BOM removed, surrounding space kept)."""
    try:
        if kind == "parquet":
            return list(pq.ParquetFile(path).schema_arrow.names)
        with open_text(path, kind) as stream:
            line = io.TextIOWrapper(stream, encoding="utf-8", newline="").readline()
    except (OSError, EOFError, ValueError, zlib.error) as exc:
        raise IngestError(
            f"cannot read the header: {exc}; check that the file is a CSV, CSV.gz or "
            "Parquet export and download it again if it was cut short",
            file=uri,
        ) from exc
    if not line.strip():
        raise IngestError("the file is empty: no header line", file=uri)
    return next(csv.reader([line]))


def unique_names(header: list[str]) -> list[str]:
    """Header names made unique ('a', 'a' -> 'a', 'a#2'), so duplicates stay visible."""
    seen: dict[str, int] = {}
    names = []
    for name in header:
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return names


def iter_chunks(
    path: Path, kind: str, columns: list[str], uri: str, chunk_rows: int = 0
) -> Iterator[pd.DataFrame]:
    """The wanted columns, `chunk_rows` rows at a time, with a 1-based `_row`."""
    chunk_rows = chunk_rows or CHUNK_ROWS
    reader = _parquet_chunks if kind == "parquet" else _csv_chunks
    first_row = 1
    try:
        for chunk in reader(path, kind, columns, chunk_rows):
            chunk = chunk.reset_index(drop=True)
            chunk["_row"] = pd.RangeIndex(first_row, first_row + len(chunk))
            first_row += len(chunk)
            yield chunk
    except (OSError, EOFError, ValueError, zlib.error, pd.errors.ParserError) as exc:
        raise IngestError(
            f"cannot read past data row {first_row - 1}: {exc}; the file looks cut "
            "short or damaged: download or export it again",
            file=uri,
        ) from exc


def _csv_chunks(
    path: Path, kind: str, columns: list[str], chunk_rows: int
) -> Iterator[pd.DataFrame]:
    header = read_header(path, kind, str(path))
    names = unique_names([name.strip() for name in header])
    wanted = [n for n in names if n in set(columns)]
    with open_text(path, kind) as stream:
        yield from pd.read_csv(
            stream,
            header=0,
            names=names,
            usecols=wanted,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            chunksize=chunk_rows,
            encoding="utf-8",
        )


def _parquet_chunks(
    path: Path, kind: str, columns: list[str], chunk_rows: int
) -> Iterator[pd.DataFrame]:
    schema = pq.ParquetFile(path).schema_arrow
    wanted = [n for n in schema.names if n in set(columns)]
    text = [f.name for f in schema if f.name in wanted and pa.types.is_string(f.type)]
    # Text columns arrive as categoricals: the readers work once per distinct value.
    parquet = pq.ParquetFile(path, read_dictionary=text)
    for batch in parquet.iter_batches(batch_size=chunk_rows, columns=wanted):
        yield batch.to_pandas(maps_as_pydicts="lossy")
