"""A large FOCUS file rolled up to one row per day reads as the same bill as its lines.

The generated month: hourly lines of 120 resources over October 2026 (some tagged with
`team`, some with `user:team`, some untagged), a monthly credit and tax line, a line
dated in November (out of period), a September line billed in October (a restatement),
and a commitment Purchase line carrying EffectiveCost. Each file is read twice: line by
line (ROLLUP_MIN_LINES above its size) and rolled up (ROLLUP_MIN_LINES lowered).
"""

from __future__ import annotations

import functools
import gzip

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest import billing_rollup
from ingest.billing import read_billing
from ingest.billing_common import LINE_COUNT
from transforms.findings import Severity

MONTH = "2026-10"
RESOURCES = 120
SERVICES = ("Amazon Elastic Compute Cloud", "Amazon Simple Storage Service")


def hourly_lines() -> pd.DataFrame:
    """One line per resource per hour of October, amounts with fractions of a cent."""
    return _hourly_lines().copy()


@functools.cache
def _hourly_lines() -> pd.DataFrame:
    rng = np.random.default_rng(10)
    hours = pd.date_range("2026-10-01", "2026-11-01", freq="h", tz="UTC")[:-1]
    resource = np.repeat(np.arange(RESOURCES), len(hours))
    start = np.tile(hours, RESOURCES)
    quantity = rng.uniform(0.1, 1.0, len(start)).round(6)
    price = (1 + resource % 7) * 0.0731
    billed = quantity * price
    return pd.DataFrame(
        {
            "BilledCost": billed,
            "EffectiveCost": billed * 0.83,
            "ListCost": billed * 1.1,
            "ContractedCost": billed,
            "ListUnitPrice": price,
            "PricingQuantity": quantity,
            "ConsumedQuantity": quantity,
            "BillingCurrency": "USD",
            "ChargeCategory": "Usage",
            "ChargeClass": None,
            "ChargePeriodStart": start,
            "ChargePeriodEnd": start + pd.Timedelta(hours=1),
            "BillingPeriodStart": pd.Timestamp("2026-10-01", tz="UTC"),
            "ServiceName": [SERVICES[r % 2] for r in resource],
            "ServiceCategory": [("Compute", "Storage")[r % 2] for r in resource],
            "ProviderName": "AWS",
            "PublisherName": "AWS",
            "InvoiceIssuerName": "AWS",
            "ResourceId": [f"i-{r:05d}" for r in resource],
            "BillingAccountId": "012345678901",
            "SubAccountId": [f"0000000000{r % 3}" for r in resource],
            "InvoiceId": [f"INV-{r % 2}" for r in resource],
            "CommitmentDiscountId": None,
            "Tags": [_tags(r) for r in resource],
        }
    )


def _tags(resource: int) -> str | None:
    if resource % 10 == 0:
        return None  # untagged
    if resource % 10 == 1:
        return '{"user:team": "Research "}'
    return f'{{"team": "team-{resource % 4}", "env": "prod"}}'


def special_lines() -> pd.DataFrame:
    """A credit, a tax line, an out-of-period line, a restatement, a commitment buy."""
    base = hourly_lines().iloc[:5].copy()
    base["ChargeCategory"] = ["Credit", "Tax", "Usage", "Usage", "Purchase"]
    base["BilledCost"] = [-120.37, 88.915, 5.5, 7.25, 1000.0]
    base["EffectiveCost"] = [-120.37, 88.915, 5.5, 7.25, 33.3]
    base["ChargePeriodStart"] = pd.to_datetime(
        [
            "2026-10-01T00:00:00Z",
            "2026-10-01T00:00:00Z",
            "2026-11-02T03:00:00Z",  # out of period
            "2026-09-20T05:00:00Z",  # billed in October: a restatement of September
            "2026-10-01T00:00:00Z",
        ],
        utc=True,
    )
    base["ChargePeriodEnd"] = base["ChargePeriodStart"] + pd.Timedelta(days=1)
    base["Tags"] = [None, None, '{"team": "team-1"}', '{"team": "team-1"}', None]
    base["CommitmentDiscountId"] = [None, None, None, None, "sp-1"]
    return base


def write(frame: pd.DataFrame, path) -> str:
    if str(path).endswith(".parquet"):
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
        return str(path)
    text = frame.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%SZ")
    data = text.replace(",,", ",NULL,").encode()
    if str(path).endswith(".gz"):
        path.write_bytes(gzip.compress(data, 1))
    else:  # a plain CSV as Excel saves it: with a byte-order mark
        path.write_bytes(b"\xef\xbb\xbf" + data)
    return str(path)


@pytest.fixture(scope="module")
def month_lines() -> pd.DataFrame:
    return pd.concat([hourly_lines(), special_lines()], ignore_index=True)


def read_both(path: str, monkeypatch):
    monkeypatch.setattr(billing_rollup, "ROLLUP_MIN_LINES", 10**9)
    lines = read_billing([path], MONTH)
    monkeypatch.setattr(billing_rollup, "ROLLUP_MIN_LINES", 1_000)
    rolled = read_billing([path], MONTH)
    return lines, rolled


def per_day(frame: pd.DataFrame) -> pd.DataFrame:
    keys = [
        frame["ChargePeriodStart"].dt.strftime("%Y-%m-%d"),
        frame["x_TeamTag"].fillna("(none)"),
        frame["ServiceName"],
        frame["ChargeCategory"],
    ]
    sums = frame.groupby(keys)[["BilledCost", "EffectiveCost"]].sum()
    return sums.round(2)


def finding_counts(load) -> list[tuple]:
    return sorted((f.severity, f.check, f.column, f.count) for f in load.findings)


@pytest.mark.parametrize("name", ["bill.csv.gz", "bill.csv", "bill.parquet"])
def test_rolled_up_read_gives_the_lines_money_invoices_and_findings(
    name, month_lines, tmp_path, monkeypatch
):
    path = write(month_lines, tmp_path / name)
    lines, rolled = read_both(path, monkeypatch)

    assert lines.frame[LINE_COUNT].eq(1).all()
    assert len(rolled.frame) < len(lines.frame) / 20
    assert rolled.lines == lines.lines == len(month_lines) - 2  # two lines not in Oct
    pd.testing.assert_frame_equal(per_day(rolled.frame), per_day(lines.frame))
    assert rolled.invoices.keys() == lines.invoices.keys()
    for invoice, billed in lines.invoices.items():
        assert rolled.invoices[invoice] == pytest.approx(billed, abs=0.005)
    assert finding_counts(rolled) == finding_counts(lines)
    assert rolled.out_of_period == pytest.approx(lines.out_of_period)
    assert rolled.restatements == lines.restatements
    assert [i.rows for i in rolled.inputs] == [len(month_lines)]


def test_rolled_up_money_matches_the_generated_lines(
    month_lines, tmp_path, monkeypatch
):
    path = write(month_lines, tmp_path / "bill.parquet")
    monkeypatch.setattr(billing_rollup, "ROLLUP_MIN_LINES", 1_000)
    load = read_billing([path], MONTH)

    october = month_lines["ChargePeriodStart"].dt.strftime("%Y-%m") == MONTH
    expected = month_lines[october]
    purchase = expected["CommitmentDiscountId"].notna()
    effective = expected["EffectiveCost"].where(~purchase, 0.0)
    assert round(load.frame["BilledCost"].sum(), 2) == round(
        expected["BilledCost"].sum(), 2
    )
    assert round(load.frame["EffectiveCost"].sum(), 2) == round(effective.sum(), 2)
    assert load.out_of_period == {"rows": 1, "billed_cost": 5.5}
    assert load.restatements == [{"month": "2026-09", "rows": 1, "billed_cost": 7.25}]
    commitment = [f for f in load.findings if f.check.startswith("commitment")]
    assert [(f.count, f.severity) for f in commitment] == [(1, Severity.WARNING)]


def test_a_day_of_one_resource_becomes_one_row_with_its_line_count(
    month_lines, tmp_path, monkeypatch
):
    path = write(month_lines, tmp_path / "bill.parquet")
    monkeypatch.setattr(billing_rollup, "ROLLUP_MIN_LINES", 1_000)
    frame = read_billing([path], MONTH).frame
    day = frame[
        (frame["ResourceId"] == "i-00007")
        & (frame["ChargeCategory"] == "Usage")
        & (frame["ChargePeriodStart"].dt.day == 3)
    ]

    source = month_lines[
        (month_lines["ResourceId"] == "i-00007")
        & (month_lines["ChargePeriodStart"].dt.day == 3)
        & (month_lines["ChargeCategory"] == "Usage")
    ]
    assert len(day) == 1
    row = day.iloc[0]
    assert row[LINE_COUNT] == 24
    assert row["ChargePeriodStart"] == pd.Timestamp("2026-10-03", tz="UTC")
    assert row["ChargePeriodEnd"] == pd.Timestamp("2026-10-04", tz="UTC")
    assert row["PricingQuantity"] == pytest.approx(source["PricingQuantity"].sum())
    assert row["ListUnitPrice"] == pytest.approx(source["ListUnitPrice"].iloc[0])
    assert row["BillingAccountId"] == "012345678901"  # text, leading zero kept


def bad_csv(tmp_path, column: str, value: str, at_line: int) -> str:
    frame = hourly_lines().iloc[:3000].copy()
    frame[column] = frame[column].astype(object)
    frame.loc[at_line - 1, column] = value
    return write(frame, tmp_path / "bad.csv.gz")


@pytest.mark.parametrize(
    "column, value, check",
    [
        # E-notation parses; stray text in a cost does not
        ("BilledCost", "12,5 USD", "unparseable_cost"),
        ("ChargePeriodStart", "yesterday", "unparseable_timestamp"),
        ("BillingCurrency", "NULL", "missing_value"),
    ],
)
def test_a_cell_that_does_not_parse_falls_back_to_line_findings(
    column, value, check, tmp_path, monkeypatch
):
    path = bad_csv(tmp_path, column, value, at_line=2500)
    monkeypatch.setattr(billing_rollup, "ROLLUP_MIN_LINES", 1_000)
    load = read_billing([path], MONTH)

    found = [f for f in load.findings if f.check == check]
    assert [(f.severity, f.column, f.count, f.examples) for f in found] == [
        (Severity.BLOCKING, column, 1, [2500])
    ]
    assert load.frame[LINE_COUNT].eq(1).all()


def test_e_notation_costs_are_rolled_up(tmp_path, monkeypatch):
    frame = hourly_lines().iloc[:3000].copy()
    frame["BilledCost"] = [f"{v:.6E}" for v in frame["BilledCost"]]
    path = write(frame, tmp_path / "e.csv.gz")
    monkeypatch.setattr(billing_rollup, "ROLLUP_MIN_LINES", 1_000)
    load = read_billing([path], MONTH)

    assert load.frame[LINE_COUNT].max() == 24
    expected = sum(float(v) for v in frame["BilledCost"])
    assert round(load.frame["BilledCost"].sum(), 2) == round(expected, 2)


def test_a_small_file_is_read_line_by_line(tmp_path, monkeypatch):
    path = write(hourly_lines().iloc[:500], tmp_path / "small.parquet")
    monkeypatch.setattr(billing_rollup, "ROLLUP_MIN_LINES", 1_000)
    load = read_billing([path], MONTH)

    assert len(load.frame) == 500
    assert load.frame[LINE_COUNT].eq(1).all()


def test_charge_category_outside_focus_counts_the_lines_of_rolled_rows(
    tmp_path, monkeypatch
):
    frame = hourly_lines().iloc[:3000].copy()
    frame.loc[frame["ResourceId"] == "i-00001", "ChargeCategory"] = "Usge"
    path = write(frame, tmp_path / "cat.parquet")
    monkeypatch.setattr(billing_rollup, "ROLLUP_MIN_LINES", 1_000)
    load = read_billing([path], MONTH)

    found = [f for f in load.findings if f.check == "charge_category"]
    assert [(f.severity, f.count) for f in found] == [(Severity.BLOCKING, 744)]


@pytest.mark.parametrize(
    "types",
    [
        # Tags as a Parquet map: grouping needs its text
        {
            "ChargePeriodStart": "TIMESTAMP WITH TIME ZONE",
            "Tags": "MAP(VARCHAR, VARCHAR)",
        },
        # a cost DuckDB cannot turn into a number
        {"ChargePeriodStart": "TIMESTAMP WITH TIME ZONE", "BilledCost": "BLOB"},
        # a start that is not a time
        {"ChargePeriodStart": "BIGINT", "BilledCost": "DOUBLE"},
    ],
)
def test_columns_the_rollup_cannot_judge_leave_the_file_to_the_line_reader(types):
    assert billing_rollup.rollup_sql(types) is None


@pytest.mark.parametrize("kind", ["csv", "csv.gz", "parquet"])
def test_line_count_threshold_is_exact_around_the_limit(kind, tmp_path):
    frame = hourly_lines().iloc[:3000]
    if kind == "parquet":
        path = tmp_path / "f.parquet"
        write(frame, path)
    else:
        path = tmp_path / f"f.{kind}"
        text = frame.to_csv(index=False).encode()
        path.write_bytes(gzip.compress(text) if kind == "csv.gz" else text)

    assert billing_rollup.has_many_lines(path, kind, limit=2_999)
    assert not billing_rollup.has_many_lines(path, kind, limit=3_000)
    assert billing_rollup.has_many_lines(path, kind, limit=1_000)  # estimated
    assert not billing_rollup.has_many_lines(path, kind, limit=100_000)
