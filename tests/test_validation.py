"""Validation as a gate: what blocks (DESIGN §7), what warns, what pages show."""

from __future__ import annotations

import pandas as pd
import pytest

from ingest.config import Config, InventoryHost, ReportConfig
from ingest.validation import ValidationResult, blocking_table, validate_month
from transforms.crosscheck import CrossSourceContext
from transforms.findings import Finding, Severity, blocking, warnings
from transforms.schema import BILLING_COLUMNS, GPU_COLUMNS, PEOPLE_COLUMNS

MONTH = "2026-10"


def billing_frame(rows: int = 3, file: str = "bad.csv") -> pd.DataFrame:
    """A small, valid canonical billing frame: every FOCUS column, USD, October."""
    start = pd.Timestamp("2026-10-01", tz="UTC") + pd.to_timedelta(
        range(rows), unit="h"
    )
    data = {column: [None] * rows for column in BILLING_COLUMNS}
    data.update(
        BilledCost=[10.0 + i for i in range(rows)],
        EffectiveCost=[9.0 + i for i in range(rows)],
        ListCost=[2.0 * (i + 1) for i in range(rows)],
        ContractedCost=[10.0] * rows,
        ListUnitPrice=[2.0] * rows,
        PricingQuantity=[float(i + 1) for i in range(rows)],
        ConsumedQuantity=[float(i + 1) for i in range(rows)],
        ChargePeriodStart=start,
        ChargePeriodEnd=start + pd.Timedelta(hours=1),
        BillingPeriodStart=pd.Timestamp("2026-10-01", tz="UTC"),
        ChargeCategory=["Usage"] * rows,
        ServiceCategory=["Compute"] * rows,
        BillingAccountId=["acct-1"] * rows,
        BillingCurrency=["USD"] * rows,
        x_SourceFormat=["focus"] * rows,
        x_SourceFile=[file] * rows,
        x_SourceRow=list(range(1, rows + 1)),
    )
    return pd.DataFrame(data)


def run(billing=None, telemetry=None, people=None, config=None, **kwargs):
    if billing is None and "no_billing" not in kwargs:
        billing = billing_frame()
    kwargs.pop("no_billing", None)
    return validate_month(
        month=MONTH,
        billing=billing,
        telemetry=telemetry,
        people=people,
        reader_findings=kwargs.pop("reader_findings", []),
        config=config or Config(),
        **kwargs,
    )


def only(findings: list[Finding], check: str) -> Finding:
    matching = [f for f in findings if f.check == check]
    assert len(matching) == 1, [f.check for f in findings]
    return matching[0]


def test_a_clean_month_has_no_findings_and_counts_its_checks():
    result = run()

    assert result.findings == []
    assert result.failed == 0
    assert result.checks > 25  # every expectation of the billing contract ran
    assert result.rows_rejected == 0
    assert set(result.pages) == {
        "billing.html",
        "telemetry.html",
        "hr.html",
        "index.html",
    }


# --- the blocking list ---


def test_a_misspelt_charge_category_blocks_and_names_file_column_count_and_row():
    billing = billing_frame()
    billing.loc[1, "ChargeCategory"] = "Useage"

    result = run(billing)

    finding = only(blocking(result.findings), "charge_category")
    assert finding.message == (
        "billing file bad.csv, column 'ChargeCategory': "
        "expect_column_values_to_be_in_set failed on 1 row (row 2); expected one of "
        "Adjustment, Credit, Purchase, Tax, Usage; found 'Useage'. Fix ChargeCategory in the source "
        "or the reader's mapping, then re-run."
    )
    assert (finding.file, finding.count, finding.examples) == ("bad.csv", 1, [2])
    assert result.rows_rejected == 1


def test_a_cost_with_a_decimal_comma_blocks_as_a_cost_that_does_not_parse():
    billing = billing_frame()
    billing["BilledCost"] = pd.Series([10.0, 11.0, "12,5"], dtype=object)

    result = run(billing)

    finding = only(blocking(result.findings), "unparsed_value")
    assert finding.message == (
        "billing file bad.csv, column 'BilledCost': "
        "expect_column_values_to_be_in_type_list failed on 1 row (row 3); expected "
        "a number written with a decimal point (e.g. 12.5); found '12,5'. Write BilledCost as "
        "plain numbers in the source, then re-run."
    )
    assert "found '12,5'" in blocking_table(result)


def test_a_cost_column_left_as_text_blocks_as_a_whole():
    billing = billing_frame()
    billing["BilledCost"] = billing["BilledCost"].astype(str)

    result = run(billing)

    finding = only(blocking(result.findings), "unparsed_value")
    assert finding.message == (
        "billing, column 'BilledCost': expect_column_values_to_be_in_type_list "
        f"failed for the whole column (it holds {billing['BilledCost'].dtype} "
        "values); expected a number written with a decimal point (e.g. 12.5). "
        "Write BilledCost as plain numbers in the source, then re-run."
    )


def test_a_cost_the_reader_could_not_parse_blocks_with_the_first_20_row_numbers():
    billing = billing_frame(rows=30)
    billing.loc[4:, "EffectiveCost"] = None  # rows 5..30 did not parse

    result = run(billing)

    finding = only(blocking(result.findings), "unparsed_value")
    rows = ", ".join(str(n) for n in range(5, 25))
    assert finding.message == (
        "billing file bad.csv, column 'EffectiveCost': "
        "expect_column_values_to_not_be_null failed on 26 rows (first 20 rows: "
        f"{rows}); expected a value in every row. Fix EffectiveCost in those rows "
        "(or the reader's parsing), then re-run."
    )
    assert finding.examples == list(range(5, 25))


def test_rows_from_two_files_are_named_file_by_file():
    billing = pd.concat(
        [billing_frame(2, "a.csv"), billing_frame(2, "b.csv")], ignore_index=True
    )
    billing.loc[[1, 2], "ChargeCategory"] = "Useage"

    finding = only(run(billing).findings, "charge_category")

    assert finding.file == "a.csv, b.csv"
    assert finding.examples == ["a.csv:2", "b.csv:1"]
    assert "billing files a.csv, b.csv" in finding.message


def test_row_numbers_come_from_the_file_whatever_the_frame_index():
    billing = billing_frame(rows=4).iloc[1:]  # index labels 1..3 after a filter
    billing.loc[3, "ChargeCategory"] = "Useage"  # the file's row 4

    finding = only(run(billing).findings, "charge_category")

    assert finding.examples == [4]


def test_a_missing_required_column_blocks_and_its_other_checks_do_not_pile_up():
    billing = billing_frame().drop(columns=["BilledCost"])

    result = run(billing)

    finding = only(blocking(result.findings), "required_column")
    assert finding.message == (
        "billing: required column 'BilledCost' is missing; expected the column to "
        "be present. Map the billing export's header onto 'BilledCost' in its reader."
    )
    assert len(blocking(result.findings)) == 1


@pytest.mark.parametrize(
    ("fx", "blocks"),
    [
        ({}, True),  # EUR without a rate
        ({"EUR": 1.08}, False),  # the rate is there
    ],
)
def test_a_currency_without_a_rate_blocks(fx, blocks):
    billing = billing_frame()
    billing["BillingCurrency"] = "EUR"
    billing["BillingAccountId"] = "acct-eur"

    result = run(billing, config=Config(fx=fx))

    checks = [f.check for f in blocking(result.findings)]
    assert ("currency_without_rate" in checks) is blocks


def test_the_report_currency_needs_no_rate():
    billing = billing_frame()
    billing["BillingCurrency"] = "NOK"

    result = run(billing, config=Config(report=ReportConfig(currency="NOK")))

    assert blocking(result.findings) == []


@pytest.mark.parametrize(
    "billing",
    [
        None,  # no billing source gave anything
        billing_frame().iloc[0:0],  # a file with a header only
    ],
)
def test_no_billing_rows_for_the_month_blocks(billing):
    result = run(billing, no_billing=True)

    finding = only(blocking(result.findings), "no_rows_for_month")
    assert finding.message.startswith("billing: no billing rows for 2026-10;")


def test_billing_rows_all_outside_the_month_block_and_each_is_out_of_period():
    billing = billing_frame()
    billing["ChargePeriodStart"] = pd.Timestamp("2026-09-30 23:00", tz="UTC")
    billing["ChargePeriodEnd"] = pd.Timestamp("2026-10-01", tz="UTC")

    result = run(billing)

    assert only(blocking(result.findings), "no_rows_for_month")
    assert only(warnings(result.findings), "out_of_period").count == 3


def test_one_account_month_in_two_formats_blocks():
    billing = billing_frame()
    billing.loc[2, "x_SourceFormat"] = "aws-cur"

    finding = only(run(billing).findings, "account_month_formats")

    assert finding.severity == Severity.BLOCKING
    assert finding.examples == ["acct-1"]


# --- warnings ---


def test_two_currencies_in_one_account_warn():
    billing = billing_frame()
    billing.loc[0, "BillingCurrency"] = "EUR"

    result = run(billing, config=Config(fx={"EUR": 1.1}))

    finding = only(result.findings, "account_currencies")
    assert finding.severity == Severity.WARNING
    assert finding.examples == ["acct-1"]


def test_contract_breaks_outside_the_blocking_list_warn_row_by_row():
    billing = billing_frame(rows=6)
    billing.loc[0, "ListCost"] = 7.5  # row 1: 2.0 x 1 is 2.0, not 7.5
    billing.loc[1, "ConsumedQuantity"] = -1.0  # row 2
    billing.loc[2, "ChargeClass"] = "Fix"  # row 3: FOCUS has Correction or null
    billing.loc[3, "ServiceCategory"] = "GPU"  # row 4
    billing.loc[4, "ChargePeriodStart"] = pd.Timestamp("2026-11-01", tz="UTC")
    billing.loc[4, "ChargePeriodEnd"] = pd.Timestamp("2026-11-01 01:00", tz="UTC")

    result = run(billing)

    assert blocking(result.findings) == []
    assert {f.check: f.examples for f in result.findings} == {
        "price_rule": [1],
        "negative_quantity": [2],
        "charge_class": [3],
        "service_category": [4],
        "out_of_period": [5],
    }


def test_a_quantity_that_does_not_parse_warns_since_it_is_not_a_cost():
    billing = billing_frame()
    billing["PricingQuantity"] = pd.Series([1.0, "2,0", 3.0], dtype=object)

    result = run(billing)

    assert blocking(result.findings) == []
    assert only(result.findings, "unparsed_number").examples == [2]


def test_a_price_within_the_tolerance_passes():
    billing = billing_frame()
    billing.loc[0, "ListCost"] = 2.0 + 5e-7  # half the absolute tolerance

    assert run(billing).findings == []


def test_a_commitment_purchase_with_effective_cost_warns():
    billing = billing_frame()
    billing.loc[0, "ChargeCategory"] = "Purchase"
    billing.loc[0, "CommitmentDiscountId"] = "sp-1"  # EffectiveCost is 9.0
    billing.loc[1, "ChargeCategory"] = "Purchase"  # not a commitment: fine

    finding = only(run(billing).findings, "commitment_purchase_cost")

    assert finding.severity == Severity.WARNING
    assert finding.examples == [1]


# --- the real FOCUS sample ---


def load_focus_sample(path) -> pd.DataFrame:
    """A tiny stand-in for the billing reader: NULL text, UTC dates, row numbers."""
    frame = pd.read_csv(path, na_values=["NULL"])
    for column in ("ChargePeriodStart", "ChargePeriodEnd", "BillingPeriodStart"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame["x_SourceFile"] = path.name
    frame["x_SourceRow"] = range(1, len(frame) + 1)
    return frame


@pytest.fixture(scope="module")
def focus_result(real_data) -> ValidationResult:
    billing = load_focus_sample(real_data / "focus" / "focus_sample.csv")
    return validate_month(
        month="2024-09",
        billing=billing,
        telemetry=None,
        people=None,
        reader_findings=[],
        config=Config(),
    )


@pytest.mark.real_data
def test_the_real_focus_sample_loads_with_warnings_only(focus_result):
    assert blocking(focus_result.findings) == []
    assert focus_result.warnings == len(focus_result.findings) > 0


@pytest.mark.real_data
def test_the_real_focus_sample_breaks_the_price_rule_on_25_rows(focus_result):
    finding = only(focus_result.findings, "price_rule")

    assert finding.count == 25
    assert finding.column == "ListCost"
    assert len(finding.examples) == 20


@pytest.mark.real_data
def test_the_real_focus_sample_has_negative_quantities(focus_result):
    quantities = [f for f in focus_result.findings if f.check == "negative_quantity"]

    assert {f.column for f in quantities} == {"PricingQuantity", "ConsumedQuantity"}
    assert all(f.count == 12 for f in quantities)


# --- telemetry ---


def telemetry_frame() -> pd.DataFrame:
    stamps = pd.date_range("2026-10-01", periods=3, freq="min", tz="UTC")
    data = {column: [""] * 3 for column in GPU_COLUMNS}
    data.update(
        timestamp=stamps,
        host=["gpu-a1"] * 3,
        gpu_uuid=["GPU-1"] * 3,
        utilization=[0.5, float("nan"), 0.9],  # NaN: unknown, allowed
        memory_used_mib=[100.0, 200.0, 300.0],
        power_watts=[300.0, 350.0, 400.0],
        energy_joules=[float("nan")] * 3,
        source_format=["dcgm"] * 3,
        source_file=["gpu-a1.prom"] * 3,
    )
    return pd.DataFrame(data)


def inventory(cap: float) -> Config:
    host = InventoryHost(host="gpu-a1", location="onprem", gpus=1, power_cap_watts=cap)
    return Config(inventory=[host])


def test_good_telemetry_passes():
    assert run(telemetry=telemetry_frame(), config=inventory(700)).findings == []


def test_telemetry_out_of_range_warns_naming_the_sample():
    telemetry = pd.concat([telemetry_frame()] * 2, ignore_index=True)
    telemetry["gpu_uuid"] = ["GPU-1"] * 3 + ["GPU-2"] * 3
    telemetry.loc[0, "utilization"] = 1.5
    telemetry.loc[1, "power_watts"] = 701.0  # over the 700 W cap
    telemetry.loc[2, "memory_used_mib"] = -5.0
    telemetry.loc[5, "power_watts"] = -1.0

    result = run(telemetry=telemetry, config=inventory(700))

    assert {f.check: f.examples for f in result.findings} == {
        "utilization_range": ["gpu-a1 2026-10-01T00:00:00+00:00"],
        # the cap check's range is 0..cap: the negative sample fails it too
        "power_over_cap": [
            "gpu-a1 2026-10-01T00:01:00+00:00",
            "gpu-a1 2026-10-01T00:02:00+00:00",
        ],
        "memory_range": ["gpu-a1 2026-10-01T00:02:00+00:00"],
        "power_range": ["gpu-a1 2026-10-01T00:02:00+00:00"],
    }
    finding = only(result.findings, "power_over_cap")
    assert finding.file == "gpu-a1.prom"
    assert finding.message == (
        "telemetry file gpu-a1.prom, column 'power_watts': "
        "expect_column_values_to_be_between failed on 2 rows (samples gpu-a1 "
        "2026-10-01T00:01:00+00:00, gpu-a1 2026-10-01T00:02:00+00:00); expected "
        "at most the 700 W cap of gpu-a1; found 701.0, -1.0. "
        "Check the exporter and the reader's units."
    )


def test_a_telemetry_sample_without_a_timestamp_blocks():
    telemetry = telemetry_frame()
    telemetry.loc[1, "timestamp"] = pd.NaT

    finding = only(run(telemetry=telemetry).findings, "unparsed_value")

    assert finding.severity == Severity.BLOCKING
    assert finding.count == 1


# --- people: counts and hashed ids only ---


SALARY = 12345.67


def people_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "employee_id_hash": ["h-aaa", "h-bbb", "h-bbb", "h-ccc"],
            "department": ["ML"] * 4,
            "team": ["research"] * 4,
            "basis": ["salaried", "hourly", "salaried", "weekly"],
            "monthly_cost": [9000.0, -SALARY, 7000.0, 8000.0],
            "period": [""] * 4,
        },
        columns=list(PEOPLE_COLUMNS),
    )


def test_hr_findings_show_counts_and_hashed_ids_never_pay():
    result = run(people=people_frame())

    hr = [f for f in result.findings if f.source == "hr"]
    assert {f.check for f in hr} == {"negative_cost", "basis", "duplicate_person"}
    assert only(hr, "duplicate_person").examples == ["h-bbb"]
    assert "failed on 2 rows (id h-bbb)" in only(hr, "duplicate_person").message
    assert only(hr, "negative_cost").count == 1
    text = " ".join(str(f.to_dict()) for f in hr) + result.pages["hr.html"]
    text += blocking_table(result) + result.pages["index.html"]
    for shown in ("12345", "12,345", "9000", "7000", "8000", "weekly"):
        assert shown not in text
    assert "h-bbb" in result.pages["hr.html"]


def test_a_person_without_a_monthly_cost_blocks():
    people = people_frame()
    people.loc[0, "monthly_cost"] = None

    finding = only(blocking(run(people=people).findings), "unparsed_value")

    assert finding.source == "hr"
    assert finding.count == 1
    assert finding.examples == []


# --- readers' findings, cross-source findings, counts and pages ---


def test_reader_findings_are_counted_once_and_shown_on_their_page():
    billing = billing_frame().drop(columns=["BilledCost"])
    reader = [
        Finding(
            Severity.BLOCKING,
            "billing",
            "required_column",
            "bad.csv: no column for BilledCost",
            file="bad.csv",
            column="BilledCost",
        ),
        Finding(Severity.WARNING, "telemetry", "placeholder", "3 [N/A] cells", count=3),
    ]

    result = run(billing, reader_findings=reader)

    assert [f.message for f in blocking(result.findings)] == [reader[0].message]
    assert result.warnings == 1
    assert "3 [N/A] cells" in result.pages["telemetry.html"]


def test_cross_source_findings_join_the_run_and_the_index_page():
    context = CrossSourceContext(
        gpu_hours_by_host={},
        billed_gpu_instance_hours={},
        telemetry_hosts={"gpu-x"},
        inventory_hosts=set(),
        tag_teams=set(),
        known_teams=set(),
    )

    result = run(context=context)

    assert only(result.findings, "unknown_host").severity == Severity.WARNING
    assert "gpu-x" in result.pages["index.html"]
    assert result.warnings == 1


def test_checks_on_absent_optional_columns_are_listed_as_not_run():
    billing = billing_frame().drop(columns=["CommitmentDiscountId", "ListCost"])

    result = run(billing)

    assert [f.check for f in result.findings] == ["optional_column"]
    assert result.findings[0].examples == ["CommitmentDiscountId", "ListCost"]
    # the commitment-purchase check and the ListCost type check
    assert result.pages["billing.html"].count("not run: column missing") == 2


def test_pages_escape_what_they_show():
    billing = billing_frame(file="<script>x</script>.csv")
    billing.loc[0, "ChargeCategory"] = "Useage"

    page = run(billing).pages["billing.html"]

    assert "<script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;.csv" in page


def test_the_validate_table_lists_blocking_findings_first_with_what_was_found():
    billing = billing_frame()
    billing.loc[0, "ChargeCategory"] = "Useage"
    billing.loc[1, "ConsumedQuantity"] = -3.0

    lines = blocking_table(run(billing)).splitlines()

    assert lines[0].split() == ["severity", "source", "check", "count", "message"]
    assert lines[2].split()[:4] == ["blocking", "billing", "charge_category", "1"]
    assert lines[3].split()[:4] == ["warning", "billing", "negative_quantity", "1"]
    assert lines[-1].endswith("1 blocking, 1 warnings")
    # The failing value is named, but no other cell of its row is printed.
    assert "found 'Useage'" in lines[2]
    assert "acct-1" not in "\n".join(lines)  # other cells of the row stay out


def test_counts_add_up():
    billing = billing_frame()
    billing.loc[0, "ChargeCategory"] = "Useage"
    billing.loc[1, "ConsumedQuantity"] = -3.0

    result = run(billing)

    assert result.failed == 2
    assert result.warnings == 1
    assert result.rows_rejected == 1
    assert (
        "2 failed, 1 blocking, 1 warnings, 1 rows rejected"
        in (result.pages["index.html"])
    )
