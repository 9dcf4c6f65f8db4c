"""One bad cell in a bill is one blocking finding, naming file, row, column and value.

The input that broke it: `12.3.4` in BilledCost gave three blocking findings, one of
them saying the cell was "not filled in (found nan)"."""

from ingest.billing import read_billing
from ingest.config import Config
from ingest.validation import validate_month
from transforms.findings import Severity

HEADER = (
    "BilledCost,EffectiveCost,ListCost,ChargePeriodStart,ChargePeriodEnd,"
    "ChargeCategory,BillingCurrency,ServiceName,ResourceId\n"
)


def bill(tmp_path, cells: dict[int, str]):
    lines = [
        f"{cells.get(i, '1.5')},1.5,1.5,2026-10-02T00:00:00Z,2026-10-02T01:00:00Z,"
        f"Usage,USD,EC2,i-{i}\n"
        for i in range(30)
    ]
    path = tmp_path / "focus.csv"
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path


def blocking(tmp_path, cells):
    path = bill(tmp_path, cells)
    load = read_billing([str(path)], "2026-10")
    result = validate_month(
        month="2026-10",
        billing=load.frame,
        telemetry=None,
        people=None,
        reader_findings=load.findings,
        config=Config(),
    )
    return path, [f for f in result.findings if f.severity == Severity.BLOCKING]


def test_a_cost_that_is_not_a_number_is_reported_once(tmp_path):
    path, found = blocking(tmp_path, {20: "12.3.4"})

    assert [(f.check, f.column, f.count) for f in found] == [
        ("unparseable_cost", "BilledCost", 1)
    ]
    assert str(path) in found[0].message
    assert "rows 21" in found[0].message
    assert "found '12.3.4'" in found[0].message


def test_an_empty_cost_beside_a_bad_one_is_reported_as_empty(tmp_path):
    _, found = blocking(tmp_path, {20: "12.3.4", 25: ""})

    assert sorted((f.check, f.count) for f in found) == [
        ("missing_value", 1),
        ("unparseable_cost", 1),
    ]
    empty = next(f for f in found if f.check == "missing_value")
    assert "rows 26" in empty.message


def test_a_stopped_run_says_whether_a_good_report_is_kept(tmp_path):
    from dataclasses import replace

    from flows.monthly import _kept

    config = Config()
    config = replace(config, report=replace(config.report, out=str(tmp_path)))
    assert _kept(config, "2026-10") == "no report was written"
    (tmp_path / "2026-10").mkdir()
    (tmp_path / "2026-10" / "report.pdf").write_bytes(b"%PDF-1.7")
    assert _kept(config, "2026-10") == "the last good report is kept"
