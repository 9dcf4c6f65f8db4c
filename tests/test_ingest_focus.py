"""FOCUS 1.0-1.3 onto the canonical billing frame: small inputs and the real sample."""

from __future__ import annotations

import csv
import gzip
import json
from decimal import Decimal

import pandas as pd
import pytest

from ingest.billing import read_billing
from transforms.findings import Severity

HEADER = (
    "BilledCost,EffectiveCost,BillingCurrency,ChargeCategory,ChargePeriodStart,"
    "ChargePeriodEnd,ChargeFrequency,CommitmentDiscountId,BillingAccountId,Tags,x_Extra"
)


def write(tmp_path, name, lines):
    path = tmp_path / name
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return str(path)


def test_null_text_naive_timestamps_tags_and_x_columns(tmp_path):
    path = write(
        tmp_path,
        "f.csv.gz",
        [
            HEADER,
            "1.5,1.0,USD,Usage,2026-10-01 00:00:00,2026-10-01 01:00:00,Usage-Based,"
            'NULL,A1,"{""team"": ""research"", ""user:team"": ""x""}",keep',
            "2,2,USD,Usage,2026-10-31T23:00:00Z,NULL,Usage-based,NULL,A1,NULL,NULL",
        ],
    )
    load = read_billing([path], "2026-10")
    frame = load.frame
    assert [f.check for f in load.findings if f.severity == Severity.BLOCKING] == []
    assert frame["ChargePeriodStart"].tolist() == [
        pd.Timestamp("2026-10-01", tz="UTC"),
        pd.Timestamp("2026-10-31 23:00", tz="UTC"),
    ]
    assert frame["ChargePeriodEnd"].isna().tolist() == [False, True]
    assert json.loads(frame["Tags"][0]) == {"team": "research", "user:team": "x"}
    assert frame["Tags"][1] is None
    assert frame["x_TeamTag"].tolist() == ["research", None]
    assert frame["x_Extra"].tolist() == ["keep", None]
    assert load.inputs[0].format == "focus-1.0"
    assert load.cost_view == "focus"


def test_focus_13_service_provider_name_fills_provider_name(tmp_path):
    path = write(
        tmp_path,
        "f13.csv",
        [
            "BilledCost,EffectiveCost,BillingCurrency,ChargeCategory,"
            "ChargePeriodStart,ServiceProviderName,InvoiceId",
            "3,3,EUR,Usage,2026-10-05,Contoso,INV1",
        ],
    )
    load = read_billing([path], "2026-10")
    assert load.inputs[0].format == "focus-1.3"
    assert load.frame["ProviderName"].tolist() == ["Contoso"]
    assert load.invoices == {"INV1": 3.0}


def test_focus_parquet_is_read(tmp_path):
    frame = pd.DataFrame(
        {
            "BilledCost": [1.0, 4.0],
            "EffectiveCost": [0.5, 4.0],
            "BillingCurrency": ["USD", "USD"],
            "ChargeCategory": ["Usage", "Tax"],
            "ChargePeriodStart": pd.to_datetime(["2026-10-02", "2026-11-01"]),
        }
    )
    path = tmp_path / "focus.parquet"
    frame.to_parquet(path)
    load = read_billing([str(path)], "2026-10")
    assert load.frame["EffectiveCost"].tolist() == [0.5]
    assert load.out_of_period == {"rows": 1, "billed_cost": 4.0}


def test_commitment_purchase_with_effective_cost_counts_zero_and_is_reported(
    tmp_path,
):
    path = write(
        tmp_path,
        "p.csv",
        [
            HEADER,
            "100,100,USD,Purchase,2026-10-01,NULL,One-Time,sp-1,A1,NULL,NULL",
            "10,8,USD,Usage,2026-10-01,NULL,Usage-Based,sp-1,A1,NULL,NULL",
            "5,5,USD,Purchase,2026-10-01,NULL,One-Time,NULL,A1,NULL,NULL",
        ],
    )
    load = read_billing([path], "2026-10")
    assert load.frame["EffectiveCost"].tolist() == [0.0, 8.0, 5.0]
    warned = [f for f in load.findings if f.check.startswith("commitment_purchase")]
    assert [(w.severity, w.count, w.examples) for w in warned] == [
        (Severity.WARNING, 1, [1])
    ]


def test_charge_category_outside_focus_blocks(tmp_path):
    path = write(
        tmp_path,
        "c.csv",
        [HEADER, "1,1,USD,Rebate,2026-10-01,NULL,NULL,NULL,A1,NULL,NULL"],
    )
    load = read_billing([path], "2026-10")
    blocking = [f for f in load.findings if f.severity == Severity.BLOCKING]
    assert [(f.check, f.column, f.examples) for f in blocking] == [
        ("charge_category", "ChargeCategory", [1])
    ]
    assert "'Rebate'" in blocking[0].message


def test_missing_required_focus_column_blocks(tmp_path):
    path = write(tmp_path, "r.csv", ["BilledCost,ChargePeriodStart", "1,2026-10-01"])
    load = read_billing([path], "2026-10")
    missing = {f.column for f in load.findings if f.check == "required_column"}
    assert missing == {"ChargeCategory", "EffectiveCost", "BillingCurrency"}


def independent_sums(path, month):
    """Sums with the csv module and Decimal, not pandas."""
    billed = effective = Decimal(0)
    rows = 0
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["ChargePeriodStart"].startswith(month):
                billed += Decimal(row["BilledCost"])
                effective += Decimal(row["EffectiveCost"])
                rows += 1
    return rows, billed, effective


@pytest.mark.real_data
def test_real_focus_sample_september_2024(real_data):
    path = real_data / "focus" / "focus_sample.csv"
    load = read_billing([str(path)], "2024-09", team_tag="business_unit")
    rows, billed, effective = independent_sums(path, "2024-09")
    frame = load.frame
    assert len(frame) == rows == 1000
    assert round(frame["BilledCost"].sum(), 2) == float(round(billed, 2)) == 20.52
    assert round(frame["EffectiveCost"].sum(), 2) == float(round(effective, 2)) == 14.98
    assert [f for f in load.findings if f.severity == Severity.BLOCKING] == []
    with open(path, newline="", encoding="utf-8") as handle:
        tags = [row["Tags"] for row in csv.DictReader(handle)]
    tagged = [json.loads(t).get("business_unit") for t in tags if t != "NULL"]
    assert sorted(frame["x_TeamTag"].dropna()) == sorted(t for t in tagged if t)
    assert load.inputs[0].rows == 1000
    assert len(load.inputs[0].sha256) == 64
