"""Row rules of a payroll export: flags, amounts, and the fully loaded monthly cost.

Pure functions over a table of stripped text cells with canonical column names (see
`ingest.payroll.HEADERS`) plus `row` (file row number) and `id_hash`. Every rule is one
line of `_row_rules`; a row breaking any rule is left out and reported by row number
and hashed id only. Values never reach a finding or the log.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from transforms.findings import Finding, Severity

HASH_CHARS = 16
WEEKS_PER_YEAR = 52
MAX_WEEKLY_HOURS = 168
AMOUNT_COLUMNS = ("annual_salary", "hourly_rate", "weekly_hours")

# Flag spellings, compared case-folded with punctuation as spaces.
BASIS_FLAGS = {
    "salary": "salaried",
    "salaried": "salaried",
    "s": "salaried",
    "hourly": "hourly",
    "h": "hourly",
}
FULL_PART_FLAGS = {
    "f": "full",
    "full": "full",
    "full time": "full",
    "ft": "full",
    "p": "part",
    "part": "part",
    "part time": "part",
    "pt": "part",
}

_PLAIN = re.compile(r"-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?")
_GROUPED = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?")


@dataclass(frozen=True)
class RowCheck:
    good: pd.Series  # bool per row: counted
    basis: pd.Series  # "salaried" | "hourly" | ""
    monthly_cost: pd.Series  # fully loaded; NaN on bad rows
    findings: list[Finding]


def hash_ids(ids: Iterable[str], salt: str) -> list[str]:
    """sha256(salt + id), first 16 hex digits; a blank id stays blank."""
    return [
        hashlib.sha256((salt + i).encode("utf-8")).hexdigest()[:HASH_CHARS] if i else ""
        for i in ids
    ]


def parse_amount(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(value or NaN, True where the cell is filled but not a number)."""
    cleaned = text.str.replace(r"^[$€£]\s*", "", regex=True)
    valid = cleaned.map(lambda v: bool(_PLAIN.fullmatch(v) or _GROUPED.fullmatch(v)))
    values = pd.to_numeric(cleaned.where(valid).str.replace(",", ""), errors="coerce")
    return values.astype("float64"), (cleaned != "") & ~valid


def check_rows(table: pd.DataFrame, overhead_rate: float) -> RowCheck:
    """Apply every row rule; compute the monthly cost of the rows that pass."""
    cells = _cells(table)
    amounts = {c: parse_amount(cells[c]) for c in AMOUNT_COLUMNS}
    value = {c: v for c, (v, _) in amounts.items()}
    basis, inferred = _basis(cells, value)
    findings: list[Finding] = []
    bad = pd.Series(False, index=table.index)
    for severity, check, mask, text in _row_rules(cells, amounts, basis):
        if mask.any():
            findings.append(rows_finding(table[mask], severity, check, text))
        bad |= mask
    good = ~bad
    for severity, check, mask, text in _kept_row_notes(cells, basis, inferred):
        if check == "missing_full_part_flag" and "full_part" not in table:
            continue  # an export without the optional column: nothing to note
        if (mask & good).any():
            findings.append(rows_finding(table[mask & good], severity, check, text))
    cost = _monthly_cost(basis, value, overhead_rate).where(good)
    return RowCheck(good, basis.where(good, ""), cost, findings)


def _cells(table: pd.DataFrame) -> dict[str, pd.Series]:
    blank = pd.Series("", index=table.index)
    names = ("employee_id", "basis", "full_part", *AMOUNT_COLUMNS)
    return {n: table.get(n, blank) for n in names}


def _fold(value: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", value.casefold()).split())


def _basis(
    cells: dict[str, pd.Series], value: dict[str, pd.Series]
) -> tuple[pd.Series, pd.Series]:
    """Basis from the flag; a blank flag is inferred when the amounts say which."""
    flag = cells["basis"].map(lambda v: BASIS_FLAGS.get(_fold(v), ""))
    blank = cells["basis"] == ""
    has_salary = value["annual_salary"].notna()
    has_hourly = value["hourly_rate"].notna() & value["weekly_hours"].notna()
    guess = pd.Series("", index=flag.index)
    guess[has_salary & ~has_hourly] = "salaried"
    guess[has_hourly & ~has_salary] = "hourly"
    inferred = blank & (guess != "")
    return flag.where(~blank, guess), inferred


def _row_rules(
    cells: dict[str, pd.Series],
    amounts: dict[str, tuple[pd.Series, pd.Series]],
    basis: pd.Series,
) -> list[tuple[Severity, str, pd.Series, str]]:
    """(severity, check, rows breaking it, what the finding says) per rule."""
    salary, rate, hours = (amounts[c][0] for c in AMOUNT_COLUMNS)
    flag, full_part = cells["basis"], cells["full_part"]
    rules = [
        (
            Severity.WARNING,
            "missing_id",
            cells["employee_id"] == "",
            "rows have no employee id; they are left out of people cost",
        ),
        (
            Severity.WARNING,
            "unknown_basis_flag",
            (flag != "") & (basis == ""),
            "rows have a salaried-or-hourly flag outside the known spellings "
            "(salary, hourly); they are left out of people cost",
        ),
        (
            Severity.WARNING,
            "basis_undetermined",
            (flag == "") & (basis == ""),
            "rows have no salaried-or-hourly flag and amounts that do not say which; "
            "they are left out of people cost",
        ),
        (
            Severity.WARNING,
            "unknown_full_part_flag",
            (full_part != "") & ~full_part.map(lambda v: _fold(v) in FULL_PART_FLAGS),
            "rows have a full-or-part-time flag outside the known spellings (F, P); "
            "they are left out of people cost",
        ),
        (
            Severity.WARNING,
            "salaried_without_salary",
            (basis == "salaried") & salary.isna() & ~amounts["annual_salary"][1],
            "salaried rows have no annual salary; they are left out of people cost",
        ),
        (
            Severity.WARNING,
            "hourly_without_rate_or_hours",
            (basis == "hourly")
            & (rate.isna() | hours.isna())
            & ~amounts["hourly_rate"][1]
            & ~amounts["weekly_hours"][1],
            "hourly rows lack an hourly rate or typical weekly hours; they are "
            "left out of people cost",
        ),
        (
            Severity.WARNING,
            "implausible_hours",
            hours > MAX_WEEKLY_HOURS,
            "rows have more typical weekly hours than a week has; they are left "
            "out of people cost",
        ),
    ]
    for column in AMOUNT_COLUMNS:
        value, not_number = amounts[column]
        rules.append(
            (
                Severity.BLOCKING,
                "non_numeric_amount",
                not_number,
                f"rows have a {column.replace('_', ' ')} that is not a number; "
                "fix the export and re-run",
            )
        )
        rules.append(
            (
                Severity.WARNING,
                "negative_amount",
                value < 0,
                f"rows have a negative {column.replace('_', ' ')}; they are "
                "left out of people cost",
            )
        )
    return rules


def _kept_row_notes(
    cells: dict[str, pd.Series], basis: pd.Series, inferred: pd.Series
) -> list[tuple[Severity, str, pd.Series, str]]:
    """Odd but usable rows: counted, and reported."""
    full_part = cells["full_part"].map(lambda v: FULL_PART_FLAGS.get(_fold(v), ""))
    return [
        (
            Severity.WARNING,
            "basis_inferred",
            inferred,
            "rows have no salaried-or-hourly flag; the basis was taken from the "
            "amounts filled in",
        ),
        (
            Severity.WARNING,
            "missing_full_part_flag",
            cells["full_part"] == "",
            "rows have no full-or-part-time flag; they are counted (the flag does "
            "not change the cost)",
        ),
        (
            Severity.INFO,
            "part_time_salaried",
            (full_part == "part") & (basis == "salaried"),
            "part-time rows are salaried; their annual salary is taken as paid",
        ),
    ]


def _monthly_cost(
    basis: pd.Series, value: dict[str, pd.Series], overhead_rate: float
) -> pd.Series:
    salaried = value["annual_salary"] / 12
    hourly = value["hourly_rate"] * value["weekly_hours"] * WEEKS_PER_YEAR / 12
    base = salaried.where(basis == "salaried", hourly)
    return base * (1 + overhead_rate)


def rows_finding(
    rows: pd.DataFrame, severity: Severity, check: str, text: str
) -> Finding:
    examples: list[int | str] = [
        f"row {r} (id {h})" if h else f"row {r}"
        for r, h in zip(rows["row"].head(10), rows["id_hash"].head(10), strict=True)
    ]
    return Finding(
        severity,
        "hr",
        check,
        f"{len(rows)} {text}",
        count=len(rows),
        examples=examples,
    )
