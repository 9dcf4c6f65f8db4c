"""GPU telemetry: every configured file or folder read into the canonical GPU frame.

The entry point of `[sources] telemetry`. It picks a reader per file by name and
content (nvidia-smi CSV logs, Prometheus text scrapes, Prometheus query_range JSON,
nvidia_gpu_exporter `.metrics`), names each sample's host by the DESIGN §4 rule, keeps a
GPU seen by two sources over the same time from the preferred source only (DCGM first),
and lists what it noticed as findings. It keeps every sample read: the GPU transform
clips intervals to the month. The data contract is in README_telemetry.md.
"""

from __future__ import annotations

import fnmatch
import gzip
import logging
import re
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ingest import dcgm, nvidia_smi, nvidia_smi_csv, telemetry_units
from ingest.config import TelemetryConfig
from ingest.storage import (
    InputRecord,
    SourceObject,
    list_sources,
    read_bytes,
    sha256_of,
)
from transforms.distinct import per_distinct
from transforms.errors import IngestError
from transforms.findings import Finding, Severity
from transforms.schema import GPU_COLUMNS

log = logging.getLogger(__name__)

SUFFIXES = (".csv", ".txt", ".metrics", ".prom", ".json", ".log", ".parquet")
# Preferred first: a GPU seen by two sources at once is kept from the earlier one.
SOURCE_PRIORITY = ("dcgm", "nvidia_gpu_exporter", "nvidia-smi")
COUNTED_COLUMNS = ("utilization", "memory_used_mib", "power_watts")
LABEL_COLUMNS = tuple(f"label_{name}" for name in dcgm.HOST_LABELS)

PARQUET_MAGIC = b"PAR1"
_ROTATION = re.compile(r"\.\d+$")
_DATE_NAME = re.compile(
    r"^\d{4}-?\d{2}-?\d{2}([T_ -]?\d{2}[:-]?\d{2}([:-]?\d{2})?Z?)?$"
)
_ISO_IN_NAME = re.compile(
    r"(?P<date>\d{4}-?\d{2}-?\d{2})[T_ ](?P<h>\d{2})[:-]?(?P<m>\d{2})"
    r"(?:[:-]?(?P<s>\d{2}))?(?P<zone>Z|[+-]\d{2}:?\d{2})?"
)


@dataclass
class TelemetryLoad:
    frame: pd.DataFrame  # columns exactly GPU_COLUMNS; every sample read
    inputs: list[InputRecord]
    findings: list[Finding]
    rows: int = 0  # samples read (after the source dedupe)


@dataclass
class _FileResult:
    samples: pd.DataFrame | None  # None: not a telemetry file
    format: str
    findings: list[Finding]


def read_telemetry(
    entries: list[str],
    month: str,
    *,
    telemetry: TelemetryConfig,
    endpoint_url: str = "",
) -> TelemetryLoad:
    """Read GPU samples from files, folders or s3:// prefixes into one frame."""
    frames: list[pd.DataFrame] = []
    load = read_telemetry_chunks(
        entries,
        month,
        telemetry=telemetry,
        endpoint_url=endpoint_url,
        on_chunk=frames.append,
        chunk_rows=sys.maxsize,
    )
    frame = frames[0] if len(frames) == 1 else _canonical(frames)
    return TelemetryLoad(frame, load.inputs, load.findings, load.rows)


def read_telemetry_chunks(
    entries: list[str],
    month: str,
    *,
    telemetry: TelemetryConfig,
    endpoint_url: str = "",
    on_chunk: Callable[[pd.DataFrame], None],
    chunk_rows: int = 4_000_000,
) -> TelemetryLoad:
    """Read GPU samples and hand them to `on_chunk` in series-complete chunks.

    Every sample of a GPU (host, gpu_uuid) is in exactly one chunk. Files are read in
    units (see `telemetry_units`); units are joined until a chunk holds `chunk_rows`
    samples. The returned load keeps no samples: its frame is empty, `rows` counts
    the samples handed over, `findings` are those of the whole read.
    """
    objects = [
        obj
        for entry in entries
        for obj in list_sources(entry, endpoint_url=endpoint_url)
        if is_telemetry_name(obj.name)
    ]
    units = telemetry_units.plan(
        objects, telemetry, endpoint_url=endpoint_url, host_of=host_from_file
    )
    reader = _ChunkReader(month, telemetry, endpoint_url, on_chunk, chunk_rows)
    for unit in units:
        reader.add(_read_unit(unit, reader))
    reader.flush()
    log.info(
        "read %s GPU samples of %s GPUs from %s telemetry files in %s chunks",
        f"{reader.rows:,}",
        f"{reader.gpus:,}",
        len(reader.inputs),
        reader.chunks,
    )
    return TelemetryLoad(empty_frame(), reader.inputs, reader.findings(), reader.rows)


class _ChunkReader:
    """Buffers units' frames and hands them on; gathers inputs and findings."""

    def __init__(
        self,
        month: str,
        telemetry: TelemetryConfig,
        endpoint_url: str,
        on_chunk: Callable[[pd.DataFrame], None],
        chunk_rows: int,
    ) -> None:
        self.month, self.telemetry, self.endpoint_url = month, telemetry, endpoint_url
        self.on_chunk, self.chunk_rows = on_chunk, chunk_rows
        self.inputs: list[InputRecord] = []
        self.file_findings: list[Finding] = []
        self.overlap: list[Finding] = []
        self.placeholders: list[Finding] = []
        self.outside = 0
        self.rows = self.gpus = self.chunks = 0
        self.buffer: list[pd.DataFrame] = []
        self.buffered = 0

    def add(self, frame: pd.DataFrame) -> None:
        if frame.empty:
            return
        self.placeholders += _missing_value_findings(frame)
        self.outside += _outside_month(frame, self.month)
        self.gpus += _gpu_count(frame)
        if len(frame) >= self.chunk_rows:
            self.flush()
        self.buffer.append(frame)
        self.buffered += len(frame)
        if self.buffered >= self.chunk_rows:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        chunk = self.buffer[0] if len(self.buffer) == 1 else _canonical(self.buffer)
        self.buffer, self.buffered = [], 0
        self.rows += len(chunk)
        self.chunks += 1
        self.on_chunk(chunk)

    def findings(self) -> list[Finding]:
        month = _month_finding(self.outside, self.month)
        return self.file_findings + self.overlap + self.placeholders + month


def _read_unit(unit: list[SourceObject], reader: _ChunkReader) -> pd.DataFrame:
    """One unit's files as one canonical frame, after the source dedupe."""
    frames = []
    for obj in unit:
        data = read_bytes(obj.uri, endpoint_url=reader.endpoint_url)
        result = _read_one(obj.uri, data, reader.telemetry)
        reader.file_findings.extend(result.findings)
        rows = 0 if result.samples is None else len(result.samples)
        record = InputRecord(obj.uri, result.format, sha256_of(data), rows, len(data))
        reader.inputs.append(record)
        del data
        if result.samples is not None and rows:
            frames.append(_compact(result.samples))
    frame, overlap = dedupe_sources(_canonical(frames))
    reader.overlap += overlap
    return frame


def is_telemetry_name(name: str) -> bool:
    """`gpu-a1.csv.gz`, `nvidia-smi.log.1.gz`, `scrape.prom`: yes; `LICENSE`: no."""
    base = name[:-3] if name.endswith(".gz") else name
    base = _ROTATION.sub("", base)
    return base.lower().endswith(SUFFIXES)


def _read_one(uri: str, data: bytes, telemetry: TelemetryConfig) -> _FileResult:
    try:
        if data.startswith(PARQUET_MAGIC):
            return _smi_parquet(uri, data, telemetry)
        text = _text(uri, data)
        return _dispatch(uri, text, telemetry)
    except (ValueError, OSError, EOFError, zlib.error) as exc:
        raise IngestError(
            f"cannot read GPU telemetry: {exc}; expected an nvidia-smi CSV log, a "
            "Prometheus scrape or a query_range JSON export",
            file=uri,
        ) from exc


def _text(uri: str, data: bytes) -> str:
    if uri.endswith(".gz"):
        data = gzip.decompress(data)
    return data.decode("utf-8", errors="replace").lstrip("\ufeff")


def _dispatch(uri: str, text: str, telemetry: TelemetryConfig) -> _FileResult:
    first = nvidia_smi_csv.first_line(text)
    if nvidia_smi.is_compute_apps_header(first):
        return _compute_apps(uri, text, telemetry)
    if nvidia_smi.is_query_gpu_header(first):
        return _smi(uri, text, telemetry)
    if dcgm.is_query_range(text):
        return _prometheus(uri, dcgm.parse_query_range(text), telemetry)
    if dcgm.is_exposition(text):
        return _prometheus(uri, dcgm.parse_exposition(text), telemetry)
    if dcgm.is_counter_list(text):
        note = "a dcgm-exporter field list (configuration, not samples); skipped"
        return _FileResult(None, "dcgm-counters", [_info(uri, "not_samples", note)])
    message = (
        "not a telemetry format this reader knows (nvidia-smi --format=csv, "
        "Prometheus text or query_range JSON); skipped: remove it from "
        "[sources] telemetry or convert it"
    )
    return _FileResult(
        None, "unknown", [_warning(uri, "unknown_format", message, count=1)]
    )


def _smi(uri: str, text: str, telemetry: TelemetryConfig) -> _FileResult:
    table = nvidia_smi.parse_query_gpu(text, timezone=telemetry.timezone)
    return _smi_table(uri, table, telemetry)


def _smi_parquet(uri: str, data: bytes, telemetry: TelemetryConfig) -> _FileResult:
    """nvidia-smi `--query-gpu` fields as Parquet columns (one file per host)."""
    table = nvidia_smi.parse_query_gpu_parquet(
        data, timezone=telemetry.timezone, fields=nvidia_smi.SAMPLE_FIELDS
    )
    if "timestamp" not in table.frame:
        message = (
            "a Parquet file without a `timestamp` column is not an nvidia-smi "
            "--query-gpu table; skipped: remove it from [sources] telemetry"
        )
        return _FileResult(
            None, "unknown", [_warning(uri, "unknown_format", message, count=1)]
        )
    return _smi_table(uri, table, telemetry)


def _smi_table(
    uri: str, table: nvidia_smi.SmiTable, telemetry: TelemetryConfig
) -> _FileResult:
    samples = nvidia_smi.to_samples(table)
    hostname = samples.pop("hostname_field")
    if hostname.isna().all():  # the host comes from the file: worked out once
        samples["host"] = _constant(host_name(uri, {}, telemetry), len(samples))
        samples["source_file"] = _constant(uri, len(samples))
    else:
        labels = {"label_hostname": hostname.astype(object).fillna("")}
        samples = _with_hosts(samples.assign(**labels), uri, telemetry)
    samples["source_format"] = _constant("nvidia-smi", len(samples))
    return _FileResult(samples, "nvidia-smi", nvidia_smi.findings_for(table, uri))


def _constant(text: str, rows: int) -> pd.Categorical:
    """`text` on every row, coded as `as_text_category` codes it ("" a category)."""
    categories = sorted({"", text})
    codes = np.full(rows, categories.index(text), dtype=np.int8)
    return pd.Categorical.from_codes(codes, categories=categories)


def _compute_apps(uri: str, text: str, telemetry: TelemetryConfig) -> _FileResult:
    apps = nvidia_smi.parse_compute_apps(text, timezone=telemetry.timezone)
    note = (
        f"nvidia-smi --query-compute-apps file: {len(apps)} processes with their "
        "GPU memory; per-process rows are not GPU samples"
    )
    return _FileResult(None, "nvidia-smi-compute-apps", [_info(uri, "apps", note)])


def _prometheus(
    uri: str, parsed: dcgm.ParsedMetrics, telemetry: TelemetryConfig
) -> _FileResult:
    findings = []
    if parsed.bad_lines:
        findings.append(_bad_lines(uri, parsed.bad_lines))
    default = scrape_time(uri)
    samples = dcgm.to_samples(parsed, default_seconds=default)
    undated = samples["timestamp"].isna()
    if undated.any():
        message = (
            "a scrape without timestamps and without a time in its file name "
            "(e.g. dcgm-2026-10-03T12:00:00Z.prom); skipped: rename the file"
        )
        findings.append(_warning(uri, "undated", message, count=int(undated.sum())))
        samples = samples[~undated]
    fmt = dcgm.source_format(parsed)
    samples = _with_hosts(samples.assign(source_format=fmt), uri, telemetry)
    return _FileResult(samples, fmt, findings)


def scrape_time(uri: str) -> float:
    """Epoch seconds: an ISO time in the file name, else the file's mtime."""
    name = uri.rsplit("/", 1)[-1]
    match = _ISO_IN_NAME.search(name)
    if match:
        date = match.group("date").replace("-", "")
        zone = (match.group("zone") or "Z").replace("Z", "+0000").replace(":", "")
        clock = f"{match.group('h')}{match.group('m')}{match.group('s') or '00'}"
        stamp = datetime.strptime(f"{date}{clock}{zone}", "%Y%m%d%H%M%S%z")
        return stamp.timestamp()
    if uri.startswith("s3://"):
        return np.nan  # object listings carry no modification time here
    return Path(uri).stat().st_mtime


# --- host names (DESIGN §4) ---


def _with_hosts(
    samples: pd.DataFrame, uri: str, telemetry: TelemetryConfig
) -> pd.DataFrame:
    for column in LABEL_COLUMNS:
        if column not in samples:
            samples[column] = ""

    def names(combos: pd.DataFrame) -> list[str]:
        labels = combos.fillna("").astype(str)
        return [
            host_name(uri, dict(zip(LABEL_COLUMNS, row, strict=False)), telemetry)
            for row in labels.itertuples(index=False)
        ]

    host = per_distinct(samples, names, list(LABEL_COLUMNS)).to_numpy()
    samples = samples.drop(columns=list(LABEL_COLUMNS))
    samples["host"] = host
    samples["source_file"] = uri
    return samples


def host_name(uri: str, labels: dict[str, str], telemetry: TelemetryConfig) -> str:
    """[telemetry.hosts] by file glob or label value, else labels, else the file."""
    for pattern, host in telemetry.hosts.items():
        if _file_matches(uri, pattern):
            return host
    values = [labels.get(f"label_{name}", "") for name in dcgm.HOST_LABELS]
    for value in values:
        for candidate in (value, _without_port(value)):
            if candidate and candidate in telemetry.hosts:
                return telemetry.hosts[candidate]
    for name, value in zip(dcgm.HOST_LABELS, values, strict=False):
        if value:
            return _without_port(value) if name == "instance" else value
    return host_from_file(uri)


def _file_matches(uri: str, pattern: str) -> bool:
    pattern = pattern.lstrip("./")
    return fnmatch.fnmatch(uri, pattern) or fnmatch.fnmatch(uri, f"*/{pattern}")


def _without_port(value: str) -> str:
    head, sep, tail = value.rpartition(":")
    if sep and tail.isdigit() and (head.count(":") == 0 or head.endswith("]")):
        return head.strip("[]")
    return value


def host_from_file(uri: str) -> str:
    """`gpu-a1.csv.gz` -> `gpu-a1`; `node7/nvidia-smi.log.1.gz` -> `node7`."""
    parts = uri.rstrip("/").split("/")
    base = strip_suffixes(parts[-1])
    generic = base.lower().startswith("nvidia-smi") or _DATE_NAME.match(base)
    if generic and len(parts) > 1 and parts[-2] not in ("", "s3:"):
        return parts[-2]
    return base


def strip_suffixes(name: str) -> str:
    while True:
        shorter = name[:-3] if name.endswith(".gz") else _ROTATION.sub("", name)
        lower = shorter.lower()
        for suffix in SUFFIXES:
            if lower.endswith(suffix):
                shorter = shorter[: -len(suffix)]
                break
        if shorter == name or not shorter:
            return name
        name = shorter


# --- the frame and what it tells ---


def _canonical(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """One frame of every file's samples, built column by column with numpy: text
    columns are joined as categoricals, so millions of samples never become Python
    strings, and no column is copied twice."""
    if not frames:
        return empty_frame()
    if len(frames) == 1:
        return frames[0]
    columns: dict[str, object] = {}
    for column in GPU_COLUMNS:
        if column in _TEXT:
            columns[column] = _joined_categories([f[column] for f in frames])
        elif column == "timestamp":
            stamps = [pd.DatetimeIndex(f[column]).asi8 for f in frames]
            joined = np.concatenate(stamps).view("datetime64[ns]")
            columns[column] = pd.DatetimeIndex(joined, tz="UTC")
        else:
            columns[column] = np.concatenate([f[column].to_numpy() for f in frames])
    return pd.DataFrame(columns, copy=False)


def _joined_categories(parts: list[pd.Series]) -> pd.Categorical:
    """Categoricals joined: categories in order of first appearance, codes remapped."""
    every = np.concatenate([p.cat.categories.to_numpy(dtype=object) for p in parts])
    categories = pd.Index(every, dtype=object).unique()
    kind = _code_type(len(categories))
    codes = []
    for part in parts:
        mapping = categories.get_indexer(part.cat.categories).astype(kind)
        part_codes = part.cat.codes.to_numpy()
        if (mapping == np.arange(len(mapping))).all():
            codes.append(part_codes)  # the same categories first: codes as they are
        else:
            codes.append(mapping[part_codes])
    return pd.Categorical.from_codes(
        np.concatenate(codes).astype(kind, copy=False),
        categories=categories,
        validate=False,
    )


def _compact(samples: pd.DataFrame) -> pd.DataFrame:
    """One file's samples with every canonical column; text as categoricals."""
    out: dict[str, object] = {}  # arrays, not Series: the index is renumbered
    empty = _constant("", len(samples))  # one array for every column not filled
    for column in GPU_COLUMNS:
        if column in _NUMERIC:
            values = samples.get(column, np.nan)
            number = pd.Series(values, index=samples.index, dtype="float64")
            out[column] = number.to_numpy()
        elif column == "timestamp":
            stamps = pd.to_datetime(samples[column], utc=True)
            out[column] = pd.DatetimeIndex(stamps).as_unit("ns")
        else:
            values = samples.get(column, None)
            if values is None:
                out[column] = empty
            elif _is_text_category(values):
                out[column] = values.array
            else:
                text = pd.Series(values, index=samples.index)
                out[column] = as_text_category(text).array
    return pd.DataFrame(out, index=pd.RangeIndex(len(samples)), copy=False)


_NUMERIC = ("utilization", "memory_used_mib", "power_watts", "energy_joules")
_TEXT = tuple(c for c in GPU_COLUMNS if c not in _NUMERIC and c != "timestamp")


def as_text_category(values: pd.Series) -> pd.Series:
    """Text ("" for missing) as a categorical: a small code per sample."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes, uniques = values.cat.codes.to_numpy(), values.cat.categories
    else:
        codes, uniques = pd.factorize(values.astype(object))
    labels = [*pd.Series(uniques, dtype=object).fillna("").astype(str), ""]
    categories, inverse = np.unique(np.array(labels, dtype=object), return_inverse=True)
    inverse = inverse.astype(_code_type(len(categories)))
    codes = inverse[np.where(codes < 0, len(labels) - 1, codes)]
    return pd.Series(
        pd.Categorical.from_codes(codes, categories=categories, validate=False),
        index=values.index,
    )


def _is_text_category(values: pd.Series) -> bool:
    """As `as_text_category` makes it: sorted categories with "", no NaN."""
    if not isinstance(values.dtype, pd.CategoricalDtype):
        return False
    categories = values.cat.categories
    return (
        "" in categories
        and categories.is_monotonic_increasing
        and bool((values.cat.codes.to_numpy() >= 0).all())
    )


def _code_type(categories: int) -> type:
    """The smallest integer type pandas uses for this many categories."""
    for kind in (np.int8, np.int16, np.int32):
        if categories < np.iinfo(kind).max:
            return kind
    return np.int64


def empty_frame() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in GPU_COLUMNS})
    frame["timestamp"] = pd.Series(dtype="datetime64[ns, UTC]")
    for column in _NUMERIC:
        frame[column] = pd.Series(dtype="float64")
    return frame


def dedupe_sources(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[Finding]]:
    """Drop samples of a lower-priority source inside a preferred source's time span."""
    keys = ["host", "gpu_uuid"]
    if frame.empty or frame["source_format"].nunique() < 2:
        return frame, []
    spans = (
        frame.groupby([*keys, "source_format"], sort=False)["timestamp"]
        .agg(["min", "max"])
        .reset_index()
    )
    if spans["source_format"].nunique() < 2:
        return frame, []
    rank = frame["source_format"].map({s: i for i, s in enumerate(SOURCE_PRIORITY)})
    stamps = frame["timestamp"].to_numpy()
    drop = np.zeros(len(frame), dtype=bool)
    for level, preferred in enumerate(SOURCE_PRIORITY):
        span = spans[spans["source_format"] == preferred].drop(columns="source_format")
        if span.empty:
            continue
        joined = frame[keys].merge(span, on=keys, how="left")
        inside = (stamps >= joined["min"].to_numpy()) & (
            stamps <= joined["max"].to_numpy()
        )
        drop |= inside & (rank.to_numpy() > level)
    if not drop.any():
        return frame, []
    dropped = frame.loc[drop]
    gpus = dropped[keys].drop_duplicates()
    message = (
        f"{len(gpus)} GPUs were reported by two sources over the same time; "
        f"{int(drop.sum())} samples of the less preferred source "
        f"({', '.join(sorted(dropped['source_format'].unique()))}) were left out "
        "so each GPU-hour counts once (DCGM preferred)"
    )
    examples = [f"{h}/{u}" for h, u in gpus.head(10).itertuples(index=False)]
    finding = _warning("", "duplicate_source", message, count=int(drop.sum()))
    finding.examples.extend(examples)
    return frame.loc[~drop].reset_index(drop=True), [finding]


def _missing_value_findings(frame: pd.DataFrame) -> list[Finding]:
    files = frame["source_file"].astype("category")
    codes = files.cat.codes.to_numpy()
    counts = {}
    for column in COUNTED_COLUMNS:
        missing = np.isnan(frame[column].to_numpy())
        counts[column] = np.bincount(
            codes[missing], minlength=len(files.cat.categories)
        )
    findings = []
    for position, uri in enumerate(files.cat.categories):
        for column in COUNTED_COLUMNS:
            count = int(counts[column][position])
            if count:
                message = (
                    f"{count} samples have no {column} (a placeholder such as "
                    "[N/A] or a blank value, or the metric was not exported); they "
                    "count as missing, not as 0"
                )
                findings.append(
                    _warning(
                        str(uri), "placeholder", message, count=count, column=column
                    )
                )
    return findings


def _outside_month(frame: pd.DataFrame, month: str) -> int:
    start = pd.Timestamp(f"{month}-01", tz="UTC")
    end = start + pd.offsets.MonthBegin(1)
    stamps = frame["timestamp"]
    return int(((stamps < start) | (stamps >= end)).sum())


def _month_finding(outside: int, month: str) -> list[Finding]:
    if not outside:
        return []
    message = (
        f"{outside} samples dated outside {month}; only their time in the month counts"
    )
    return [_warning("", "out_of_month", message, count=outside)]


def _gpu_count(frame: pd.DataFrame) -> int:
    combined = np.zeros(len(frame), dtype=np.int64)
    for key in ("host", "gpu_uuid", "mig_instance"):
        codes = frame[key].cat.codes.to_numpy()
        combined = combined * (len(frame[key].cat.categories) + 1) + codes
    return len(pd.unique(combined))


def _bad_lines(uri: str, lines: list[int]) -> Finding:
    message = (
        f"{len(lines)} lines are not Prometheus samples (`name{{labels}} value "
        "[timestamp]`); they were skipped"
    )
    finding = _warning(uri, "unparseable_rows", message, count=len(lines))
    finding.examples.extend(lines[:10])
    return finding


def _warning(
    uri: str, check: str, message: str, *, count: int, column: str = ""
) -> Finding:
    return Finding(
        Severity.WARNING,
        "telemetry",
        check,
        message,
        file=uri,
        column=column,
        count=count,
    )


def _info(uri: str, check: str, message: str) -> Finding:
    return Finding(Severity.INFO, "telemetry", check, message, file=uri)
