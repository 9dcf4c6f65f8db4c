"""A one-person team's pay appears nowhere: no output file, no PDF text, no terminal."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import pdf_text

pytestmark = pytest.mark.slow

ANNUAL = 187_345.00  # the solo engineer's salary: distinctive on purpose
FOCUS = (
    "BilledCost,EffectiveCost,BillingCurrency,ChargeCategory,ChargePeriodStart,Tags\n"
    '50.00,50.00,USD,Usage,2026-10-02 00:00:00,"{""team"": ""research""}"\n'
)


def roster() -> str:
    lines = [
        "Employee ID,Name,Job Titles,Department,Full or Part-Time,"
        "Salary or Hourly,Typical Hours,Annual Salary,Hourly Rate"
    ]
    for n in range(1, 5):  # four researchers: a group large enough to show
        lines.append(
            f"E{n:03d},Res Person {n},SCIENTIST,ML RESEARCH,F,SALARY,,"
            f"{120000 + n * 1000:.2f},"
        )
    lines.append(f"E900,Solo Person,STAFF ENGINEER,SOLO LAB,F,SALARY,,{ANNUAL:.2f},")
    return "\n".join(lines) + "\n"


def pay_forms(annual: float, overhead: float) -> set[str]:
    """The ways one person's pay could be written in an output."""
    monthly = annual / 12
    loaded = monthly * (1 + overhead)
    forms = set()
    for value in (annual, monthly, loaded):
        forms |= {f"{value:.2f}", f"{value:,.2f}", f"{round(value, 2)}", f"{value:.1f}"}
    return forms


def test_a_one_person_team_is_never_shown(tmp_path):
    (tmp_path / "bills").mkdir()
    (tmp_path / "bills" / "focus.csv").write_text(FOCUS, encoding="utf-8")
    (tmp_path / "payroll.csv").write_text(roster(), encoding="utf-8")
    config = tmp_path / "finops.toml"
    config.write_text(
        """
[report]
out = "out"
team_reports = "all"
[sources]
billing = ["bills/"]
hr = ["payroll.csv"]
[people]
overhead_rate = 0.2
[people.departments]
"ML RESEARCH" = "research"
"SOLO LAB" = "solo"
""",
        encoding="utf-8",
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "-v",
            "run",
            "--month",
            "2026-10",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    forms = pay_forms(ANNUAL, 0.2)
    texts = {"terminal": result.stdout + result.stderr}
    for path in (tmp_path / "out").rglob("*"):
        if not path.is_file():
            continue
        if path.suffix == ".pdf":
            texts[str(path)] = pdf_text(path)
        texts[str(path) + " (bytes)"] = path.read_bytes().decode("latin-1")
    assert any(p.endswith("report.pdf") for p in texts)
    for where, text in texts.items():
        for form in forms:
            assert form not in text, f"{form} in {where}"
        assert "Solo Person" not in text and "STAFF ENGINEER" not in text
