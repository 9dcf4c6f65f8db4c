"""Privacy of people costs: no name, job title or one person's pay leaves this code."""

from __future__ import annotations

import csv
import hashlib
import logging
import stat
from pathlib import Path

import pandas as pd
import pytest

from ingest.config import PeopleConfig
from ingest.payroll import read_people
from transforms.findings import Finding, Severity
from transforms.people import (
    PROJECTS_POOLED,
    hr_finding_safe,
    people_costs,
    people_kpis,
)
from transforms.schema import PEOPLE_COLUMNS

HEADER = ["Employee ID", "Name", "Job Title", "Department", "Salary or Hourly",
          "Annual Salary", "Hourly Rate", "Typical Hours"]  # fmt: skip


def write_csv(path: Path, rows: list[list[str]], header=HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def person(i: int, department: str, salary: str, name: str = "") -> list[str]:
    return [f"E{i}", name or f"Person {i}", f"Title {i}", department, "SALARY",
            salary, "", ""]  # fmt: skip


def everything(*objects) -> str:
    """Every returned object as text, DataFrames in full."""
    parts = []
    for obj in objects:
        parts.append(repr(obj))
        for value in getattr(obj, "__dict__", {}).values():
            if isinstance(value, pd.DataFrame):
                parts.append(value.to_string())
                parts.append(value.to_csv())
            else:
                parts.append(str(value))
    return "\n".join(parts)


def returned_by_ingest(load) -> str:
    """PeopleLoad as text, without its frame.

    The frame holds one row per person with that person's cost: it is the input of
    `people_costs`, never an output, and PeopleLoad's repr leaves it out.
    """
    return everything(repr(load), *load.findings, *load.inputs, load.salt_note)


def money_spellings(amount: float) -> list[str]:
    return [f"{amount:.2f}", f"{amount:,.2f}", f"{amount:.1f}", f"{amount:,.1f}",
            repr(amount), str(round(amount, 2))]  # fmt: skip


@pytest.fixture
def salted(monkeypatch):
    monkeypatch.setenv("FINOPS_ID_SALT", "privacy-salt")


DEPARTMENTS = {"platform": "platform", "research": "research", "solo": "solo"}


def test_names_and_job_titles_are_dropped_at_ingest(tmp_path, salted):
    header = [*HEADER, "Home Address"]
    rows = [[*person(1, "Research", "50000", name="Ada Quincey"), "1 Elm Street"]]
    source = write_csv(tmp_path / "hr.csv", rows, header)
    load = read_people([str(source)], "2026-10", people=PeopleConfig(),
                       out_dir=tmp_path)  # fmt: skip
    assert list(load.frame.columns) == list(PEOPLE_COLUMNS)
    text = load.frame.to_csv()
    for secret in ("Ada Quincey", "Title 1", "Elm Street", "E1,"):
        assert secret not in text


def test_ids_are_sha256_of_salt_and_id_with_the_salt_from_the_environment(
    tmp_path, monkeypatch
):
    source = write_csv(tmp_path / "hr.csv", [person(7, "Research", "50000")])
    people = PeopleConfig(salt_env="MY_SALT")
    monkeypatch.setenv("MY_SALT", "s1")
    first = read_people([str(source)], "2026-10", people=people, out_dir=tmp_path)
    monkeypatch.setenv("MY_SALT", "s2")
    second = read_people([str(source)], "2026-10", people=people, out_dir=tmp_path)
    expected = hashlib.sha256(b"s1E7").hexdigest()[:16]
    assert list(first.frame["employee_id_hash"]) == [expected]
    assert list(second.frame["employee_id_hash"]) != [expected]
    assert first.salt_note == ""
    assert not (tmp_path / ".finops_salt").exists()


def test_without_the_salt_variable_a_random_salt_is_kept_beside_the_outputs(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("FINOPS_ID_SALT", raising=False)
    source = write_csv(tmp_path / "hr.csv", [person(7, "Research", "50000")])
    out = tmp_path / "out"
    first = read_people([str(source)], "2026-10", people=PeopleConfig(), out_dir=out)
    salt_file = out / ".finops_salt"
    salt = salt_file.read_text()
    assert len(salt) == 64
    assert stat.S_IMODE(salt_file.stat().st_mode) == 0o600
    assert str(salt_file) in first.salt_note
    assert salt not in first.salt_note
    again = read_people([str(source)], "2026-10", people=PeopleConfig(), out_dir=out)
    assert salt_file.read_text() == salt
    assert list(again.frame["employee_id_hash"]) == list(
        first.frame["employee_id_hash"]
    )
    expected = hashlib.sha256((salt + "E7").encode()).hexdigest()[:16]
    assert list(first.frame["employee_id_hash"]) == [expected]


def power_of_two_frame(sizes: dict[str, int]) -> pd.DataFrame:
    """Person k costs 2**k cents, so any sum of costs names exactly who is in it."""
    rows, k = [], 0
    for team, size in sizes.items():
        for _ in range(size):
            rows.append((f"p{k}", team, team.upper(), "salaried", 2**k / 100, ""))
            k += 1
    return pd.DataFrame(rows, columns=list(PEOPLE_COLUMNS))


def people_in(amount: float) -> set[int]:
    cents = round(amount * 100)
    return {k for k in range(cents.bit_length()) if cents >> k & 1}


# Team sizes with min_group_size 3; each case reaches a different protection rule.
LAYOUTS = [
    {"a": 3, "b": 4},  # every team large enough
    {"a": 5, "b": 1, "c": 2},  # small teams pool (3 people)
    {"a": 5, "b": 3, "c": 1},  # a pool of 1 joins the smallest large team
    {"a": 1, "b": 1, "c": 1},  # no team large enough, the pool is
    {"a": 4, "b": 2, "": 6},  # out of scope people are never in a team line
]


@pytest.mark.parametrize("sizes", LAYOUTS)
def test_every_people_amount_aggregates_at_least_min_group_size(sizes):
    data = power_of_two_frame(sizes)
    result = people_costs(data, people=PeopleConfig())
    groups = [people_in(a) for a in result.allocations["amount"]]
    assert all(len(g) >= 3 for g in groups)
    in_scope = {int(i[1:]) for i in data.loc[data["team"] != "", "employee_id_hash"]}
    assert set().union(*groups) == in_scope
    assert sum(len(g) for g in groups) == len(in_scope)  # no one counted twice
    assert len(people_in(result.total)) >= 3


def test_every_project_amount_aggregates_at_least_min_group_size():
    data = power_of_two_frame({"a": 6})
    data["split:solo"] = [100, None, None, None, None, None]
    data["split:duo"] = [None, 100, 100, None, None, None]
    data["split:trio"] = [None, None, None, 100, 100, 100]
    result = people_costs(data, people=PeopleConfig())
    projects = result.projects.set_index("key")["amount"].to_dict()
    assert {k: people_in(v) for k, v in projects.items()} == {
        PROJECTS_POOLED: {0, 1, 2},
        "trio": {3, 4, 5},
    }


SOLO_SALARY = "98765.43"
BAD_SALARY = "-87654.32"


def test_a_one_person_teams_pay_appears_nowhere(tmp_path, salted, caplog):
    rows = [
        person(1, "Solo", SOLO_SALARY),
        *(person(i, "Platform", f"{60000 + i}.00") for i in range(2, 5)),
        *(person(i, "Research", f"{70000 + i}.00") for i in range(5, 9)),
        person(9, "Lonely", BAD_SALARY),  # a bad row of its own one-person team
        person(10, "Elsewhere", "55555.55"),  # out of scope, alone
    ]
    source = write_csv(tmp_path / "hr.csv", rows)
    people = PeopleConfig(
        departments={**DEPARTMENTS, "lonely": "lonely"},
        overhead_rate=0.1,
        platform_teams=["platform"],
    )
    caplog.set_level(logging.DEBUG)
    load = read_people([str(source)], "2026-10", people=people, out_dir=tmp_path)
    result = people_costs(load.frame, people=people)
    kpis = people_kpis(result, busy_gpu_hours=100.0, total_cost=1e6, gpus=8)
    assert "solo" in result.team_headcount  # the solo team was read and counted
    assert any(f.check == "negative_amount" for f in load.findings)
    text = returned_by_ingest(load) + everything(result, kpis)
    text += "\n" + caplog.text
    monthly = float(SOLO_SALARY) / 12
    needles = [SOLO_SALARY, "98765", "98,765", "87654", "87,654", "55555"]
    needles += money_spellings(monthly) + money_spellings(monthly * 1.1)
    for needle in needles:
        assert needle not in text, needle


def test_people_in_scope_under_the_limit_are_left_out_of_every_output(
    tmp_path, salted, caplog
):
    rows = [person(1, "Solo", SOLO_SALARY), person(2, "Research", "71234.56")]
    source = write_csv(tmp_path / "hr.csv", rows)
    people = PeopleConfig(departments=DEPARTMENTS)
    caplog.set_level(logging.DEBUG)
    load = read_people([str(source)], "2026-10", people=people, out_dir=tmp_path)
    result = people_costs(load.frame, people=people)
    assert result.suppressed and result.total == 0 and result.allocations.empty
    text = returned_by_ingest(load) + everything(result) + caplog.text
    for needle in ("98765", "71234", *money_spellings(71234.56 / 12)):
        assert needle not in text


def test_hr_findings_hold_only_counts_row_numbers_and_hashed_ids(tmp_path, salted):
    rows = [
        person(1, "Research", "abc"),
        person(2, "Research", "-5"),
        ["E3", "N", "T", "Research", "WEEKLY", "1", "", ""],
        ["", "N", "T", "Research", "SALARY", "40000", "", ""],
        ["E5", "N", "T", "Research", "HOURLY", "", "12.5", "400"],
    ]
    source = write_csv(tmp_path / "hr.csv", rows)
    people = PeopleConfig(departments=DEPARTMENTS)
    load = read_people([str(source)], "2026-10", people=people, out_dir=tmp_path)
    checks = sorted(f.check for f in load.findings)
    assert checks == ["implausible_hours", "missing_id", "negative_amount",
                      "non_numeric_amount", "unknown_basis_flag"]  # fmt: skip
    assert all(hr_finding_safe(f) for f in load.findings)


@pytest.mark.parametrize(
    "finding",
    [
        # a value in the message
        Finding(Severity.WARNING, "hr", "x", "1 row has salary 52000", count=1),
        # a raw id (not a hash) as an example
        Finding(Severity.WARNING, "hr", "x", "1 row is odd", count=1, examples=["E1"]),
        # a name as an example
        Finding(Severity.WARNING, "hr", "x", "1 row", count=1, examples=["Ada Q"]),
    ],
)
def test_hr_finding_safe_rejects_values_raw_ids_and_names(finding):
    assert not hr_finding_safe(finding)


@pytest.mark.real_data
def test_the_real_one_person_department_pay_appears_nowhere(
    real_data, tmp_path, caplog
):
    path = real_data / "payroll" / "city-payroll-roster.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    (solo,) = [r for r in rows if r["Department"] == "LICENSE APPEAL COMMISSION"]
    people = PeopleConfig(
        departments={
            "LICENSE APPEAL COMMISSION": "appeals",  # 1 person
            "POLICE BOARD": "board",  # 2 people
            "BOARD OF ETHICS": "ethics",  # 6 people
        }
    )
    caplog.set_level(logging.DEBUG)
    load = read_people([str(path)], "2026-10", people=people, out_dir=tmp_path)
    result = people_costs(load.frame, people=people)
    assert result.team_headcount == {"appeals": 1, "board": 2, "ethics": 6}
    assert sorted(result.allocations["team"]) == ["ethics", "people_pooled"]
    text = returned_by_ingest(load) + everything(result) + caplog.text
    salary = float(solo["Annual Salary"])
    for needle in [solo["Annual Salary"], f"{salary:,.2f}", solo["Employee ID"],
                   solo["Job Titles"], *money_spellings(salary / 12)]:  # fmt: skip
        assert needle not in text


def test_people_without_cost_or_with_a_0_percent_share_do_not_make_a_group():
    # Team "a": three people, two of them cost nothing this month.
    data = power_of_two_frame({"a": 3, "b": 5})
    data.loc[[0, 1], "monthly_cost"] = 0.0
    # Project "p": one real share and two 0 % shares.
    data["split:p"] = [None, None, None, 100, 0, 0, None, None]
    data["split:q"] = [None, None, None, 0, 100, 100, 100, 100]
    result = people_costs(data, people=PeopleConfig())
    for amount in result.allocations["amount"]:
        assert len(people_in(amount)) >= 3
    for amount in result.projects["amount"]:
        assert len(people_in(amount)) >= 3


def test_fewer_than_the_limit_with_a_cost_suppresses_even_with_more_in_scope():
    data = power_of_two_frame({"a": 4})
    data.loc[[0, 1], "monthly_cost"] = 0.0
    result = people_costs(data, people=PeopleConfig())
    assert result.suppressed
    assert "4 people are in scope and only 2 of them have a cost" in result.note
