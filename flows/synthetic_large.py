"""Synthetic months of size M and L for benchmarks (`finops generate --size M|L`).

Written in the formats large exports arrive in, twice: Parquet under `DIR/` and CSV.gz
under `DIR/csv/`, each with its own `finops.toml`.
- Billing: FOCUS 1.0 (one `focus-MONTH-NNN.parquet` / `.csv.gz` per 1 M lines), hourly
  lines of many resources, 50 teams by tag (some untagged, some aliased), a tax line.
- Telemetry: per host `telemetry/<host>/nvidia-smi.parquet`, the `--query-gpu` fields as
  typed columns (timestamp in UTC, numbers without units, nulls for `[N/A]`), or
  `nvidia-smi.csv.gz`, the plain `--format=csv` log; one sample per GPU per minute.
- HR: a payroll roster (CSV) of about 6 people per team.
Everything is vectorised numpy/pyarrow and written in row groups, so memory holds one
group at a time; every number is seeded.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from flows.synthetic import AWS, FOCUS_HEADER

ROWS_PER_FILE = 1_000_000
ROW_GROUP = 250_000
MINUTE = 60


@dataclass(frozen=True)
class Size:
    billing_lines: int
    gpus: int
    gpus_per_host: int
    teams: int


SIZES = {
    "M": Size(1_000_000, 100, 4, 20),
    "L": Size(10_000_000, 1_000, 8, 50),
}

# service, service category, unit, hourly list price (mean)
SERVICES = (
    ("Amazon Elastic Compute Cloud", "Compute", "Hours", 0.9),
    ("Amazon Simple Storage Service", "Storage", "GB-Month", 0.05),
    ("Amazon Elastic Block Store", "Storage", "GB-Month", 0.03),
    ("AWS Data Transfer", "Networking", "GB", 0.02),
    ("Amazon Relational Database Service", "Databases", "Hours", 0.4),
    ("Amazon SageMaker", "AI and Machine Learning", "Hours", 1.2),
    ("Amazon Bedrock", "AI and Machine Learning", "Tokens", 0.3),
    ("AmazonCloudWatch", "Management and Governance", "GB", 0.01),
    ("AWS Key Management Service", "Security", "Requests", 0.005),
)
GPU_MODEL = ("NVIDIA A100-SXM4-80GB", 400.0, 60.0)  # name, cap W, idle W


def generate_large(
    month: str, size: str, out: Path, formats: tuple[str, ...] | None = None
) -> Path:
    """Write a month of size M or L under `out`; return the first config's path.

    `formats` picks the copies ("parquet" under `out`, "csv.gz" under `out/csv`).
    """
    spec = SIZES[size]
    out = Path(out).resolve()
    hosts = host_table(spec)
    teams = [f"team-{i:02d}" for i in range(spec.teams)]
    copies = [(k, r) for k, r in (("parquet", out), ("csv.gz", out / "csv"))]
    copies = [(k, r) for k, r in copies if formats is None or k in formats]
    for kind, root in copies:
        root.mkdir(parents=True, exist_ok=True)
        write_billing(root / "inputs" / "billing", month, spec, hosts, teams, kind)
        write_telemetry(root / "inputs" / "telemetry", month, hosts, kind)
        write_roster(root / "inputs" / "hr" / "payroll.csv", teams)
        (root / "finops.toml").write_text(config_text(hosts, teams), encoding="utf-8")
    return copies[0][1] / "finops.toml"


# --- hosts ---


def host_table(spec: Size) -> list[dict]:
    """One dict per GPU host: three cloud hosts for every on-prem one."""
    count = -(-spec.gpus // spec.gpus_per_host)
    hosts = []
    for i in range(count):
        gpus = min(spec.gpus_per_host, spec.gpus - i * spec.gpus_per_host)
        cloud = i % 4 != 3
        hosts.append(
            {
                "host": f"gpu-{i:04d}",
                "location": "cloud" if cloud else "onprem",
                "gpus": gpus,
                "team": f"team-{i % spec.teams:02d}",
                "resource_id": f"i-0{i:016x}" if cloud else "",
                "hourly": 4.1 * gpus,
            }
        )
    return hosts


# --- billing ---


def month_start_end(month: str) -> tuple[np.datetime64, np.datetime64]:
    start = np.datetime64(f"{month}-01T00:00:00", "s")
    end = (start.astype("datetime64[M]") + 1).astype("datetime64[s]")
    return start, end


def write_billing(
    folder: Path, month: str, spec: Size, hosts: list[dict], teams: list[str], kind: str
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    start, end = month_start_end(month)
    hours = int((end - start) / np.timedelta64(1, "h"))
    resources = resource_table(spec, hosts, teams, hours)
    total = spec.billing_lines
    for number, first in enumerate(range(0, total, ROWS_PER_FILE)):
        last = min(first + ROWS_PER_FILE, total)
        name = f"focus-{month}-{number:03d}"
        if kind == "parquet":
            _write_parquet(folder / f"{name}.parquet", first, last, resources, start)
        else:
            _write_csv_gz(folder / f"{name}.csv.gz", first, last, resources, start)


def resource_table(
    spec: Size, hosts: list[dict], teams: list[str], hours: int
) -> dict[str, np.ndarray]:
    """Attributes per billed resource; GPU hosts first, then hourly resources."""
    rng = np.random.default_rng(len(hosts) * 7919 + spec.billing_lines)
    cloud = [h for h in hosts if h["location"] == "cloud"]
    others = max(1, -(-(spec.billing_lines - len(cloud) * hours) // hours))
    service = rng.integers(0, len(SERVICES), others)
    team_of = rng.integers(0, len(teams), others)
    tag_text = np.array(
        [json.dumps({"team": t}) for t in teams]
        + [json.dumps({"team": f" {t.upper()} ", "env": "prod"}) for t in teams]
        + ["NULL"]
    )
    variant = rng.choice([0, 1, 2], others, p=[0.85, 0.1, 0.05])
    tag_index = np.where(variant == 2, 2 * len(teams), team_of + variant * len(teams))
    return {
        "resource_id": np.array(
            [h["resource_id"] for h in cloud] + [f"r-{i:08x}" for i in range(others)]
        ),
        "service": np.concatenate([np.zeros(len(cloud), int), service]),
        "tags": np.concatenate(
            [
                np.array([json.dumps({"team": h["team"]}) for h in cloud]),
                tag_text[tag_index],
            ]
        ),
        "hourly": np.concatenate(
            [
                np.array([h["hourly"] for h in cloud]),
                np.array([SERVICES[s][3] for s in service])
                * rng.lognormal(0, 0.8, others),
            ]
        ),
        "discount": np.concatenate(
            [np.full(len(cloud), 0.3), np.where(rng.random(others) < 0.2, 0.25, 0.0)]
        ),
        "account": np.concatenate(
            [
                np.full(len(cloud), "210987654321"),
                np.array([f"{100000000000 + a:012d}" for a in team_of % 20]),
            ]
        ),
        "hours": np.array(hours),
    }


def billing_table(
    first: int, last: int, res: dict[str, np.ndarray], start: np.datetime64
) -> pa.Table:
    """FOCUS rows `first`..`last` (row i: resource i // hours, hour i % hours)."""
    hours = int(res["hours"])
    index = np.arange(first, last)
    which, hour = np.divmod(index, hours)
    which = np.minimum(which, len(res["resource_id"]) - 1)
    service = res["service"][which]
    names = np.array([s[0] for s in SERVICES])
    cats = np.array([s[1] for s in SERVICES])
    units = np.array([s[2] for s in SERVICES])
    rng = np.random.default_rng(first)
    quantity = np.where(
        units[service] == "Hours", 1.0, np.round(rng.gamma(4.0, 0.25, len(index)), 6)
    )
    list_price = res["hourly"][which]
    list_cost = np.round(quantity * list_price, 10)
    effective = np.round(list_cost * (1 - res["discount"][which]), 10)
    charge_start = start + hour.astype("timedelta64[h]")
    if first == 0:  # one tax line per month, at the start
        effective[0] = list_cost[0] = 1234.5
        quantity[0] = 0.0
    category = np.full(len(index), "Usage", dtype=object)
    if first == 0:
        category[0] = "Tax"
    n = len(index)
    columns = {
        "AvailabilityZone": _const("us-east-1a", n),
        "BilledCost": effective,
        "BillingAccountId": _const("210987654321", n),
        "BillingAccountName": _const("bench-payer", n),
        "BillingCurrency": _const("USD", n),
        "BillingPeriodEnd": _ts_const(start.astype("datetime64[M]") + 1, n),
        "BillingPeriodStart": _ts_const(start, n),
        "ChargeCategory": pa.array(category, pa.string()).dictionary_encode(),
        "ChargeClass": pa.nulls(n, pa.string()),
        "ChargeDescription": _dict(names, service),
        "ChargeFrequency": _const("Usage-Based", n),
        "ChargePeriodEnd": _ts(charge_start + np.timedelta64(1, "h")),
        "ChargePeriodStart": _ts(charge_start),
        "CommitmentDiscountCategory": pa.nulls(n, pa.string()),
        "CommitmentDiscountId": pa.nulls(n, pa.string()),
        "CommitmentDiscountName": pa.nulls(n, pa.string()),
        "CommitmentDiscountStatus": pa.nulls(n, pa.string()),
        "CommitmentDiscountType": pa.nulls(n, pa.string()),
        "ConsumedQuantity": quantity,
        "ConsumedUnit": _dict(units, service),
        "ContractedCost": effective,
        "ContractedUnitPrice": np.round(list_price * (1 - res["discount"][which]), 10),
        "EffectiveCost": effective,
        "InvoiceIssuerName": _const(AWS, n),
        "ListCost": list_cost,
        "ListUnitPrice": list_price,
        "PricingCategory": _const("Standard", n),
        "PricingQuantity": quantity,
        "PricingUnit": _dict(units, service),
        "ProviderName": _const("AWS", n),
        "PublisherName": _const(AWS, n),
        "RegionId": _const("us-east-1", n),
        "RegionName": _const("US East (N. Virginia)", n),
        "ResourceId": pa.array(res["resource_id"][which], mask=category == "Tax"),
        "ResourceName": pa.nulls(n, pa.string()),
        "ResourceType": pa.nulls(n, pa.string()),
        "ServiceCategory": _dict(cats, service),
        "ServiceName": _dict(names, service),
        "SkuId": pa.nulls(n, pa.string()),
        "SkuPriceId": pa.nulls(n, pa.string()),
        "SubAccountId": pa.array(res["account"][which]).dictionary_encode(),
        "SubAccountName": pa.nulls(n, pa.string()),
        "Tags": pa.array(res["tags"][which]).dictionary_encode(),
        "InvoiceId": _const(f"INV-{str(start)[:7]}-001", n),
    }
    columns["Tags"] = pc.if_else(
        pc.equal(columns["Tags"].cast(pa.string()), "NULL"),
        pa.scalar(None, pa.string()),
        columns["Tags"].cast(pa.string()),
    ).dictionary_encode()
    return pa.table({name: columns[name] for name in FOCUS_HEADER})


def _const(value: str, n: int) -> pa.Array:
    return pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(n, dtype=np.int32)), pa.array([value])
    )


def _dict(values: np.ndarray, codes: np.ndarray) -> pa.Array:
    return pa.DictionaryArray.from_arrays(
        pa.array(codes.astype(np.int32)), pa.array(values.tolist())
    )


def _ts(values: np.ndarray) -> pa.Array:
    return pa.array(values.astype("datetime64[us]"), pa.timestamp("us", tz="UTC"))


def _ts_const(value: np.datetime64, n: int) -> pa.Array:
    return _ts(np.full(n, value.astype("datetime64[s]")))


def _write_parquet(
    path: Path, first: int, last: int, res: dict, start: np.datetime64
) -> None:
    writer = None
    for group in range(first, last, ROW_GROUP):
        table = billing_table(group, min(group + ROW_GROUP, last), res, start)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema, compression="zstd")
        writer.write_table(table)
    if writer is not None:
        writer.close()


def _write_csv_gz(
    path: Path, first: int, last: int, res: dict, start: np.datetime64
) -> None:
    with gzip.open(path, "wb", compresslevel=1) as handle:
        for group in range(first, last, ROW_GROUP):
            table = billing_table(group, min(group + ROW_GROUP, last), res, start)
            table = _as_text(table)
            options = pacsv.WriteOptions(include_header=group == first)
            pacsv.write_csv(table, handle, write_options=options)


def _as_text(table: pa.Table) -> pa.Table:
    """Timestamps as ISO 8601 with Z, the way FOCUS CSV exports write them."""
    columns = []
    for column in table.columns:
        if pa.types.is_timestamp(column.type):
            column = pc.strftime(column, format="%Y-%m-%dT%H:%M:%SZ")
        elif pa.types.is_dictionary(column.type):
            column = column.cast(pa.string())
        columns.append(column)
    return pa.table(columns, names=table.column_names)


# --- telemetry ---


def minute_clock(month: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Minutes of the month (datetime64[s]), their hour of day and day of week."""
    start, end = month_start_end(month)
    minutes = np.arange(start, end, np.timedelta64(MINUTE, "s"))
    hour = (minutes.astype("datetime64[h]").astype(np.int64)) % 24
    weekday = (minutes.astype("datetime64[D]").astype(np.int64) + 3) % 7  # 0 = Monday
    return minutes, hour, weekday


def gpu_utilization(
    kind: int, hour: np.ndarray, weekday: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """0 training, 1 office-hours serving, 2 idle; percent as integers."""
    n = len(hour)
    if kind == 0:
        util = np.clip(rng.normal(0.82, 0.08, n), 0.3, 1.0)
    elif kind == 1:
        office = (hour >= 8) & (hour < 20) & (weekday < 5)
        util = np.where(office, rng.uniform(0.35, 0.75, n), rng.uniform(0, 0.03, n))
    else:
        util = rng.uniform(0.0, 0.02, n)
    return np.round(util * 100)


def host_samples(
    host: dict, index: int, minutes: np.ndarray, hour: np.ndarray, weekday: np.ndarray
) -> pa.Table:
    """The host's samples, time-major like an `nvidia-smi -l 60` log."""
    rng = np.random.default_rng(1000 + index)
    model, cap, idle_watts = GPU_MODEL
    gpus, n = host["gpus"], len(minutes)
    kinds = rng.choice([0, 1, 2], gpus, p=[0.55, 0.25, 0.2])
    util = np.stack([gpu_utilization(k, hour, weekday, rng) for k in kinds], axis=1)
    watts = idle_watts + util / 100 * (cap * 0.85 - idle_watts)
    watts = np.round(watts + rng.normal(0, 3, watts.shape), 2)
    memory = (util / 100 * 60000 + 500).astype(np.int64)
    power = pa.array(watts.ravel(), mask=rng.random(n * gpus) < 0.001)
    uuids = [
        f"GPU-{index:04x}{g:04x}-4e2a-9d1b-{index:08d}{g:04d}" for g in range(gpus)
    ]
    buses = [f"00000000:{g + 16:02X}:00.0" for g in range(gpus)]
    codes = np.tile(np.arange(gpus, dtype=np.int32), n)
    return pa.table(
        {
            "timestamp": pa.array(
                np.repeat(minutes, gpus).astype("datetime64[ms]"),
                pa.timestamp("ms", tz="UTC"),
            ),
            "name": _const(model, n * gpus),
            "pci.bus_id": pa.DictionaryArray.from_arrays(codes, pa.array(buses)),
            "driver_version": _const("550.54.15", n * gpus),
            "uuid": pa.DictionaryArray.from_arrays(codes, pa.array(uuids)),
            "utilization.gpu [%]": pa.array(util.ravel()),
            "memory.used [MiB]": pa.array(memory.ravel()),
            "power.draw [W]": power,
            "power.limit [W]": pa.array(np.full(n * gpus, cap)),
        }
    )


def write_telemetry(folder: Path, month: str, hosts: list[dict], kind: str) -> None:
    minutes, hour, weekday = minute_clock(month)
    for index, host in enumerate(hosts):
        table = host_samples(host, index, minutes, hour, weekday)
        target = folder / host["host"]
        target.mkdir(parents=True, exist_ok=True)
        if kind == "parquet":
            pq.write_table(
                table,
                target / "nvidia-smi.parquet",
                compression="zstd",
                row_group_size=ROW_GROUP,
            )
        else:
            _write_smi_csv_gz(target / "nvidia-smi.csv.gz", table)


def _write_smi_csv_gz(path: Path, table: pa.Table) -> None:
    """`nvidia-smi --query-gpu=... --format=csv`: ', ' separated, units in cells."""
    stamp = pc.strftime(table["timestamp"], format="%Y/%m/%d %H:%M:%S")  # ms: .000
    util = pc.binary_join_element_wise(
        pc.cast(pc.cast(table["utilization.gpu [%]"], pa.int64()), pa.string()),
        " %",
        "",
    )
    memory = pc.binary_join_element_wise(
        pc.cast(table["memory.used [MiB]"], pa.string()), " MiB", ""
    )
    power = pc.binary_join_element_wise(
        pc.cast(table["power.draw [W]"], pa.string()), " W", ""
    )
    power = pc.fill_null(power, "[N/A]")
    limit = pc.binary_join_element_wise(
        pc.cast(table["power.limit [W]"], pa.string()), " W", ""
    )
    fields = [
        stamp,
        table["name"].cast(pa.string()),
        table["pci.bus_id"].cast(pa.string()),
        table["driver_version"].cast(pa.string()),
        table["uuid"].cast(pa.string()),
        util,
        memory,
        power,
        limit,
    ]
    lines = pc.binary_join_element_wise(*fields, ", ")
    lines = pc.binary_join_element_wise(lines, "\n", "")  # each line ends in \n
    header = ", ".join(table.column_names) + "\n"
    with gzip.open(path, "wb", compresslevel=1) as handle:
        handle.write(header.encode())
        for chunk in lines.chunks:
            handle.write(_text_bytes(chunk))


def _text_bytes(strings: pa.Array) -> bytes:
    """The bytes of a string array without nulls, one element after the other."""
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int32)
    first, last = offsets[strings.offset], offsets[strings.offset + len(strings)]
    return strings.buffers()[2].to_pybytes()[first:last]


# --- HR and configuration ---


def write_roster(path: Path, teams: list[str]) -> None:
    rng = np.random.default_rng(len(teams))
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "Employee ID,Name,Job Titles,Department,Full or Part-Time,Salary or Hourly,"
        "Typical Hours,Annual Salary,Hourly Rate"
    ]
    number = 0
    for team in teams:
        for _ in range(int(rng.integers(3, 10))):
            number += 1
            pay = round(float(rng.uniform(120000, 260000)), -2)
            lines.append(
                f"E{number:06d},Bench Person {number:05d},ENGINEER,"
                f"{team.upper()},F,SALARY,,{pay:.2f},"
            )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def config_text(hosts: list[dict], teams: list[str]) -> str:
    lines = [
        "# A synthetic benchmark month (finops generate); see docs/performance.md.",
        "",
        "[report]",
        'currency = "USD"',
        'out = "report"',
        'title = "AI infrastructure cost (benchmark)"',
        'team_reports = "configured"',
        "",
        "[sources]",
        'billing = ["inputs/billing/"]',
        'telemetry = ["inputs/telemetry/"]',
        'hr = ["inputs/hr/payroll.csv"]',
        "",
        "[allocation]",
        'team_tag = "team"',
        "",
        "[allocation.accounts]",
        '"100000000000" = "team-00"',
        "",
        "[[allocation.shared]]",
        'name = "shared-network"',
        'services = ["AWS Data Transfer"]',
        'method = "proportional"',
        "",
        "[telemetry]",
        'timezone = "UTC"',
        "",
    ]
    model = GPU_MODEL[0]
    for host in hosts:
        lines += [
            "[[inventory]]",
            f'host = "{host["host"]}"',
            f'location = "{host["location"]}"',
            f"gpus = {host['gpus']}",
            f'gpu_model = "{model}"',
            f'team = "{host["team"]}"',
        ]
        if host["location"] == "cloud":
            lines.append(f'resource_id = "{host["resource_id"]}"')
        else:
            lines += [
                f"purchase_cost = {30000 * host['gpus']}",
                "depreciation_months = 48",
                "maintenance_rate = 0.08",
            ]
        lines.append("")
    lines += [
        "[energy]",
        "price_per_kwh = 0.14",
        "pue = 1.4",
        "",
        "[prices]",
        "market_gpu_hour = 2.10",
        "",
        "[people]",
        "overhead_rate = 0.25",
        "min_group_size = 3",
        'platform_teams = ["team-01"]',
        "",
        "[people.departments]",
    ]
    lines += [f'"{t.upper()}" = "{t}"' for t in teams]
    lines.append("")
    for team in teams[:5]:
        lines += [f'[teams."{team}"]', "budget = 200000", ""]
    return "\n".join(lines)
