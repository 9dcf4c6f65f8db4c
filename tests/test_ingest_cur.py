"""AWS CUR onto the canonical billing frame: mapping, amortization, dialects, tags."""

from __future__ import annotations

import csv
import gzip
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest.billing import read_billing
from transforms.findings import Severity

LEGACY = (
    "bill/InvoiceId,bill/PayerAccountId,lineItem/UsageAccountId,lineItem/LineItemType,"
    "lineItem/UsageStartDate,lineItem/UsageEndDate,lineItem/ProductCode,"
    "lineItem/UsageAmount,lineItem/CurrencyCode,lineItem/UnblendedCost,"
    "savingsPlan/SavingsPlanEffectiveCost"
)


def write(tmp_path, name: str, text: str, encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def checks(load, severity=Severity.BLOCKING):
    return sorted(f.check for f in load.findings if f.severity == severity)


def test_savings_plan_covered_usage_and_its_negation_amortize_to_the_plan_rate(
    tmp_path,
):
    text = "\n".join(
        [
            LEGACY,
            "I1,111,222,SavingsPlanCoveredUsage,2026-10-01T00:00:00Z,"
            "2026-10-01T01:00:00Z,AmazonEC2,1,USD,2.00,1.40",
            "I1,111,222,SavingsPlanNegation,2026-10-01T00:00:00Z,"
            "2026-10-01T01:00:00Z,AmazonEC2,1,USD,-2.00,",
            "I1,111,222,Usage,2026-10-01T01:00:00Z,2026-10-01T02:00:00Z,"
            "AmazonEC2,1,USD,10.00,",
        ]
    )
    load = read_billing([write(tmp_path, "cur.csv", text)], "2026-10")
    frame = load.frame
    assert frame["BilledCost"].sum() == pytest.approx(10.00, abs=1e-9)
    assert frame["EffectiveCost"].sum() == pytest.approx(11.40, abs=1e-9)
    assert frame["ConsumedQuantity"].sum() == pytest.approx(2.0)
    assert frame["ConsumedQuantity"].isna().tolist() == [False, True, False]
    assert set(frame["ChargeCategory"]) == {"Usage"}
    assert load.cost_view == "unblended"
    assert load.invoices == {"I1": pytest.approx(10.0)}
    assert not load.provisional
    assert checks(load) == []


RI_SP_HEADER = (
    "lineItem/LineItemType,lineItem/UsageStartDate,lineItem/CurrencyCode,"
    "lineItem/UnblendedCost,savingsPlan/TotalCommitmentToDate,"
    "savingsPlan/UsedCommitment,reservation/UnusedAmortizedUpfrontFeeForBillingPeriod,"
    "reservation/UnusedRecurringFee,reservation/ReservationARN,"
    "reservation/EffectiveCost"
)


@pytest.mark.parametrize(
    ("row", "effective"),
    [
        # recurring SP fee: only commitment not used (100 - 70)
        ("SavingsPlanRecurringFee,2026-10-01,USD,100,100,70,,,,", 30.0),
        # upfront SP fee: amortized into covered usage, so 0 here
        ("SavingsPlanUpfrontFee,2026-10-01,USD,500,,,,,,", 0.0),
        # RIFee: unused amortized upfront + unused recurring
        ("RIFee,2026-10-01,USD,50,,,4.5,2.5,arn:ri,", 7.0),
        # the RI upfront payment is a Fee with a reservation ARN: 0
        ("Fee,2026-10-01,USD,300,,,,,arn:ri,", 0.0),
        # another Fee (no reservation) costs its unblended amount
        ("Fee,2026-10-01,USD,12.5,,,,,,", 12.5),
        # RI covered usage costs the reservation's effective cost
        ("DiscountedUsage,2026-10-01,USD,0,,,,,arn:ri,0.75", 0.75),
        # credits and refunds stay their own lines at their unblended amount
        ("Credit,2026-10-01,USD,-33.86,,,,,,", -33.86),
        ("Refund,2026-10-01,USD,-1.5,,,,,,", -1.5),
    ],
)
def test_commitment_fees_add_only_their_unused_part(tmp_path, row, effective):
    path = write(tmp_path, "cur.csv", RI_SP_HEADER + "\n" + row + "\n")
    load = read_billing([path], "2026-10")
    assert load.frame["EffectiveCost"].sum() == pytest.approx(effective, abs=1e-9)
    billed = float(row.split(",")[3])
    assert load.frame["BilledCost"].sum() == pytest.approx(billed, abs=1e-9)


def test_credit_keeps_gross_credit_and_net_apart(tmp_path):
    text = (
        RI_SP_HEADER
        + "\nUsage,2026-10-02,USD,33.86,,,,,,\nCredit,2026-10-02,USD,-33.86,,,,,,\n"
    )
    frame = read_billing([write(tmp_path, "c.csv", text)], "2026-10").frame
    by_category = frame.groupby("ChargeCategory")["EffectiveCost"].sum()
    assert by_category["Usage"] == pytest.approx(33.86)
    assert by_category["Credit"] == pytest.approx(-33.86)
    assert frame["EffectiveCost"].sum() == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(
    ("kind", "category"),
    [
        ("Usage", "Usage"),
        ("DiscountedUsage", "Usage"),
        ("SavingsPlanCoveredUsage", "Usage"),
        ("SavingsPlanNegation", "Usage"),
        ("RIFee", "Purchase"),
        ("Fee", "Purchase"),
        ("SavingsPlanRecurringFee", "Purchase"),
        ("SavingsPlanUpfrontFee", "Purchase"),
        ("Tax", "Tax"),
        ("Credit", "Credit"),
        ("Refund", "Credit"),
        ("BundledDiscount", "Credit"),
        ("EdpDiscount", "Credit"),
        ("PrivateRateDiscount", "Credit"),
        ("SomethingNew", "Adjustment"),  # anything else
    ],
)
def test_line_item_type_maps_to_charge_category(tmp_path, kind, category):
    text = RI_SP_HEADER + f"\n{kind},2026-10-01,USD,1,,,,,,\n"
    frame = read_billing([write(tmp_path, "k.csv", text)], "2026-10").frame
    assert frame["ChargeCategory"].tolist() == [category]


DESCRIBED = (
    "bill/BillingEntity,bill/InvoicingEntity,bill/PayerAccountId,bill/InvoiceId,"
    "lineItem/UsageAccountId,lineItem/ResourceId,lineItem/ProductCode,"
    "product/ProductName,lineItem/LineItemType,lineItem/UsageStartDate,"
    "lineItem/CurrencyCode,lineItem/UnblendedCost"
)


def test_descriptive_columns_follow_the_design_tables(tmp_path):
    text = "\n".join(
        [
            DESCRIBED,
            'AWS,"Amazon Web Services, Inc.",111,INV9,222,i-1,AmazonEC2,'
            "Amazon Elastic Compute Cloud,Usage,2026-10-01,USD,1",
            'AWS Marketplace,"Amazon Web Services, Inc.",111,INV9,222,,prod-x,'
            ",Usage,2026-10-01,USD,2",
            'AWS,"Amazon Web Services, Inc.",111,INV9,222,,AmazonS3,'
            ",Usage,2026-10-01,USD,3",
        ]
    )
    frame = read_billing([write(tmp_path, "d.csv", text)], "2026-10").frame
    first = frame.iloc[0]
    assert first["PublisherName"] == "AWS"
    assert first["InvoiceIssuerName"] == "Amazon Web Services, Inc."
    assert first["ProviderName"] == "AWS"
    assert first["BillingAccountId"] == "111"
    assert first["SubAccountId"] == "222"
    assert first["ResourceId"] == "i-1"
    assert first["InvoiceId"] == "INV9"
    assert frame["ServiceName"].tolist() == [
        "Amazon Elastic Compute Cloud",
        "prod-x",  # no product name: the product code
        "AmazonS3",
    ]
    assert frame["ServiceCategory"].tolist() == ["Compute", "Other", "Storage"]
    assert frame["x_Marketplace"].tolist() == [False, True, False]


def test_net_columns_are_used_for_every_line_when_present(tmp_path):
    text = "\n".join(
        [
            "lineItem/LineItemType,lineItem/UsageStartDate,lineItem/CurrencyCode,"
            "lineItem/UnblendedCost,lineItem/NetUnblendedCost,"
            "savingsPlan/SavingsPlanEffectiveCost,"
            "savingsPlan/NetSavingsPlanEffectiveCost",
            "Usage,2026-10-01,USD,10,9,,",
            "SavingsPlanCoveredUsage,2026-10-01,USD,2,1.8,1.4,1.3",
            "SavingsPlanNegation,2026-10-01,USD,-2,-1.8,,",
        ]
    )
    load = read_billing([write(tmp_path, "n.csv", text)], "2026-10")
    assert load.cost_view == "net"
    assert load.frame["BilledCost"].sum() == pytest.approx(9.0)
    assert load.frame["EffectiveCost"].sum() == pytest.approx(9.0 + 1.3)


@pytest.mark.parametrize(
    ("drop", "named"),
    [
        ("lineItem/LineItemType", "lineItem/LineItemType"),
        ("lineItem/UnblendedCost", "lineItem/UnblendedCost"),
        ("lineItem/UsageStartDate", "lineItem/UsageStartDate"),
        ("lineItem/CurrencyCode", "lineItem/CurrencyCode"),
    ],
)
def test_missing_required_column_blocks_naming_it(tmp_path, drop, named):
    header = [
        "lineItem/LineItemType",
        "lineItem/UsageStartDate",
        "lineItem/CurrencyCode",
        "lineItem/UnblendedCost",
    ]
    values = ["Usage", "2026-10-01", "USD", "1"]
    keep = [i for i, h in enumerate(header) if h != drop]
    text = ",".join(header[i] for i in keep) + "\n" + ",".join(values[i] for i in keep)
    path = write(tmp_path, "m.csv", text + "\n")
    load = read_billing([path], "2026-10")
    blocking = [f for f in load.findings if f.check == "required_column"]
    assert [(f.column, f.file) for f in blocking] == [(named, path)]
    assert named in blocking[0].message


def test_optional_columns_may_be_absent_with_a_warning_only(tmp_path):
    text = (
        "lineItem/LineItemType,lineItem/UsageStartDate,lineItem/CurrencyCode,"
        "lineItem/UnblendedCost\nUsage,2026-10-01,USD,1\n"
    )
    load = read_billing([write(tmp_path, "o.csv", text)], "2026-10")
    assert checks(load) == []
    assert "optional_column" in checks(load, Severity.WARNING)
    assert load.frame["EffectiveCost"].tolist() == [1.0]


def test_unparseable_cost_and_time_block_with_rows_and_values(tmp_path):
    rows = ["Usage,2026-10-01,USD,1"] * 3
    rows[1] = "Usage,2026-10-01,USD,one dollar"
    rows.append("Usage,yesterday,USD,2")
    text = (
        "lineItem/LineItemType,lineItem/UsageStartDate,lineItem/CurrencyCode,"
        "lineItem/UnblendedCost\n" + "\n".join(rows) + "\n"
    )
    load = read_billing([write(tmp_path, "u.csv", text)], "2026-10")
    found = {f.check: f for f in load.findings if f.severity == Severity.BLOCKING}
    cost = found["unparseable_cost"]
    assert (cost.column, cost.count, cost.examples) == (
        "lineItem/UnblendedCost",
        1,
        [2],
    )
    assert "'one dollar'" in cost.message
    stamp = found["unparseable_timestamp"]
    assert (stamp.column, stamp.count, stamp.examples) == (
        "lineItem/UsageStartDate",
        1,
        [4],
    )


def test_quoted_commas_boms_crlf_and_e_notation(tmp_path):
    header = "bill/InvoicingEntity,lineItem/LineItemType,lineItem/UsageStartDate,"
    header += "lineItem/CurrencyCode,lineItem/UnblendedCost"
    lines = [
        "\ufeff" + header,
        '"Amazon Web Services Canada, Inc.",Usage,2026-10-01T00:00:00Z,USD,1.5E-2',
        '\ufeff"Amazon Web Services Canada, Inc.",Tax,2026-10-01T00:00:00Z,USD,2e1',
    ]
    path = tmp_path / "b.csv.gz"
    path.write_bytes(gzip.compress("\r\n".join(lines).encode() + b"\r\n"))
    load = read_billing([str(path)], "2026-10")
    frame = load.frame
    assert checks(load) == []
    assert frame["BilledCost"].sum() == pytest.approx(20.015)
    assert (
        frame["InvoiceIssuerName"].tolist() == ["Amazon Web Services Canada, Inc."] * 2
    )
    assert frame["x_SourceRow"].tolist() == [1, 2]
    assert load.inputs[0].format == "cur-legacy"
    assert load.inputs[0].rows == 2


def test_slash_tag_keys_differing_in_colon_or_slash_stay_distinct(tmp_path):
    text = (
        "lineItem/LineItemType,lineItem/UsageStartDate,lineItem/CurrencyCode,"
        "lineItem/UnblendedCost,resourceTags/user:team,resourceTags/user/team\n"
        "Usage,2026-10-01,USD,1, Research ,ops\n"
    )
    load = read_billing([write(tmp_path, "t.csv", text)], "2026-10")
    row = load.frame.iloc[0]
    assert json.loads(row["Tags"]) == {"user:team": " Research ", "user/team": "ops"}
    assert row["x_TeamTag"] == " Research "
    assert "tag_key_collision" not in checks(load, Severity.WARNING)


def test_athena_snake_case_finds_team_and_reports_collisions(tmp_path):
    text = (
        "line_item_line_item_type,line_item_usage_start_date,line_item_currency_code,"
        "line_item_unblended_cost,bill_invoice_id,resource_tags_user_team,"
        "resource_tags_user_team\n"
        "Usage,2026-10-01 00:00:00,USD,4,INV,research,ops\n"
    )
    load = read_billing([write(tmp_path, "a.csv", text)], "2026-10")
    assert load.inputs[0].format == "cur-athena"
    row = load.frame.iloc[0]
    assert row["x_TeamTag"] == "research"
    assert json.loads(row["Tags"]) == {"user_team": "research"}
    assert "tag_key_collision" in checks(load, Severity.WARNING)


def test_mixed_headers_are_read(tmp_path):
    text = (
        "lineItem/LineItemType,line_item_usage_start_date,lineItem/CurrencyCode,"
        "line_item_unblended_cost\nUsage,2026-10-01,USD,4\n"
    )
    load = read_billing([write(tmp_path, "x.csv", text)], "2026-10")
    assert load.inputs[0].format == "cur-mixed"
    assert load.frame["BilledCost"].tolist() == [4.0]


def cur2_table(tags):
    return pa.table(
        {
            "line_item_line_item_type": ["Usage", "Usage"],
            "line_item_usage_start_date": pa.array(
                [pd.Timestamp("2026-10-01"), pd.Timestamp("2026-09-30 23:00")],
                pa.timestamp("ms"),
            ),
            "line_item_currency_code": ["USD", "USD"],
            "line_item_unblended_cost": [1.25, 7.0],
            "bill_payer_account_id": ["111", "111"],
            "bill_invoice_id": ["INV", "INV"],
            "resource_tags": tags,
        }
    )


def test_cur2_parquet_reads_the_resource_tags_map(tmp_path):
    tags = pa.array(
        [[("user_team", "research")], [("user:team", "a"), ("user/team", "b")]],
        pa.map_(pa.string(), pa.string()),
    )
    path = tmp_path / "part-0.snappy.parquet"
    pq.write_table(cur2_table(tags), path)
    load = read_billing([str(path)], "2026-10")
    assert load.inputs[0].format == "cur-2.0"
    assert load.frame["BilledCost"].tolist() == [1.25]
    assert load.frame["x_TeamTag"].tolist() == ["research"]
    assert load.out_of_period == {"rows": 1, "billed_cost": 7.0}
    assert "tag_key_collision" in checks(load, Severity.WARNING)


def test_cur2_csv_reads_resource_tags_as_json_text(tmp_path):
    path = tmp_path / "export-00001.csv"
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(
            [
                "line_item_line_item_type",
                "line_item_usage_start_date",
                "line_item_currency_code",
                "line_item_unblended_cost",
                "resource_tags",
            ]
        )
        out.writerow(["Usage", "2026-10-03T00:00:00Z", "EUR", "3", '{"user_team":"x"}'])
    load = read_billing([str(path)], "2026-10")
    assert load.inputs[0].format == "cur-2.0"
    assert load.frame["x_TeamTag"].tolist() == ["x"]
    assert load.frame["BillingCurrency"].tolist() == ["EUR"]
