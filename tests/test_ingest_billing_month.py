"""What a month contains: month selection, CUR deliveries, real CUR exports."""

from __future__ import annotations

import csv
import gzip
import json
import shutil
from decimal import Decimal

import pytest

from ingest import billing_io
from ingest.billing import read_billing
from transforms.errors import IngestError
from transforms.findings import Severity

HEADER = (
    "bill/InvoiceId,bill/PayerAccountId,bill/BillingPeriodStartDate,"
    "lineItem/LineItemType,lineItem/UsageStartDate,lineItem/CurrencyCode,"
    "lineItem/UnblendedCost"
)


def blocking(load):
    return sorted(f.check for f in load.findings if f.severity == Severity.BLOCKING)


def cur_rows(lines):
    return HEADER + "\n" + "\n".join(lines) + "\n"


def test_month_is_half_open_in_utc_and_restatements_are_listed(tmp_path):
    path = tmp_path / "cur.csv"
    path.write_text(
        cur_rows(
            [
                # start of October: in
                "I,1,2026-10-01T00:00:00Z,Usage,2026-10-01T00:00:00Z,USD,1",
                # 1 November 00:00 UTC belongs to November: out of period
                "I,1,2026-10-01T00:00:00Z,Usage,2026-11-01T00:00:00Z,USD,2",
                # 02:00+03:00 on 1 Nov is 23:00 UTC on 31 Oct: in
                "I,1,2026-10-01T00:00:00Z,Usage,2026-11-01T02:00:00+03:00,USD,4",
                # September row on the October bill: a correction of September
                "I,1,2026-10-01T00:00:00Z,Usage,2026-09-15T00:00:00Z,USD,8",
            ]
        )
    )
    load = read_billing([str(path)], "2026-10")
    assert load.frame["BilledCost"].tolist() == [1.0, 4.0]
    assert load.out_of_period == {"rows": 1, "billed_cost": 2.0}
    assert load.restatements == [{"month": "2026-09", "rows": 1, "billed_cost": 8.0}]
    assert load.frame["x_SourceRow"].tolist() == [1, 3]


def test_chunked_reading_gives_the_same_rows(tmp_path, monkeypatch):
    lines = [f"I,1,,Usage,2026-10-{1 + i % 28:02d},USD,{i}.25" for i in range(50)]
    path = tmp_path / "big.csv"
    path.write_text(cur_rows(lines))
    whole = read_billing([str(path)], "2026-10").frame
    monkeypatch.setattr(billing_io, "CHUNK_ROWS", 7)
    chunked = read_billing([str(path)], "2026-10").frame
    assert chunked["BilledCost"].sum() == whole["BilledCost"].sum() == 1237.5
    assert chunked["x_SourceRow"].tolist() == list(range(1, 51))


def test_same_account_in_two_formats_blocks(tmp_path):
    (tmp_path / "cur.csv").write_text(cur_rows(["I,111,,Usage,2026-10-01,USD,1"]))
    (tmp_path / "focus.csv").write_text(
        "BilledCost,EffectiveCost,BillingCurrency,ChargeCategory,ChargePeriodStart,"
        "BillingAccountId\n1,1,USD,Usage,2026-10-01,111\n"
    )
    load = read_billing([str(tmp_path)], "2026-10")
    assert blocking(load) == ["account_in_two_formats"]
    assert "111" in next(f.message for f in load.findings if f.check.startswith("acc"))


def test_cur_row_without_invoice_id_is_provisional(tmp_path):
    (tmp_path / "cur.csv").write_text(
        cur_rows(["I,1,,Usage,2026-10-01,USD,1", ",1,,Tax,2026-10-01,USD,0.5"])
    )
    load = read_billing([str(tmp_path / "cur.csv")], "2026-10")
    assert load.provisional
    assert load.invoices == {"I": 1.0, "": 0.5}


def test_not_csv_or_parquet_raises(tmp_path):
    path = tmp_path / "bill.xlsx"
    path.write_bytes(b"PK\x03\x04\x00\x00binary")
    with pytest.raises(IngestError, match=r"not a CSV, CSV\.gz or Parquet"):
        read_billing([str(path)], "2026-10")
    with pytest.raises(IngestError, match="source not found"):
        read_billing([str(tmp_path / "missing.csv")], "2026-10")


def test_no_rows_for_the_month_blocks(tmp_path):
    (tmp_path / "cur.csv").write_text(cur_rows(["I,1,,Usage,2026-08-01,USD,1"]))
    load = read_billing([str(tmp_path / "cur.csv")], "2026-10")
    assert blocking(load) == ["no_rows_for_month"]


def legacy_delivery(root, period, assembly, rows, stale=None):
    """A legacy CUR delivery: period folder, manifest, assembly folder(s)."""
    folder = root / "reports" / "cur" / period
    keys = [f"/cur/{period}/{assembly}/cur-1.csv.gz"]
    for name in [assembly] + ([stale] if stale else []):
        (folder / name).mkdir(parents=True)
        body = cur_rows(rows if name == assembly else ["I,1,,Usage,2026-10-02,USD,999"])
        (folder / name / "cur-1.csv.gz").write_bytes(gzip.compress(body.encode()))
    manifest = {
        "assemblyId": assembly,
        "bucket": "",
        "reportKeys": keys,
        "columns": [{"category": "lineItem", "name": "UnblendedCost"}],
    }
    (folder / "cur-Manifest.json").write_text(json.dumps(manifest))
    (folder / assembly / "cur-Manifest.json").write_text(json.dumps(manifest))


def test_delivery_reads_current_assembly_and_lookahead(tmp_path):
    legacy_delivery(
        tmp_path,
        "20261001-20261101",
        "new",
        ["I,1,2026-10-01,Usage,2026-10-03,USD,10"],
        stale="old",
    )
    legacy_delivery(
        tmp_path,
        "20261101-20261201",
        "nov",
        [
            "I,1,2026-11-01,Usage,2026-10-31,USD,5",  # a late October row
            "I,1,2026-11-01,Usage,2026-11-02,USD,7",
        ],
    )
    legacy_delivery(
        tmp_path,
        "20261201-20270101",
        "dec",
        ["I,1,2026-12-01,Usage,2026-10-30,USD,100"],  # beyond the lookahead
    )
    load = read_billing([str(tmp_path / "reports")], "2026-10", lookahead_months=1)
    assert sorted(load.frame["BilledCost"]) == [5.0, 10.0]
    assert len(load.inputs) == 2
    assert "stale_assembly" in [f.check for f in load.findings]
    assert load.out_of_period["rows"] == 1
    none = read_billing([str(tmp_path / "reports")], "2026-10", lookahead_months=0)
    assert none.frame["BilledCost"].tolist() == [10.0]


def test_cur2_layout_reads_the_period_folder(tmp_path):
    export = tmp_path / "exports" / "my-export"
    for period, day in (("2026-10", "2026-10-04"), ("2026-09", "2026-09-04")):
        data = export / "data" / f"BILLING_PERIOD={period}"
        data.mkdir(parents=True)
        (data / "my-export-00001.csv.gz").write_bytes(
            gzip.compress(
                b"line_item_line_item_type,line_item_usage_start_date,"
                b"line_item_currency_code,line_item_unblended_cost,resource_tags\n"
                + f'Usage,{day},USD,3,"{{""user_team"":""t""}}"\n'.encode()
            )
        )
        meta = export / "metadata" / f"BILLING_PERIOD={period}"
        meta.mkdir(parents=True)
        key = f"s3://bkt/exports/my-export/data/BILLING_PERIOD={period}/"
        (meta / "my-export-Manifest.json").write_text(
            json.dumps({"dataFiles": [key + "my-export-00001.csv.gz"]})
        )
    load = read_billing([str(tmp_path / "exports")], "2026-10")
    assert load.frame["BilledCost"].tolist() == [3.0]
    assert load.inputs[0].format == "cur-2.0"
    assert load.frame["x_TeamTag"].tolist() == ["t"]


def independent_cur(path, month, opener=open):
    """Billed and amortized sums per line item type, with csv and Decimal."""
    totals: dict[str, Decimal] = {}
    effective = Decimal(0)
    with opener(path, "rt", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if not row["lineItem/UsageStartDate"].startswith(month):
                continue
            kind = row["lineItem/LineItemType"]
            cost = Decimal(row["lineItem/UnblendedCost"])
            totals[kind] = totals.get(kind, Decimal(0)) + cost
            sp = row.get("savingsPlan/SavingsPlanEffectiveCost")
            effective += Decimal(sp) if kind == "SavingsPlanCoveredUsage" else cost
    return totals, effective


def cents(value) -> float:
    return float(round(Decimal(str(value)), 2))


@pytest.mark.real_data
def test_real_legacy_sample_november_2023(real_data):
    path = real_data / "aws_cur_legacy" / "sample-anonymous-aws-export-dataset.csv"
    load = read_billing([str(path)], "2023-11")
    totals, effective = independent_cur(path, "2023-11")
    frame = load.frame
    assert cents(totals["Usage"]) == 1.60 and cents(totals["Tax"]) == 0.08
    assert cents(frame["BilledCost"].sum()) == cents(sum(totals.values())) == 1.68
    assert cents(frame["EffectiveCost"].sum()) == cents(effective) == 1.68
    by_category = frame.groupby("ChargeCategory")["BilledCost"].sum()
    assert cents(by_category["Usage"]) == 1.60 and cents(by_category["Tax"]) == 0.08
    assert len(frame) == 1281 and load.inputs[0].format == "cur-legacy"
    assert blocking(load) == []
    assert load.provisional  # the export has rows without an InvoiceId


@pytest.mark.real_data
def test_real_koku_nok_june_2023_keeps_its_currency(real_data):
    path = real_data / "aws_cur_legacy" / "koku-2023-06-nok.csv"
    load = read_billing([str(path)], "2023-06")
    totals, effective = independent_cur(path, "2023-06")
    frame = load.frame
    assert set(frame["BillingCurrency"]) == {"NOK"}
    assert cents(frame["BilledCost"].sum()) == cents(sum(totals.values())) == 30.00
    assert cents(frame["EffectiveCost"].sum()) == cents(effective) == 0.30
    assert blocking(load) == []


@pytest.mark.real_data
def test_every_real_focus_and_cur_file_loads(real_data):
    for folder in ("focus", "aws_cur_legacy"):
        for path in sorted((real_data / folder).glob("*.csv")):
            load = read_billing([str(path)], "2000-01")
            assert load.inputs[0].rows > 0, path
            assert blocking(load) == ["no_rows_for_month"], path


BUCKET_CSV = (
    "koku-local/20180801-20180901/16e57707-f9e3-49be-8be6-b84e684b5194/"
    "koku-local-1.csv.gz"
)


def bucket_expectation(real_data):
    """Independent sums of the August 2018 delivery, by start month."""
    by_month: dict[str, Decimal] = {}
    path = real_data / "aws_cur_bucket" / BUCKET_CSV
    with gzip.open(path, "rt", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            month = row["lineItem/UsageStartDate"][:7]
            by_month[month] = by_month.get(month, Decimal(0)) + Decimal(
                row["lineItem/UnblendedCost"]
            )
    return by_month


@pytest.mark.real_data
def test_real_cur_bucket_august_2018_counts_only_august(real_data):
    by_month = bucket_expectation(real_data)
    load = read_billing([str(real_data / "aws_cur_bucket")], "2018-08")
    frame = load.frame
    assert cents(frame["BilledCost"].sum()) == cents(by_month["2018-08"])
    assert cents(frame["EffectiveCost"].sum()) == cents(by_month["2018-08"])
    outside = by_month["2018-06"] + by_month["2018-07"]
    assert cents(load.out_of_period["billed_cost"]) == cents(outside)
    assert load.out_of_period["rows"] == 13380 - len(frame)
    assert load.restatements == []  # their rows carry their own billing period
    assert [i.uri for i in load.inputs] == [
        str(real_data / "aws_cur_bucket" / BUCKET_CSV)
    ]


@pytest.mark.real_data
def test_report_key_resolves_after_dropping_leading_folders(real_data, tmp_path):
    copy = tmp_path / "inner"
    shutil.copytree(real_data / "aws_cur_bucket" / "koku-local", copy)
    load = read_billing([str(copy)], "2018-08")
    assert len(load.frame) == 776


def test_a_gzip_with_a_damaged_body_is_an_ingest_error_naming_the_file(tmp_path):
    # gzip magic bytes, then junk: zlib's own error used to escape as a traceback
    from transforms.errors import IngestError

    bad = tmp_path / "bill.csv.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00junkjunkjunk")
    with pytest.raises(IngestError) as info:
        read_billing([str(bad)], "2026-10")
    assert str(bad) in str(info.value)
    assert "download it again" in str(info.value)
