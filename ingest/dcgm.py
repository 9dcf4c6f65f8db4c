"""Prometheus GPU metrics: dcgm-exporter and nvidia_gpu_exporter, as text or as JSON.

Three shapes are read into one long form (series, timestamp, field, value), then pivoted
to one row per GPU (or MIG instance) per timestamp:
- Prometheus text exposition (`# HELP`/`# TYPE` and `name{labels} value [ms]`), a scrape
  saved to a file; lines without a timestamp take the time the caller gives;
- the Prometheus HTTP API `query_range` answer (`resultType` "matrix"), how a month is
  exported;
- nvidia_gpu_exporter's `.metrics` dialect (`nvidia_smi_*` names, `uuid` label without
  the `GPU-` prefix, model in `nvidia_smi_gpu_info{name=...}`).

Units on the way in (FIELDS): DCGM_FI_DEV_GPU_UTIL is a percent, DCGM_FI_PROF_* and
nvidia_smi_*_ratio are ratios 0..1, DCGM energy is a counter in millijoules,
memory in MiB (DCGM) or bytes (nvidia_smi). Blank values and NaN are missing, never 0.
Series without a
GPU UUID label (label-less dummy series) are ignored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# metric -> (sample field, factor to the canonical unit)
FIELDS: dict[str, tuple[str, float]] = {
    "DCGM_FI_PROF_GR_ENGINE_ACTIVE": ("util_prof", 1.0),  # ratio 0..1
    "DCGM_FI_DEV_GPU_UTIL": ("util_dev", 0.01),  # percent
    "DCGM_FI_DEV_FB_USED": ("memory_used_mib", 1.0),  # MiB
    "DCGM_FI_DEV_POWER_USAGE": ("power_watts", 1.0),  # W
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION": ("energy_joules", 0.001),  # mJ
    "nvidia_smi_utilization_gpu_ratio": ("util_dev", 1.0),  # ratio 0..1
    "nvidia_smi_memory_used_bytes": ("memory_used_mib", 1.0 / 2**20),  # bytes
    "nvidia_smi_power_draw_watts": ("power_watts", 1.0),  # W
}
VALUE_FIELDS = (
    "util_prof",
    "util_dev",
    "memory_used_mib",
    "power_watts",
    "energy_joules",
)

# Label spellings across exporter versions, first present wins.
UUID_LABELS = ("UUID", "uuid")
MODEL_LABELS = ("modelName", "DCGM_FI_DEV_NAME")
HOST_LABELS = ("node", "kubernetes_node", "Hostname", "hostname", "instance")
WORKLOAD_LABELS = {
    "namespace": ("exported_namespace", "namespace"),
    "pod": ("exported_pod", "pod"),
    "job": ("exported_job", "job"),
    "team": ("team", "exported_team"),
}
MIG_LABELS = {"mig_instance": ("GPU_I_ID",), "mig_profile": ("GPU_I_PROFILE",)}
IDENTITY = (
    "gpu_uuid",
    "mig_instance",
    "mig_profile",
    *WORKLOAD_LABELS,
    *(f"label_{name}" for name in HOST_LABELS),
)

_LINE = re.compile(
    r"^(?P<name>[a-zA-Z_:][\w:]*)"
    r"(?:\{(?P<labels>(?:[^\"}]|\"(?:[^\"\\]|\\.)*\")*)\})?"
    r"(?:[ \t]+(?P<value>\S+))?(?:[ \t]+(?P<ts>-?\d+))?[ \t]*$"
)
_LABEL = re.compile(r'([a-zA-Z_]\w*)\s*=\s*"((?:[^"\\]|\\.)*)"')
_ESCAPES = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


@dataclass
class Series:
    metric: str
    labels: dict[str, str]
    seconds: np.ndarray  # epoch seconds, NaN when the line had no timestamp
    values: np.ndarray  # float, NaN for blank values


@dataclass
class ParsedMetrics:
    series: list[Series]
    bad_lines: list[int] = field(default_factory=list)


def parse_exposition(text: str) -> ParsedMetrics:
    """Read Prometheus text exposition; comments and HELP/TYPE lines are skipped."""
    parsed = ParsedMetrics([])
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _LINE.match(stripped)
        if match is None:
            parsed.bad_lines.append(number)
            continue
        value = _float(match.group("value"))
        seconds = float(match.group("ts")) / 1000 if match.group("ts") else np.nan
        labels = _labels(match.group("labels") or "")
        parsed.series.append(
            Series(match.group("name"), labels, np.array([seconds]), np.array([value]))
        )
    return parsed


def _labels(text: str) -> dict[str, str]:
    return {
        key: re.sub(r"\\[\\\"n]", lambda m: _ESCAPES[m.group(0)], value)
        for key, value in _LABEL.findall(text)
    }


def _float(text: str | None) -> float:
    if text is None or text == "":
        return np.nan
    try:
        return float(text)
    except ValueError:
        return np.nan


def parse_query_range(text: str) -> ParsedMetrics:
    """Read a Prometheus `query_range` (or instant `query`) JSON answer."""
    document = json.loads(text)
    data = document.get("data", document) if isinstance(document, dict) else {}
    result = data.get("result", []) if isinstance(data, dict) else []
    if not isinstance(result, list):
        raise ValueError("the JSON has no data.result list of series")
    parsed = ParsedMetrics([])
    for item in result:
        labels = {str(k): str(v) for k, v in item.get("metric", {}).items()}
        metric = labels.pop("__name__", "")
        points = item.get("values") or ([item["value"]] if "value" in item else [])
        pairs = np.array(points, dtype=object).reshape(-1, 2)
        seconds = pairs[:, 0].astype("float64")
        values = pd.to_numeric(pd.Series(pairs[:, 1]), errors="coerce").to_numpy()
        parsed.series.append(Series(metric, labels, seconds, values.astype("float64")))
    return parsed


def is_query_range(text: str) -> bool:
    head = text.lstrip()[:200]
    return head.startswith("{") and ('"data"' in text[:5000] or '"resultType"' in head)


def is_exposition(text: str) -> bool:
    for line in text.splitlines()[:50]:
        stripped = line.strip()
        if stripped.startswith(("# HELP", "# TYPE")):
            return True
        if stripped and not stripped.startswith("#"):
            return _LINE.match(stripped) is not None
    return False


def source_format(parsed: ParsedMetrics) -> str:
    names = {s.metric for s in parsed.series}
    if any(n.startswith("DCGM_") for n in names):
        return "dcgm"
    if any(n.startswith("nvidia_smi_") for n in names):
        return "nvidia_gpu_exporter"
    return "dcgm"


def to_samples(parsed: ParsedMetrics, *, default_seconds: float) -> pd.DataFrame:
    """One row per GPU identity and timestamp; label_* columns carry host candidates."""
    identities: dict[tuple, int] = {}
    chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    models: dict[str, str] = {}
    for series in parsed.series:
        identity = _identity(series)
        if identity is None:
            continue  # no GPU: exporter self-metrics or label-less dummy series
        models.setdefault(identity[0], "")
        models[identity[0]] = models[identity[0]] or _model(series)
        ident = identities.setdefault(identity, len(identities))
        chunks.append(_chunk(series, ident, default_seconds))
    if not chunks:
        return _empty()
    wide = _pivot(chunks)
    table = pd.DataFrame(list(identities), columns=list(IDENTITY))
    samples = wide.join(table, on="ident").drop(columns="ident")
    samples = _one_row_per_gpu_and_time(samples)
    samples["gpu_model"] = samples["gpu_uuid"].map(models).fillna("")
    return samples


def _one_row_per_gpu_and_time(samples: pd.DataFrame) -> pd.DataFrame:
    """Series of one GPU that differ only in workload labels merge into one sample.

    An exporter that puts pod labels on some metrics only would otherwise count the
    GPU twice at that time; the first non-empty label and value are kept.
    """
    keys = [c for c in IDENTITY if c not in WORKLOAD_LABELS] + ["timestamp"]
    if not samples.duplicated(keys).any():
        return samples
    labels = list(WORKLOAD_LABELS)
    samples[labels] = samples[labels].replace("", np.nan)
    merged = samples.groupby(keys, sort=False, dropna=False).first().reset_index()
    merged[labels] = merged[labels].fillna("")
    return merged


def _identity(series: Series) -> tuple | None:
    uuid = _first(series.labels, UUID_LABELS)
    if not uuid:
        return None
    if not uuid.startswith(("GPU-", "MIG-")):
        uuid = f"GPU-{uuid}"  # nvidia_gpu_exporter drops the prefix
    mig = [_first(series.labels, names) for names in MIG_LABELS.values()]
    work = [_first(series.labels, names) for names in WORKLOAD_LABELS.values()]
    hosts = [series.labels.get(name, "") for name in HOST_LABELS]
    return (uuid, *mig, *work, *hosts)


def _first(labels: dict[str, str], names: Iterable[str]) -> str:
    return next((labels[n] for n in names if labels.get(n)), "")


def _model(series: Series) -> str:
    if series.metric == "nvidia_smi_gpu_info":
        return series.labels.get("name", "")
    return _first(series.labels, MODEL_LABELS)


def _chunk(series: Series, ident: int, default_seconds: float) -> tuple:
    name, factor = FIELDS.get(series.metric, ("_seen", 1.0))
    seconds = np.where(np.isnan(series.seconds), default_seconds, series.seconds)
    code = VALUE_FIELDS.index(name) if name in VALUE_FIELDS else -1
    n = len(seconds)
    return (
        np.full(n, ident, dtype=np.int64),
        seconds,
        np.full(n, code, dtype=np.int64),
        series.values * factor,
    )


def _pivot(chunks: list[tuple]) -> pd.DataFrame:
    ident, seconds, code, value = (
        np.concatenate(parts) for parts in zip(*chunks, strict=False)
    )
    long = pd.DataFrame({"ident": ident, "seconds": seconds, "code": code, "v": value})
    keys = long[["ident", "seconds"]].drop_duplicates()
    known = long[long["code"] >= 0]
    wide = known.pivot_table(
        index=["ident", "seconds"], columns="code", values="v", aggfunc="last"
    )
    wide.columns = [VALUE_FIELDS[c] for c in wide.columns]
    wide = keys.join(wide, on=["ident", "seconds"])
    for name in VALUE_FIELDS:
        if name not in wide:
            wide[name] = np.nan
    wide["timestamp"] = pd.to_datetime(wide.pop("seconds"), unit="s", utc=True)
    wide["utilization"] = wide.pop("util_prof").fillna(wide.pop("util_dev"))
    return wide.reset_index(drop=True)


def _empty() -> pd.DataFrame:
    columns = ["timestamp", "utilization", "memory_used_mib", "power_watts"]
    return pd.DataFrame(columns=[*columns, "energy_joules", *IDENTITY, "gpu_model"])


def blank_counts(parsed: ParsedMetrics) -> dict[str, int]:
    """Mapped metrics whose value was blank or NaN, per sample field."""
    counts: dict[str, int] = {}
    for series in parsed.series:
        name = FIELDS.get(series.metric, ("", 0))[0]
        if name and _first(series.labels, UUID_LABELS):
            missing = int(np.isnan(series.values).sum())
            if missing:
                counts[name] = counts.get(name, 0) + missing
    return counts


COUNTER_LIST_COLUMNS = ("name", "prometheus_type", "help")
_COUNTER_LINE = re.compile(r"^\s*DCGM_\w+\s*,\s*(gauge|counter|label)\s*,")


def is_counter_list(text: str) -> bool:
    """dcgm-exporter's field list (`DCGM_FI_X, gauge, help`): not samples."""
    rows = [
        line
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    return bool(rows) and all(_COUNTER_LINE.match(line) for line in rows[:20])


def parse_counter_list(text: str) -> pd.DataFrame:
    """Name, Prometheus type and help of each field in a dcgm-exporter counters file."""
    records = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, kind, help_text = (part.strip() for part in line.split(",", 2))
        records.append((name, kind, help_text))
    return pd.DataFrame(records, columns=list(COUNTER_LIST_COLUMNS))
