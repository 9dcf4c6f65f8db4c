"""Reading payroll exports into the People frame (ingest/README_people.md)."""

from __future__ import annotations

import csv
import gzip
import hashlib
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import openpyxl
import pytest

from ingest.config import PeopleConfig
from ingest.payroll import map_headers, read_people
from transforms.findings import Severity
from transforms.people import people_costs
from transforms.schema import PEOPLE_COLUMNS

SALT = "test-salt"
HEADER = [
    "Employee ID",
    "Job Titles",
    "Department",
    "Full or Part-Time",
    "Salary or Hourly",
    "Typical Hours",
    "Annual Salary",
    "Hourly Rate",
]
ROWS = [
    ["E1", "ENGINEER", "ML Platform", "F", "SALARY", "", "120000.00", ""],
    ["E2", "TECHNICIAN", " ml platform ", "P", "HOURLY", "20", "", "41.41"],
    ["E3", "ANALYST", "Research", "F", "Salary", "", "$98,000.50", ""],
    ["E4", "CLERK", "Finance", "F", "HOURLY", "40", "", "25.10"],
]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def cents(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01"), ROUND_HALF_EVEN))


def hashed(employee_id: str, salt: str = SALT) -> str:
    return hashlib.sha256((salt + employee_id).encode()).hexdigest()[:16]


def config(**kwargs) -> PeopleConfig:
    departments = {"ML PLATFORM": "platform", "research": "research"}
    return PeopleConfig(departments=departments, **kwargs)


@pytest.fixture(autouse=True)
def salt_env(monkeypatch):
    monkeypatch.setenv("FINOPS_ID_SALT", SALT)


def test_headers_of_the_real_roster_map_and_titles_are_dropped():
    columns, splits = map_headers(HEADER)
    assert columns == {
        "employee_id": "Employee ID",
        "department": "Department",
        "full_part": "Full or Part-Time",
        "basis": "Salary or Hourly",
        "weekly_hours": "Typical Hours",
        "annual_salary": "Annual Salary",
        "hourly_rate": "Hourly Rate",
    }
    assert splits == {}


def test_monthly_cost_is_fully_loaded_and_teams_come_from_departments(tmp_path):
    source = write_csv(tmp_path / "roster.csv", HEADER, ROWS)
    load = read_people(
        [str(source)], "2026-10", people=config(overhead_rate=0.25), out_dir=tmp_path
    )
    frame = load.frame.set_index("employee_id_hash")
    load_factor = Decimal("1.25")
    expected = {
        "E1": Decimal("120000.00") / 12 * load_factor,
        "E2": Decimal("41.41") * 20 * 52 / 12 * load_factor,
        "E3": Decimal("98000.50") / 12 * load_factor,
        "E4": Decimal("25.10") * 40 * 52 / 12 * load_factor,
    }
    for employee, amount in expected.items():
        assert round(frame.loc[hashed(employee), "monthly_cost"], 2) == cents(amount)
    assert frame["team"].to_dict() == {
        hashed("E1"): "platform",
        hashed("E2"): "platform",
        hashed("E3"): "research",
        hashed("E4"): "",
    }
    assert list(frame["basis"]) == ["salaried", "hourly", "salaried", "hourly"]
    assert set(frame["period"]) == {""}
    assert [r.format for r in load.inputs] == ["payroll-csv"]
    assert load.inputs[0].rows == 4


def test_xlsx_gives_the_same_frame_as_csv(tmp_path):
    source = write_csv(tmp_path / "roster.csv", HEADER, ROWS)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in ROWS:
        # Spreadsheets hold numbers as numbers: write them so.
        sheet.append([_number_or_text(cell) for cell in row])
    book.save(tmp_path / "roster.xlsx")
    people = config(overhead_rate=0.1)
    from_csv = read_people([str(source)], "2026-10", people=people, out_dir=tmp_path)
    from_xlsx = read_people(
        [str(tmp_path / "roster.xlsx")], "2026-10", people=people, out_dir=tmp_path
    )
    columns = ["employee_id_hash", "team", "basis", "monthly_cost"]
    assert from_xlsx.frame[columns].round(6).equals(from_csv.frame[columns].round(6))
    assert from_xlsx.inputs[0].format == "payroll-xlsx"


def _number_or_text(cell: str):
    try:
        return float(cell)
    except ValueError:
        return cell


def test_a_register_with_a_period_column_keeps_only_the_month_run(tmp_path):
    header = ["Employee ID", "Department", "Pay Period", "Annual Salary"]
    rows = [
        ["E1", "Research", "2026-09", "60000"],
        ["E1", "Research", "2026-10", "72000"],
        ["E2", "Research", "2026-10-31", "48000"],
        ["E3", "Research", "2026-11", "36000"],
    ]
    source = write_csv(tmp_path / "register.csv", header, rows)
    load = read_people([str(source)], "2026-10", people=config(), out_dir=tmp_path)
    assert sorted(load.frame["monthly_cost"]) == [4000.0, 6000.0]
    assert set(load.frame["period"]) == {"2026-10"}
    # No salaried-or-hourly column: the basis follows from the salary filled in.
    assert [f.check for f in load.findings] == ["basis_inferred"]


def test_an_unparseable_period_blocks(tmp_path):
    header = ["Employee ID", "Department", "Period", "Annual Salary"]
    rows = [["E1", "Research", "Q4", "60000"]]
    source = write_csv(tmp_path / "register.csv", header, rows)
    load = read_people([str(source)], "2026-10", people=config(), out_dir=tmp_path)
    (finding,) = load.findings
    assert finding.severity == Severity.BLOCKING
    assert finding.examples == [f"row 2 (id {hashed('E1')})"]


# Each case: one bad row appended to a good roster, the check it breaks, its severity.
BAD_ROWS = [
    # salaried without a salary
    (["E9", "X", "Research", "F", "SALARY", "", "", ""], "salaried_without_salary"),
    # hourly without hours
    (
        ["E9", "X", "Research", "F", "HOURLY", "", "", "30"],
        "hourly_without_rate_or_hours",
    ),
    # a negative salary
    (["E9", "X", "Research", "F", "SALARY", "", "-5000", ""], "negative_amount"),
    # text where a rate belongs
    (["E9", "X", "Research", "F", "HOURLY", "40", "", "n/a"], "non_numeric_amount"),
    # a flag nobody knows
    (["E9", "X", "Research", "F", "DAILY", "", "52000", ""], "unknown_basis_flag"),
    (["E9", "X", "Research", "Q", "SALARY", "", "52000", ""], "unknown_full_part_flag"),
    # more hours than a week has
    (["E9", "X", "Research", "F", "HOURLY", "200", "", "30"], "implausible_hours"),
]  # fmt: skip


@pytest.mark.parametrize(("row", "check"), BAD_ROWS)
def test_bad_rows_are_left_out_and_reported_by_row_and_hashed_id(tmp_path, row, check):
    source = write_csv(tmp_path / "roster.csv", HEADER, [*ROWS, row])
    load = read_people([str(source)], "2026-10", people=config(), out_dir=tmp_path)
    (finding,) = [f for f in load.findings if f.check == check]
    expected_severity = (
        Severity.BLOCKING if check == "non_numeric_amount" else Severity.WARNING
    )
    assert finding.severity == expected_severity
    assert finding.count == 1
    assert finding.examples == [f"row 6 (id {hashed('E9')})"]
    assert finding.file == str(source)
    assert hashed("E9") not in set(load.frame["employee_id_hash"])
    assert len(load.frame) == 4
    # The value itself is never repeated.
    for value in ("5000", "n/a", "DAILY", "200", "52000"):
        assert value not in finding.message


def test_odd_but_usable_rows_are_counted_and_noted(tmp_path):
    rows = [
        ["E7", "X", "Research", "", "SALARY", "", "50000", ""],  # no full/part flag
        ["E8", "X", "Research", "P", "SALARY", "", "30000", ""],  # part-time salaried
    ]
    source = write_csv(tmp_path / "roster.csv", HEADER, [*ROWS, *rows])
    load = read_people([str(source)], "2026-10", people=config(), out_dir=tmp_path)
    checks = {f.check: f.count for f in load.findings}
    assert checks == {"missing_full_part_flag": 1, "part_time_salaried": 1}
    assert len(load.frame) == 6


def test_a_missing_required_column_blocks(tmp_path):
    source = write_csv(
        tmp_path / "roster.csv", ["Employee ID", "Salary"], [["E1", "1"]]
    )
    load = read_people([str(source)], "2026-10", people=config(), out_dir=tmp_path)
    (finding,) = load.findings
    assert finding.severity == Severity.BLOCKING
    assert "department or cost centre" in finding.message
    assert load.frame.empty


def test_cost_centre_maps_when_the_department_does_not(tmp_path):
    header = ["Employee ID", "Department", "Cost Center", "Annual Salary"]
    rows = [["E1", "Engineering", "CC-42", "60000"], ["E2", "Other", "CC-1", "1"]]
    source = write_csv(tmp_path / "roster.csv", header, rows)
    people = PeopleConfig(departments={"cc-42": "platform"})
    load = read_people([str(source)], "2026-10", people=people, out_dir=tmp_path)
    assert list(load.frame["team"]) == ["platform", ""]


def test_split_columns_must_sum_to_100_per_person(tmp_path):
    header = [*HEADER, "split: llm-train", "split: eval"]
    rows = [[*r, "60", "40"] for r in ROWS]
    rows[2][-1] = "30 %"  # E3: 60 + 30
    source = write_csv(tmp_path / "roster.csv", header, rows)
    load = read_people([str(source)], "2026-10", people=config(), out_dir=tmp_path)
    assert sorted(c for c in load.frame if c.startswith("split:")) == [
        "split:eval",
        "split:llm-train",
    ]
    (finding,) = load.findings
    assert finding.severity == Severity.BLOCKING
    assert finding.check == "split_sum"
    assert finding.examples == [hashed("E3")]
    assert f"employee {hashed('E3')} sum to 90 %" in finding.message


def test_a_separate_splits_file_becomes_split_columns(tmp_path):
    source = write_csv(tmp_path / "roster.csv", HEADER, ROWS)
    splits = write_csv(
        tmp_path / "splits.csv",
        ["id", "project", "percent"],
        [["E1", "llm", "50"], ["E1", "eval", "50"], ["E2", "llm", "100"]],
    )
    people = config(splits=str(splits))
    load = read_people([str(source)], "2026-10", people=people, out_dir=tmp_path)
    frame = load.frame.set_index("employee_id_hash")
    assert frame.loc[hashed("E1"), "split:eval"] == 50
    assert frame.loc[hashed("E2"), "split:llm"] == 100
    assert load.findings == []
    assert [r.format for r in load.inputs] == ["payroll-csv", "hr-splits"]


def test_a_splits_file_not_summing_to_100_blocks_naming_hash_and_sum(tmp_path):
    source = write_csv(tmp_path / "roster.csv", HEADER, ROWS)
    splits = write_csv(
        tmp_path / "splits.csv",
        ["Employee ID", "Team", "Percent"],
        [["E1", "llm", "0.5"], ["E1", "eval", "0.5"]],
    )
    people = config(splits=str(splits))
    load = read_people([str(source)], "2026-10", people=people, out_dir=tmp_path)
    (finding,) = load.findings
    assert finding.severity == Severity.BLOCKING
    assert finding.message.startswith(
        f"project splits of employee {hashed('E1')} sum to 1 %, expected 100 % "
        "(write percentages, not fractions)"
    )


# --- The real roster ------------------------------------------------------------

ROSTER = "payroll/city-payroll-roster.csv"


def independent_department_cost(path: Path, department: str, overhead: str) -> Decimal:
    total = Decimal(0)
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["Department"] != department:
                continue
            if row["Salary or Hourly"] == "SALARY":
                total += Decimal(row["Annual Salary"]) / 12
            else:
                rate, hours = Decimal(row["Hourly Rate"]), Decimal(row["Typical Hours"])
                total += rate * hours * 52 / 12
    return total * (1 + Decimal(overhead))


@pytest.mark.real_data
def test_real_roster_department_cost_matches_an_independent_sum(real_data, tmp_path):
    path = real_data / ROSTER
    people = PeopleConfig(
        departments={"department of aviation": "aviation"}, overhead_rate=0.2
    )
    load = read_people([str(path)], "2026-10", people=people, out_dir=tmp_path)
    result = people_costs(load.frame, people=people)
    amounts = result.allocations.set_index("team")["amount"].to_dict()
    expected = independent_department_cost(path, "DEPARTMENT OF AVIATION", "0.2")
    assert amounts == {"aviation": cents(expected)}
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    aviation = sum(r["Department"] == "DEPARTMENT OF AVIATION" for r in rows)
    assert result.in_scope_count == aviation
    assert result.out_of_scope_count == len(rows) - aviation
    # Real flags: two blank full/part flags and one part-time salaried row, counted.
    blank_flag = sum(r["Full or Part-Time"] == "" for r in rows)
    part_salaried = sum(
        r["Full or Part-Time"] == "P" and r["Salary or Hourly"] == "SALARY"
        for r in rows
    )
    checks = {f.check: f.count for f in load.findings}
    assert checks == {
        "missing_full_part_flag": blank_flag,
        "part_time_salaried": part_salaried,
    }
    assert len(load.frame) == len(rows)


def test_a_folder_reads_gzipped_csv_and_skips_other_files_with_a_warning(tmp_path):
    folder = tmp_path / "hr"
    folder.mkdir()
    plain = write_csv(tmp_path / "roster.csv", HEADER, ROWS)
    (folder / "roster.csv.gz").write_bytes(gzip.compress(plain.read_bytes()))
    (folder / "notes.txt").write_text("not payroll")
    load = read_people([str(folder)], "2026-10", people=config(), out_dir=tmp_path)
    assert len(load.frame) == 4
    (finding,) = load.findings
    assert (finding.check, finding.file) == (
        "unreadable_format",
        str(folder / "notes.txt"),
    )


def test_no_payroll_entries_give_an_empty_frame(tmp_path):
    load = read_people([], "2026-10", people=config(), out_dir=tmp_path)
    assert list(load.frame.columns) == list(PEOPLE_COLUMNS)
    assert load.frame.empty and load.inputs == [] and load.findings == []
