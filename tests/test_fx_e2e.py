"""A bill in NOK: converted with the configured rate, or the run stops naming it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import pdf_text


def config_for(tmp_path, real_data, fx: str = "") -> str:
    nok = real_data / "aws_cur_legacy" / "koku-2023-06-nok.csv"
    path = tmp_path / "finops.toml"
    path.write_text(
        f'[report]\nout = "out"\n[sources]\nbilling = ["{nok}"]\n{fx}', encoding="utf-8"
    )
    return str(path)


def test_without_a_rate_validation_blocks_naming_the_currency_and_file(
    tmp_path, real_data
):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "validate",
            "--month",
            "2023-06",
            "--config",
            config_for(tmp_path, real_data),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    assert "NOK" in result.stdout
    assert "koku-2023-06-nok.csv" in result.stdout


@pytest.mark.slow
def test_with_a_rate_the_month_converts_and_the_report_shows_rate_and_date(
    prefect_server, tmp_path, real_data
):
    from flows.monthly import monthly_report

    fx = '[fx]\nas_of = "2023-06-30"\nNOK = 0.093\n'
    monthly_report(
        month="2023-06", config_path=config_for(tmp_path, real_data, fx), send=False
    )
    month = tmp_path / "out" / "2023-06"
    summary = json.loads((month / "summary.json").read_text())
    # The file bills 30.00 NOK unblended, amortized 0.30 NOK (Savings Plan covered).
    assert summary["currency"] == "USD"
    assert summary["totals"]["billed_cost"] == round(30.00 * 0.093, 2)
    assert summary["totals"]["effective_cost"] == round(0.30 * 0.093, 2)
    assert summary["fx"] == {"as_of": "2023-06-30", "rates": {"NOK": 0.093}}
    # the invoice is listed in the report currency too, not as 30 "USD"
    assert list(summary["invoices"].values()) == [round(30.00 * 0.093, 2)]
    text = pdf_text(month / "report.pdf")
    assert "2023-06-30" in text and "NOK" in text
