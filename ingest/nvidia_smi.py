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

from transforms.findings import Finding, Severity

SEPARATOR = ", "
TIMESTAMP_FORMAT = "%Y/%m/%d %H:%M:%S.%f"

# A cell is missing when nvidia-smi writes a bracketed notice or a bare N/A.
_PLACEHOLDER = re.compile(r"^\s*(\[[^\]]*\]|N/A|)\s*$")
_UNIT_IN_HEADER = re.compile(r"^(?P<name>.+?)\s*\[(?P<unit>[^\]]+)\]\s*$")
_NUMBER_WITH_UNIT = re.compile(r"^\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?\d+)?)\s*\S*\s*$")

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
    """Parse a `--query-gpu` log (header once or repeated, rows every interval)."""
    header, rows, bad_rows = _split_rows(text)
    names = [clean_name(h) for h in header]
    units = {
        clean_name(h): m.group("unit")
        for h in header
        if (m := _UNIT_IN_HEADER.match(h.strip()))
    }
    raw = pd.DataFrame(rows.values.tolist(), columns=names, index=rows.index, dtype=str)
    frame, placeholders, bad = _typed(raw, units)
    bad_rows = sorted(set(bad_rows) | set(bad))
    stamp = _timestamps(raw["timestamp"], timezone)
    bad_rows = sorted(set(bad_rows) | set(raw.index[stamp.isna()].tolist()))
    frame["timestamp"] = stamp
    frame = frame.loc[frame["timestamp"].notna()].reset_index(drop=True)
    return SmiTable(frame, units, placeholders, bad_rows)


def _split_rows(text: str) -> tuple[list[str], pd.Series, list[int]]:
    """Header fields, data lines by 1-based line number, lines of the wrong width."""
    lines = pd.Series(text.splitlines())
    lines.index = lines.index + 1
    lines = lines[lines.str.strip() != ""]
    if lines.empty:
        return ["timestamp", "uuid"], pd.Series([], dtype=object), []
    header = lines.iloc[0].split(",")
    header = [h.strip() for h in header]
    body = lines[lines.str.strip() != lines.iloc[0].strip()]  # repeated headers
    split = body.str.split(SEPARATOR, regex=False)
    width_ok = split.str.len() == len(header)
    return header, split[width_ok], body.index[~width_ok].tolist()


def _typed(
    raw: pd.DataFrame, units: dict[str, str]
) -> tuple[pd.DataFrame, dict[str, int], list[int]]:
    frame = pd.DataFrame(index=raw.index)
    placeholders: dict[str, int] = {}
    bad: set[int] = set()
    for name in raw.columns:
        cells = raw[name].str.strip()
        missing = cells.str.match(_PLACEHOLDER)
        if missing.any():
            placeholders[name] = int(missing.sum())
        if name in units or name in NUMERIC_FIELDS:
            number = pd.to_numeric(
                cells.str.extract(_NUMBER_WITH_UNIT, expand=False), errors="coerce"
            )
            bad.update(raw.index[number.isna() & ~missing].tolist())
            frame[name] = number.astype("float64")
        else:
            frame[name] = cells.where(~missing, None)
    return frame, placeholders, sorted(bad)


def _timestamps(cells: pd.Series, timezone: str) -> pd.Series:
    local = pd.to_datetime(cells.str.strip(), format=TIMESTAMP_FORMAT, errors="coerce")
    # Clocks set back in autumn repeat an hour: those stamps are read as standard time.
    local = local.dt.tz_localize(
        timezone,
        ambiguous=np.zeros(len(local), dtype=bool),
        nonexistent="shift_forward",
    )
    return local.dt.tz_convert("UTC")


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
