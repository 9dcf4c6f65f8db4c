"""Which telemetry files are read together, so every GPU's samples land in one chunk.

A unit is a group of files that holds every sample of its GPUs. nvidia-smi
`--query-gpu` files (CSV logs, rotated or gzipped, and Parquet) without a `hostname`
field take their host from the file (its folder or its name, DESIGN §4): files of one
such host form a unit. When any file is of another kind (a Prometheus scrape, a
query_range export, a compute-apps list, unknown content), a file carries a
`hostname` field, or `[telemetry.hosts]` maps files or labels to hosts, two files
could name the same host in ways the file names do not tell: then all files are
one unit. Deciding reads only each file's head (the Parquet footer, the first line).
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ingest import nvidia_smi
from ingest.config import TelemetryConfig
from ingest.storage import SourceObject, read_bytes

PARQUET_MAGIC = b"PAR1"
HEAD_BYTES = 1 << 16


def plan(
    objects: list[SourceObject],
    telemetry: TelemetryConfig,
    *,
    endpoint_url: str,
    host_of: Callable[[str], str],
) -> list[list[SourceObject]]:
    """The files in units, in the order they are listed (a host's first file)."""
    if not objects:
        return []
    if telemetry.hosts or not all(_host_from_file(o, endpoint_url) for o in objects):
        return [objects]
    units: dict[str, list[SourceObject]] = {}
    for obj in objects:
        units.setdefault(host_of(obj.uri), []).append(obj)
    return list(units.values())


def _host_from_file(obj: SourceObject, endpoint_url: str) -> bool:
    """An nvidia-smi --query-gpu file without a `hostname` field."""
    try:
        names = _field_names(obj, endpoint_url)
    except (OSError, EOFError, ValueError, zlib.error, pa.ArrowException):
        return False  # the real read reports what is wrong with the file
    return names is not None and "hostname" not in names


def _field_names(obj: SourceObject, endpoint_url: str) -> set[str] | None:
    """The nvidia-smi field names of a --query-gpu file; None for other files."""
    if obj.is_s3:
        data = read_bytes(obj.uri, endpoint_url=endpoint_url)
        if data.startswith(PARQUET_MAGIC):
            return _parquet_names(pq.read_schema(pa.BufferReader(data)))
        head = data[:HEAD_BYTES]
        if obj.uri.endswith(".gz"):
            head = zlib.decompressobj(wbits=31).decompress(data, HEAD_BYTES)
    else:
        path = Path(obj.uri)
        with path.open("rb") as stream:
            magic = stream.read(len(PARQUET_MAGIC))
        if magic == PARQUET_MAGIC:
            return _parquet_names(pq.read_schema(path))
        opener = gzip.open if obj.uri.endswith(".gz") else Path.open
        with opener(path, "rb") as stream:
            head = stream.read(HEAD_BYTES)
    return _csv_names(head.decode("utf-8", errors="replace").lstrip("\ufeff"))


def _parquet_names(schema: pa.Schema) -> set[str] | None:
    names = {nvidia_smi.clean_name(str(n)) for n in schema.names}
    return names if "timestamp" in names else None


def _csv_names(head: str) -> set[str] | None:
    first = next((line for line in head.splitlines() if line.strip()), "")
    if not nvidia_smi.is_query_gpu_header(first):
        return None
    return {nvidia_smi.clean_name(n) for n in first.split(",")}
