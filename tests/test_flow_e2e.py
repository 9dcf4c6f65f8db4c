"""The monthly flow end to end: the demo month, and real public exports."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from flows.monthly import monthly_report
from flows.synthetic import write_demo
from tests.conftest import pdf_text

pytestmark = pytest.mark.slow


def _money(text: str) -> float:
    return 0.0 if text in ("", "NULL") else float(text)


@pytest.fixture(scope="module")
def demo_run(prefect_server, tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    config = write_demo(out)
    result = monthly_report(month="2026-10", config_path=str(config), send=False)
    return out, result


def test_the_demo_writes_every_output(demo_run):
    out, result = demo_run
    month = out / "report" / "2026-10"
    for name in (
        "report.pdf",
        "summary.json",
        "allocation.csv",
        "allocation.parquet",
        "recommendations.csv",
        "run.json",
    ):
        assert (month / name).is_file(), name
    assert list((month / "data_quality").glob("*.html"))
    assert Path(result["report"]) == month / "report.pdf"


def test_demo_totals_match_an_independent_computation(demo_run):
    out, _ = demo_run
    summary = json.loads((out / "report" / "2026-10" / "summary.json").read_text())
    with open(out / "inputs" / "billing" / "focus-2026-10.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    effective = sum(_money(r["EffectiveCost"]) for r in rows)
    billed = sum(_money(r["BilledCost"]) for r in rows)
    assert summary["totals"]["effective_cost"] == round(effective, 2)
    assert summary["totals"]["billed_cost"] == round(billed, 2)

    # People: mapped departments, fully loaded with the 25 % overhead.
    with open(out / "inputs" / "hr" / "payroll.csv", newline="") as handle:
        staff = list(csv.DictReader(handle))
    mapped = {"ML RESEARCH", "ML PLATFORM", "INFERENCE", "DATA LABELING"}
    monthly = 0.0
    for person in staff:
        if person["Department"] not in mapped:
            continue
        if person["Salary or Hourly"] == "SALARY":
            monthly += float(person["Annual Salary"]) / 12
        else:
            monthly += (
                float(person["Hourly Rate"]) * float(person["Typical Hours"]) * 52 / 12
            )
    people = monthly * 1.25
    assert summary["by_category"]["people"] == pytest.approx(
        round(people, 2), abs=0.011
    )

    # On-prem depreciation and maintenance of the two owned hosts.
    hardware_onprem = 96000 / 48 + 38000 / 48
    maintenance = (96000 + 38000) * 0.08 / 12 + 1200.0  # plus the Support row
    cats = summary["by_category"]
    assert cats["maintenance"] == pytest.approx(round(maintenance, 2), abs=0.011)
    total = (
        effective
        + people
        + hardware_onprem
        + (96000 + 38000) * 0.08 / 12
        + cats["energy"]
    )
    assert summary["totals"]["total_cost"] == pytest.approx(round(total, 2), abs=0.011)


def test_demo_splits_sum_to_the_total_to_the_cent(demo_run):
    out, _ = demo_run
    summary = json.loads((out / "report" / "2026-10" / "summary.json").read_text())
    total = summary["totals"]["total_cost"]
    assert set(summary["by_category"]) == {
        "hardware",
        "software",
        "people",
        "energy",
        "maintenance",
        "tax",
        "credits",
        "other",
    }
    assert round(sum(summary["by_category"].values()), 2) == total
    assert round(sum(summary["by_team"].values()), 2) == total
    for key in ("unallocated", "idle", "people_pooled"):
        assert key in summary["by_team"]
    with open(out / "report" / "2026-10" / "allocation.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert round(sum(float(r["amount"]) for r in rows), 2) == total
    # each team's rows add up to the team's amount in summary.json, to the cent
    per_team: dict[str, float] = {}
    for row in rows:
        per_team[row["team"]] = per_team.get(row["team"], 0.0) + float(row["amount"])
    for team, amount in summary["by_team"].items():
        assert round(per_team.get(team, 0.0), 2) == amount, team


def test_demo_shows_gpu_use_and_the_pdf_holds_the_total(demo_run):
    out, _ = demo_run
    month = out / "report" / "2026-10"
    summary = json.loads((month / "summary.json").read_text())
    gpu = summary["gpu"]
    assert gpu["gpu_hours"] > 0 and gpu["idle_gpu_hours"] > 0 and gpu["energy_kwh"] > 0
    assert 0 < gpu["utilization"] < 1
    text = pdf_text(month / "report.pdf")
    assert "2026-10" in text
    assert text.count("Marginal cost per GPU does not apply") == 1  # said once
    assert f"{summary['totals']['total_cost']:,.2f}" in text
    for category in ("Hardware", "Software", "People", "Energy", "Maintenance"):
        assert category.lower() in text.lower()


def test_real_focus_sample_with_real_telemetry_and_payroll(
    prefect_server, real_data, tmp_path
):
    smi = (
        real_data
        / "nvidia_smi"
        / "linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__load__query-gpu.csv"
    )
    config = tmp_path / "finops.toml"
    config.write_text(
        f"""
[report]
out = "{tmp_path / "out"}"
[sources]
billing = ["{real_data / "focus" / "focus_sample.csv"}"]
telemetry = ["{smi}"]
hr = ["{real_data / "payroll" / "city-payroll-roster.csv"}"]
[allocation]
team_tag = "business_unit"
[people.departments]
"DAIS" = "it"
""",
        encoding="utf-8",
    )
    monthly_report(month="2024-09", config_path=str(config), send=False)
    month = tmp_path / "out" / "2024-09"
    summary = json.loads((month / "summary.json").read_text())

    with open(real_data / "focus" / "focus_sample.csv", newline="") as handle:
        rows = [
            r
            for r in csv.DictReader(handle)
            if r["ChargePeriodStart"].startswith("2024-09")
        ]
    assert (
        summary["totals"]["effective_cost"]
        == round(sum(_money(r["EffectiveCost"]) for r in rows), 2)
        == 14.98
    )
    assert (
        summary["totals"]["billed_cost"]
        == round(sum(_money(r["BilledCost"]) for r in rows), 2)
        == 20.52
    )
    total = summary["totals"]["total_cost"]
    assert round(sum(summary["by_category"].values()), 2) == total
    assert round(sum(summary["by_team"].values()), 2) == total
    # 301 tag values, most on zero-cost rows: teams netting to nothing are left out
    reserved = {"unallocated", "idle", "people_pooled"}
    assert all(v != 0 for k, v in summary["by_team"].items() if k not in reserved)
    for name in ("report.pdf", "allocation.csv", "run.json"):
        assert (month / name).is_file()
    assert list((month / "data_quality").glob("*.html"))
    run = json.loads((month / "run.json").read_text())
    messages = " ".join(f["message"] for f in run["findings"])
    assert "2024-09" in messages  # the 2026 telemetry snapshot is outside the month


def test_a_blocked_first_run_says_no_report_was_written(prefect_server, tmp_path):
    """The input that broke it: a bad cost on a month with no report yet was told
    "the last good report is kept"."""
    from transforms.errors import DataValidationError

    config = write_demo(tmp_path)
    bill = tmp_path / "inputs" / "billing" / "focus-2026-10.csv"
    with bill.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    rows[3]["BilledCost"] = "12.3.4"
    with bill.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    with pytest.raises(DataValidationError) as stopped:
        monthly_report(month="2026-10", config_path=str(config), send=False)

    message = str(stopped.value)
    assert "no report was written" in message
    assert "last good report" not in message
    assert "found '12.3.4'" in message
    assert not (tmp_path / "report" / "2026-10").exists()
