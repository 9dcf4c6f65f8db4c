"""nvidia-smi CSV logs: `--query-gpu=... --format=csv[,noheader][,nounits] [-l N]`.

Contract (see README_telemetry.md): one row per GPU per logged timestamp. Fields are
separated by ", ". Units sit in the header (`power.draw [W]`) and, without `nounits`, in
the cells (`433.78 W`); they are stripped only from numeric fields. Any bracketed cell
(`[N/A]`, `[Not Supported]`, `[Unknown Error]`, ...) and a bare `N/A` is missing (NaN),
never 0, and leaves the other fields of the row alone. Strings such as `driver_version`
and `pci.bus_id` stay strings. Timestamps (`2026/07/14 09:00:27.792`) carry no zone:
they are read in `[telemetry] timezone` and converted to UTC.

`--query-compute-apps` files hold per-process GPU memory; `parse_compute_apps` reads
them into their own frame (they are not GPU samples).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ingest import nvidia_smi_csv as smi_csv
from transforms.distinct import distinct_codes
from transforms.findings import Finding, Severity

SEPARATOR = ", "
TIMESTAMP_FORMAT = smi_csv.TIMESTAMP_FORMAT

_UNIT_IN_HEADER = re.compile(r"^(?P<name>.+?)\s*\[(?P<unit>[^\]]+)\]\s*$")

# Fields that are numbers although their header carries no unit.
NUMERIC_FIELDS = frozenset(
    {
        "count",
        "index",
        "temperature.gpu",
        "temperature.memory",
        "temperature.gpu.tlimit",
        "pcie.link.gen.current",
        "pcie.link.gen.max",
        "pcie.link.width.current",
        "pcie.link.width.max",
        "encoder.stats.sessionCount",
        "encoder.stats.averageFps",
        "encoder.stats.averageLatency",
        "accounting.buffer_size",
        "total_energy_consumption",
    }
)

# The fields `to_samples` reads (a Parquet file is read for these only).
SAMPLE_FIELDS = frozenset(
    {
        "timestamp",
        "uuid",
        "pci.bus_id",
        "index",
        "name",
        "hostname",
        "utilization.gpu",
        "memory.used",
        "power.draw",
        "total_energy_consumption",
    }
)

# nvidia-smi field -> canonical column (DESIGN §3). Utilization is a percent here.
CANONICAL = {
    "uuid": "gpu_uuid",
    "name": "gpu_model",
    "utilization.gpu": "utilization",
    "memory.used": "memory_used_mib",
    "power.draw": "power_watts",
}


@dataclass
class SmiTable:
    """One nvidia-smi CSV file, parsed: numeric fields as floats, the rest as text."""

    frame: (
        pd.DataFrame
    )  # one column per field (units dropped from names), timestamp UTC
    units: dict[str, str]  # field -> unit from the header ("W", "MiB", "%")
    placeholders: dict[str, int]  # field -> cells that were placeholders
    bad_rows: list[int] = field(default_factory=list)  # 1-based line numbers


def is_query_gpu_header(line: str) -> bool:
    names = [clean_name(n) for n in line.split(",")]
    return names[0] == "timestamp" and not is_compute_apps_header(line)


def is_compute_apps_header(line: str) -> bool:
    names = [clean_name(n) for n in line.split(",")]
    return "pid" in names and "used_gpu_memory" in names


def clean_name(header_field: str) -> str:
    """`power.draw [W]` -> `power.draw`."""
    match = _UNIT_IN_HEADER.match(header_field.strip())
    return match.group("name") if match else header_field.strip()


def parse_query_gpu(text: str, *, timezone: str = "UTC") -> SmiTable:
    """Parse a `--query-gpu` log (header once or repeated, rows every interval).

    Arrow splits the lines and converts the cells column by column; text fields come
    back as categoricals (a small code per row), numbers as float64.
    """
    header = _header(text)
    names = [clean_name(h) for h in header]
    units = {
        clean_name(h): m.group("unit")
        for h in header
        if (m := _UNIT_IN_HEADER.match(h.strip()))
    }
    body = smi_csv.read_rows(text, header)
    numeric = set(units) | NUMERIC_FIELDS
    frame, placeholders, bad = smi_csv.typed(body.cells, names, numeric)
    stamp = smi_csv.timestamps(body.cells[names.index("timestamp")], timezone)
    dated = stamp.notna().to_numpy()
    positions = np.union1d(bad, np.flatnonzero(~dated))
    lines = body.line_numbers(text, positions).tolist()
    frame["timestamp"] = stamp.array
    if not dated.all():
        frame = frame.loc[dated].reset_index(drop=True)
    return SmiTable(frame, units, placeholders, sorted({*body.wrong_width, *lines}))


def _header(text: str) -> list[str]:
    line = smi_csv.first_line(text)
    if line:
        return [h.strip() for h in line.split(",")]
    return ["timestamp", "uuid"]


def to_samples(table: SmiTable) -> pd.DataFrame:
    """The canonical GPU columns that nvidia-smi can fill; the caller adds host etc."""
    frame = table.frame
    samples = pd.DataFrame({"timestamp": frame["timestamp"]})
    for field_name, column in CANONICAL.items():
        if field_name in frame:
            samples[column] = frame[field_name]
        else:
            samples[column] = np.nan if column != "gpu_uuid" else ""
    samples["gpu_uuid"] = _gpu_identity(frame)
    samples["utilization"] = samples["utilization"].astype("float64") / 100.0
    samples["energy_joules"] = _energy_joules(frame)
    samples["hostname_field"] = frame.get("hostname", pd.Series(index=frame.index))
    return samples


def _gpu_identity(frame: pd.DataFrame) -> pd.Series:
    """The UUID, else the PCI bus id, else the index: logs without uuid still work."""
    uuid = frame.get("uuid")
    if (
        uuid is not None
        and isinstance(uuid.dtype, pd.CategoricalDtype)
        and not uuid.isna().any()
        and "" not in set(uuid.cat.categories)
    ):
        return uuid  # every row has its UUID: the categorical as it is
    keys = [c for c in ("uuid", "pci.bus_id", "index") if c in frame]
    if not keys or frame.empty:
        return _gpu_identity_rows(frame)
    codes, first = distinct_codes(frame, keys)
    distinct = frame[keys].iloc[first].reset_index(drop=True)
    for key in keys:  # plain values: the rules below fill and join text
        if isinstance(distinct[key].dtype, pd.CategoricalDtype):
            distinct[key] = distinct[key].astype(object)
    names = np.asarray(_gpu_identity_rows(distinct), dtype=object)
    name_codes, categories = pd.factorize(names)
    return pd.Series(
        pd.Categorical.from_codes(name_codes[codes], categories=categories),
        index=frame.index,
    )


def _gpu_identity_rows(frame: pd.DataFrame) -> pd.Series:
    empty = pd.Series("", index=frame.index, dtype=object)
    uuid = frame.get("uuid", empty).fillna("")
    bus = ("bus:" + frame.get("pci.bus_id", empty).fillna("")).where(
        frame.get("pci.bus_id", empty).fillna("") != "", ""
    )
    index = frame.get("index", pd.Series(np.nan, index=frame.index))
    by_index = ("index:" + index.astype("Int64").astype(str)).where(index.notna(), "")
    return uuid.where(uuid != "", bus.where(bus != "", by_index)).astype(object)


def _energy_joules(frame: pd.DataFrame) -> pd.Series:
    # Newer drivers offer total_energy_consumption in mJ; older logs have no counter.
    if "total_energy_consumption" in frame:
        return frame["total_energy_consumption"].astype("float64") / 1000.0
    return pd.Series(np.nan, index=frame.index, dtype="float64")


COMPUTE_APPS_COLUMNS = (
    "timestamp",
    "gpu_uuid",
    "gpu_bus_id",
    "pid",
    "process_name",
    "used_memory_mib",
)


def parse_compute_apps(text: str, *, timezone: str = "UTC") -> pd.DataFrame:
    """Per-process GPU memory from `--query-compute-apps=...` (one row per process)."""
    table = parse_query_gpu(text, timezone=timezone)
    frame = table.frame
    if frame.empty:
        return pd.DataFrame(columns=list(COMPUTE_APPS_COLUMNS))
    return pd.DataFrame(
        {
            "timestamp": frame["timestamp"],
            "gpu_uuid": frame.get("gpu_uuid"),
            "gpu_bus_id": frame.get("gpu_bus_id"),
            "pid": pd.to_numeric(frame.get("pid"), errors="coerce").astype("Int64"),
            "process_name": frame.get("process_name"),
            "used_memory_mib": frame.get("used_gpu_memory"),
        }
    )


def findings_for(table: SmiTable, uri: str) -> list[Finding]:
    """Rows that did not parse, as one warning naming their line numbers."""
    if not table.bad_rows:
        return []
    return [
        Finding(
            Severity.WARNING,
            "telemetry",
            "unparseable_rows",
            f"{len(table.bad_rows)} nvidia-smi lines could not be read (wrong number "
            "of fields, a timestamp not like 2026/07/14 09:00:27.792, or text in a "
            "numeric field); they were skipped: check the logging command",
            file=uri,
            count=len(table.bad_rows),
            examples=list(table.bad_rows[:10]),
        )
    ]


def parse_query_gpu_parquet(
    data: bytes, *, timezone: str = "UTC", fields: frozenset[str] | None = None
) -> SmiTable:
    """`--query-gpu` fields stored as Parquet columns (a collector's per-host file).

    Column names are the nvidia-smi field names, with or without the unit in brackets
    (`power.draw [W]`); numbers are typed, nulls are placeholders; a timestamp column
    without a zone is read in `timezone`, like the CSV log. With `fields`, only those
    fields are read. Text columns are read as Arrow dictionaries and become pandas
    categoricals without passing through Python strings.
    """
    schema = pq.read_schema(pa.BufferReader(data))
    names = [str(n) for n in schema.names]
    if fields is not None:
        names = [n for n in names if clean_name(n) in fields]
    text = [f.name for f in schema if f.name in names and _is_text(f.type)]
    table = pq.read_table(pa.BufferReader(data), columns=names, read_dictionary=text)
    units = {
        clean_name(n): m.group("unit")
        for n in names
        if (m := _UNIT_IN_HEADER.match(n.strip()))
    }
    columns: dict[str, object] = {}
    placeholders: dict[str, int] = {}
    for raw_name, column in zip(names, table.columns, strict=True):
        name = clean_name(raw_name)
        if column.null_count:
            placeholders[name] = column.null_count
        columns[name] = _parquet_column(name, column, timezone)
    frame = pd.DataFrame(columns, index=pd.RangeIndex(table.num_rows), copy=False)
    if "timestamp" not in frame:
        return SmiTable(frame, units, placeholders, [])
    dated = frame["timestamp"].notna().to_numpy()
    bad_rows = (np.flatnonzero(~dated) + 1).tolist()
    if not dated.all():
        frame = frame.loc[dated].reset_index(drop=True)
    return SmiTable(frame, units, placeholders, bad_rows)


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _parquet_column(name: str, column: pa.ChunkedArray, timezone: str) -> object:
    if name == "timestamp":
        return _parquet_timestamps(column, timezone).array
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        return column.to_numpy().astype("float64")
    if pa.types.is_dictionary(column.type):
        return pd.Categorical(column.to_pandas())
    return column.to_pandas().astype(object)


def _parquet_timestamps(column: pa.ChunkedArray, timezone: str) -> pd.Series:
    if pa.types.is_timestamp(column.type):
        stamps = pd.Series(column.to_pandas())
        if column.type.tz is not None:
            return stamps.dt.tz_convert("UTC")
        return smi_csv.localize(stamps, timezone)
    text = pd.Series(column.to_pandas(), dtype=object).astype(str).str.strip()
    local = pd.to_datetime(text, format=TIMESTAMP_FORMAT, errors="coerce")
    return smi_csv.localize(local, timezone)
