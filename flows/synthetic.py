"""Synthetic months in the formats of real exports, for the demo and for benchmarks.

`write_demo` writes October 2026 for a small AI company: a FOCUS 1.0 billing CSV,
nvidia-smi CSV logs (one-minute samples) of a cloud and an on-prem host, a DCGM
query_range export of a MIG host, a payroll roster, and the `finops.toml` that reports
it. Everything is seeded, so the demo gives the same numbers on every machine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

DEMO_MONTH = "2026-10"
FOCUS_HEADER = [
    "AvailabilityZone", "BilledCost", "BillingAccountId", "BillingAccountName",
    "BillingCurrency", "BillingPeriodEnd", "BillingPeriodStart", "ChargeCategory",
    "ChargeClass", "ChargeDescription", "ChargeFrequency", "ChargePeriodEnd",
    "ChargePeriodStart", "CommitmentDiscountCategory", "CommitmentDiscountId",
    "CommitmentDiscountName", "CommitmentDiscountStatus", "CommitmentDiscountType",
    "ConsumedQuantity", "ConsumedUnit", "ContractedCost", "ContractedUnitPrice",
    "EffectiveCost", "InvoiceIssuerName", "ListCost", "ListUnitPrice",
    "PricingCategory", "PricingQuantity", "PricingUnit", "ProviderName",
    "PublisherName", "RegionId", "RegionName", "ResourceId", "ResourceName",
    "ResourceType", "ServiceCategory", "ServiceName", "SkuId", "SkuPriceId",
    "SubAccountId", "SubAccountName", "Tags", "InvoiceId",
]  # fmt: skip
AWS = "Amazon Web Services, Inc."


@dataclass(frozen=True)
class Resource:
    """One billed resource of the demo: hourly rows at a fixed rate."""

    resource_id: str
    service: str
    service_category: str
    hourly_list: float
    discount: float  # share of list price saved (EffectiveCost = list x (1 - discount))
    tags: dict
    account: str = "210987654321"
    unit: str = "Hours"
    publisher: str = AWS


DEMO_RESOURCES = (
    Resource("i-0c1a2b3c4d5e6f701", "Amazon Elastic Compute Cloud", "Compute",
             5.672, 0.28, {"team": "research", "node": "gpu-c1"}),
    Resource("i-0c1a2b3c4d5e6f702", "Amazon Elastic Compute Cloud", "Compute",
             0.768, 0.0, {"team": " Inference "}),
    Resource("i-0c1a2b3c4d5e6f703", "Amazon Elastic Compute Cloud", "Compute",
             0.384, 0.0, {"team": "ml-platform"}),
    Resource("i-0c1a2b3c4d5e6f704", "Amazon Elastic Compute Cloud", "Compute",
             0.192, 0.0, {}, account="111122223333"),
    Resource("arn:aws:s3:::demo-training-data", "Amazon Simple Storage Service",
             "Storage", 0.41, 0.0, {"team": "research"}, unit="GB-Month"),
    Resource("arn:aws:s3:::demo-model-registry", "Amazon Simple Storage Service",
             "Storage", 0.06, 0.0, {"team": "inference"}, unit="GB-Month"),
    Resource("dt-us-east-1", "AWS Data Transfer", "Networking", 0.35, 0.0, {},
             unit="GB"),
    Resource("cw-logs", "AmazonCloudWatch", "Management and Governance", 0.05,
             0.0, {}, unit="GB"),
    Resource("bedrock-claude", "Amazon Bedrock", "AI and Machine Learning", 0.9,
             0.0, {"team": "inference"}, unit="Tokens"),
)  # fmt: skip


def write_demo(out: Path) -> Path:
    """Write the demo inputs and configuration under `out`; return the config path."""
    out = Path(out).resolve()
    rng = np.random.default_rng(202610)
    (out / "inputs" / "billing").mkdir(parents=True, exist_ok=True)
    focus = demo_billing(DEMO_MONTH, rng)
    focus.to_csv(out / "inputs" / "billing" / "focus-2026-10.csv", index=False)
    write_nvidia_smi_log(
        out / "inputs" / "telemetry" / "gpu-c1" / "nvidia-smi.csv",
        DEMO_MONTH,
        model="NVIDIA A10G",
        profiles=["train", "train", "business", "idle"],
        power=(60.0, 300.0),
        rng=rng,
        uuid_prefix="GPU-c1",
    )
    write_nvidia_smi_log(
        out / "inputs" / "telemetry" / "gpu-p1" / "nvidia-smi.csv",
        DEMO_MONTH,
        model="NVIDIA A100-SXM4-40GB",
        profiles=["train", "business", "idle", "idle"],
        power=(55.0, 400.0),
        rng=rng,
        uuid_prefix="GPU-p1",
    )
    write_dcgm_mig_export(
        out / "inputs" / "telemetry" / "dcgm" / "gpu-m1-query_range.json",
        DEMO_MONTH,
        rng,
    )
    (out / "inputs" / "hr").mkdir(parents=True, exist_ok=True)
    demo_roster(rng).to_csv(out / "inputs" / "hr" / "payroll.csv", index=False)
    config = out / "finops.toml"
    config.write_text(DEMO_CONFIG, encoding="utf-8")
    return config


def month_hours(month: str) -> pd.DatetimeIndex:
    start = pd.Timestamp(f"{month}-01", tz="UTC")
    end = start + pd.offsets.MonthBegin(1)
    return pd.date_range(start, end, freq="h", inclusive="left")


def demo_billing(month: str, rng: np.random.Generator) -> pd.DataFrame:
    hours = month_hours(month)
    frames = [_resource_rows(r, hours, rng) for r in DEMO_RESOURCES]
    frames.append(_one_off_rows(month))
    frame = pd.concat(frames, ignore_index=True)
    return frame[FOCUS_HEADER]


def _resource_rows(
    res: Resource, hours: pd.DatetimeIndex, rng: np.random.Generator
) -> pd.DataFrame:
    quantity = np.ones(len(hours))
    if res.unit != "Hours":
        quantity = np.round(rng.gamma(4.0, 0.25, len(hours)), 6)
    list_cost = quantity * res.hourly_list
    effective = list_cost * (1 - res.discount)
    tags = json.dumps(res.tags) if res.tags else "NULL"
    return pd.DataFrame(
        {
            "AvailabilityZone": "us-east-1a",
            "BilledCost": np.round(effective, 10),
            "BillingAccountId": "210987654321",
            "BillingAccountName": "demo-payer",
            "BillingCurrency": "USD",
            "BillingPeriodEnd": _ts(hours[-1].floor("D") + pd.Timedelta(days=1)),
            "BillingPeriodStart": _ts(hours[0]),
            "ChargeCategory": "Usage",
            "ChargeClass": "NULL",
            "ChargeDescription": f"{res.service} usage",
            "ChargeFrequency": "Usage-Based",
            "ChargePeriodEnd": [_ts(h + pd.Timedelta(hours=1)) for h in hours],
            "ChargePeriodStart": [_ts(h) for h in hours],
            "CommitmentDiscountCategory": "NULL",
            "CommitmentDiscountId": "NULL",
            "CommitmentDiscountName": "NULL",
            "CommitmentDiscountStatus": "NULL",
            "CommitmentDiscountType": "NULL",
            "ConsumedQuantity": quantity,
            "ConsumedUnit": res.unit,
            "ContractedCost": np.round(effective, 10),
            "ContractedUnitPrice": res.hourly_list * (1 - res.discount),
            "EffectiveCost": np.round(effective, 10),
            "InvoiceIssuerName": AWS,
            "ListCost": np.round(list_cost, 10),
            "ListUnitPrice": res.hourly_list,
            "PricingCategory": "Standard" if res.discount == 0 else "Committed",
            "PricingQuantity": quantity,
            "PricingUnit": res.unit,
            "ProviderName": "AWS",
            "PublisherName": res.publisher,
            "RegionId": "us-east-1",
            "RegionName": "US East (N. Virginia)",
            "ResourceId": res.resource_id,
            "ResourceName": "NULL",
            "ResourceType": "NULL",
            "ServiceCategory": res.service_category,
            "ServiceName": res.service,
            "SkuId": "DEMO",
            "SkuPriceId": "DEMO",
            "SubAccountId": res.account,
            "SubAccountName": "demo",
            "Tags": tags,
            "InvoiceId": "INV-2026-10-001",
        }
    )


def _one_off_rows(month: str) -> pd.DataFrame:
    """Support, a marketplace subscription, tax and a credit: one row each."""
    start = pd.Timestamp(f"{month}-01", tz="UTC")
    end = start + pd.offsets.MonthBegin(1)
    rows = [
        ("Usage", "AWS Support (Business)", "Management and Governance", 1200.0, AWS,
         {}),
        ("Usage", "Weights & Biases Team", "Developer Tools", 2400.0,
         "Weights and Biases, Inc.", {"team": "research"}),
        ("Tax", "Tax", "NULL", 310.55, AWS, {}),
        ("Credit", "AWS Activate credit", "NULL", -500.0, AWS, {}),
    ]  # fmt: skip
    base = {column: "NULL" for column in FOCUS_HEADER}
    records: list[dict] = []
    for category, service, service_category, cost, publisher, tags in rows:
        record: dict[str, object] = dict(base)
        record.update(
            BilledCost=cost,
            EffectiveCost=cost,
            ListCost=cost if cost > 0 else 0.0,
            ContractedCost=cost,
            BillingAccountId="210987654321",
            BillingAccountName="demo-payer",
            BillingCurrency="USD",
            BillingPeriodStart=_ts(start),
            BillingPeriodEnd=_ts(end),
            ChargeCategory=category,
            ChargeDescription=service,
            ChargeFrequency="Recurring",
            ChargePeriodStart=_ts(start),
            ChargePeriodEnd=_ts(end),
            InvoiceIssuerName=AWS,
            ProviderName="AWS",
            PublisherName=publisher,
            ServiceName=service,
            ServiceCategory=service_category,
            SubAccountId="210987654321",
            Tags=json.dumps(tags) if tags else "NULL",
            InvoiceId="INV-2026-10-001",
        )
        records.append(record)
    return pd.DataFrame(records)


def _ts(value: pd.Timestamp) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


def utilization_profile(
    kind: str, minutes: pd.DatetimeIndex, rng: np.random.Generator
) -> np.ndarray:
    """0..1 utilization per minute: steady training, office-hours serving, or idle."""
    n = len(minutes)
    if kind == "train":
        base = np.clip(rng.normal(0.82, 0.08, n), 0.3, 1.0)
        pause = (minutes.day % 9 == 0) & (minutes.hour < 6)
        return np.where(pause, rng.uniform(0, 0.02, n), base)
    if kind == "business":
        office = (minutes.hour >= 8) & (minutes.hour < 20) & (minutes.dayofweek < 5)
        return np.where(office, rng.uniform(0.35, 0.75, n), rng.uniform(0, 0.03, n))
    return rng.uniform(0.0, 0.02, n)


def write_nvidia_smi_log(
    path: Path,
    month: str,
    *,
    model: str,
    profiles: list[str],
    power: tuple[float, float],
    rng: np.random.Generator,
    uuid_prefix: str,
) -> None:
    """An `nvidia-smi --query-gpu=... --format=csv -l 60` log of one host."""
    start = pd.Timestamp(f"{month}-01", tz="UTC")
    end = start + pd.offsets.MonthBegin(1)
    minutes = pd.date_range(start, end, freq="min", inclusive="left")
    stamps = minutes.strftime("%Y/%m/%d %H:%M:%S.000")
    idle_watts, cap_watts = power
    frames = []
    for index, kind in enumerate(profiles):
        util = utilization_profile(kind, minutes, rng)
        watts = idle_watts + util * (cap_watts * 0.85 - idle_watts)
        watts = watts + rng.normal(0, 3, len(minutes))
        util_text = pd.Series(np.round(util * 100).astype(int).astype(str) + " %")
        power_text = pd.Series(np.char.mod("%.2f W", watts))
        blank = rng.random(len(minutes)) < 0.001  # the odd [N/A] from the driver
        power_text[blank] = "[N/A]"
        frames.append(
            pd.DataFrame(
                {
                    "timestamp": stamps,
                    "name": model,
                    "pci.bus_id": f"00000000:{index + 16:02X}:00.0",
                    "driver_version": "550.54.15",
                    "uuid": f"{uuid_prefix}-{index:04d}-4e2a-9d1b-{index:012d}",
                    "utilization.gpu [%]": util_text,
                    "memory.used [MiB]": np.char.mod(
                        "%d MiB", (util * 30000 + 500).astype(int)
                    ),
                    "power.draw [W]": power_text,
                    "power.limit [W]": f"{cap_watts:.2f} W",
                }
            )
        )
    log = pd.concat(frames).sort_values("timestamp", kind="stable")
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = [log[c].astype(str) for c in log.columns]
    lines = columns[0].str.cat(columns[1:], sep=", ")
    text = ", ".join(log.columns) + "\n" + "\n".join(lines) + "\n"
    path.write_text(text, encoding="utf-8")


def write_dcgm_mig_export(path: Path, month: str, rng: np.random.Generator) -> None:
    """A Prometheus query_range export of dcgm-exporter on an H100 split by MIG."""
    start = pd.Timestamp(f"{month}-01", tz="UTC")
    end = start + pd.offsets.MonthBegin(1)
    steps = pd.date_range(start, end, freq="5min", inclusive="left")
    epoch = ((steps - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).astype(
        float
    )
    device = {
        "gpu": "0",
        "UUID": "GPU-m1-8f3c-4d2e-a1b0-000000000001",
        "device": "nvidia0",
        "modelName": "NVIDIA H100 80GB HBM3",
        "Hostname": "dcgm-exporter-7xk2p",
        "kubernetes_node": "gpu-m1",
        "DCGM_FI_DRIVER_VERSION": "550.54.15",
    }
    instances = [
        ("1", "3g.40gb", "llm-train", "llama-ft-7b-0", "train"),
        ("2", "4g.40gb", "serving", "embed-api-5d9f", "idle"),
    ]
    minutes = pd.DatetimeIndex(steps)
    watts = 90 + 450 * utilization_profile("train", minutes, rng) * 3 / 7
    energy_mj = np.cumsum(watts * 300 * 1000) + 5.0e9
    energy_mj[len(energy_mj) // 2 :] -= energy_mj[len(energy_mj) // 2]  # a reboot
    result: list[dict] = []
    for gi, profile, namespace, pod, kind in instances:
        labels: dict[str, str] = {
            **device,
            "GPU_I_ID": gi,
            "GPU_I_PROFILE": profile,
            "namespace": namespace,
            "pod": pod,
            "container": "main",
        }
        util = utilization_profile(kind, minutes, rng)
        series = {
            "DCGM_FI_PROF_GR_ENGINE_ACTIVE": np.round(util, 4),
            "DCGM_FI_DEV_POWER_USAGE": np.round(watts, 3),
            "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION": energy_mj.round(0),
            "DCGM_FI_DEV_FB_USED": np.round(util * 38000 + 400),
        }
        for name, values in series.items():
            result.append(
                {
                    "metric": {**labels, "__name__": name},
                    "values": [
                        [t, _prom_value(v)] for t, v in zip(epoch, values, strict=True)
                    ],
                }
            )
    body = {"status": "success", "data": {"resultType": "matrix", "result": result}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body), encoding="utf-8")


def _prom_value(value: float) -> str:
    return format(float(value), ".10g")


def demo_roster(rng: np.random.Generator) -> pd.DataFrame:
    """A payroll roster shaped like the real one, plus names (dropped at ingest)."""
    groups = [
        ("ML RESEARCH", 12, "SALARY", (185000, 260000)),
        ("ML PLATFORM", 5, "SALARY", (160000, 210000)),
        ("INFERENCE", 6, "SALARY", (150000, 200000)),
        ("DATA LABELING", 2, "HOURLY", (38, 52)),
        ("FINANCE", 8, "SALARY", (90000, 140000)),
    ]
    rows: list[dict] = []
    for department, count, basis, (low, high) in groups:
        for _ in range(count):
            number = len(rows) + 1
            pay = float(rng.uniform(low, high))
            hourly = basis == "HOURLY"
            rows.append(
                {
                    "Employee ID": f"E{number:05d}",
                    "Name": f"Demo Person {number:03d}",
                    "Job Titles": "ENGINEER" if not hourly else "ANNOTATOR",
                    "Department": department,
                    "Full or Part-Time": "F",
                    "Salary or Hourly": basis,
                    "Typical Hours": 40 if hourly else "",
                    "Annual Salary": "" if hourly else f"{round(pay, -2):.2f}",
                    "Hourly Rate": f"{pay:.2f}" if hourly else "",
                }
            )
    return pd.DataFrame(rows)


DEMO_CONFIG = """\
# The demo month: a small AI company with a cloud GPU node, an on-prem server and a
# MIG-partitioned H100, billed through AWS (FOCUS export) and paid through payroll.

[report]
currency = "USD"
out = "report"
title = "AI infrastructure cost (demo)"
team_reports = "configured"

[sources]
billing = ["inputs/billing/"]
telemetry = ["inputs/telemetry/"]
hr = ["inputs/hr/payroll.csv"]

[allocation]
team_tag = "team"

[allocation.aliases]
"ml-platform" = "platform"

[allocation.accounts]
"111122223333" = "research"

[[allocation.shared]]
name = "shared-network"
services = ["AWS Data Transfer"]
method = "proportional"

[categories]
"Amazon Bedrock" = "software"

[telemetry]
timezone = "UTC"

[telemetry.namespaces]
"llm-train" = "research"
"serving" = "inference"

[[inventory]]
host = "gpu-c1"
location = "cloud"
gpus = 4
gpu_model = "NVIDIA A10G"
team = "research"
resource_id = "i-0c1a2b3c4d5e6f701"

[[inventory]]
host = "gpu-p1"
location = "onprem"
gpus = 4
gpu_model = "NVIDIA A100-SXM4-40GB"
team = "inference"
purchase_cost = 96000
depreciation_months = 48
maintenance_rate = 0.08

[[inventory]]
host = "gpu-m1"
location = "onprem"
gpus = 1
gpu_model = "NVIDIA H100 80GB HBM3"
team = "research"
purchase_cost = 38000
depreciation_months = 48
maintenance_rate = 0.08

[energy]
price_per_kwh = 0.14
pue = 1.4

[prices]
market_gpu_hour = 2.10

[people]
overhead_rate = 0.25
min_group_size = 3
platform_teams = ["platform"]

[people.departments]
"ML RESEARCH" = "research"
"ML PLATFORM" = "platform"
"INFERENCE" = "inference"
"DATA LABELING" = "labeling"

[teams.research]
budget = 300000

[teams.inference]
budget = 105000

[teams.platform]
budget = 140000

[[plans]]
name = "A"
servers = 10
gpus_per_server = 8
cost = 500000
benefit = 600000
horizon_months = 36

[[plans]]
name = "B"
servers = 5
gpus_per_server = 16
cost = 750000
benefit = 700000
horizon_months = 36
"""


def generate(
    month: str, size: str, out: Path, formats: tuple[str, ...] | list[str] = ()
) -> Path:
    """`finops generate`: the demo layout for size S; larger sizes in bench docs."""
    if size != "S":
        from flows.synthetic_large import generate_large

        return generate_large(month, size, Path(out), tuple(formats) or None)
    return write_demo(Path(out))
