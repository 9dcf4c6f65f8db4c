"""HR payroll exports (CSV, CSV.gz or XLSX) into the People frame.

Data contract: ingest/README_people.md. In short: one row per employee for the month;
headers map through `HEADERS`; names, job titles and every unmapped column are dropped
as soon as a file is read; ids are replaced by a salted SHA-256 hash; amounts become a
fully loaded monthly cost. Bad rows are left out and reported by row number and hashed
id, never with their values. Nothing here logs an amount, a name or a raw row.
"""

from __future__ import annotations

import gzip
import io
import logging
import os
import re
import secrets
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ingest.config import PeopleConfig
from ingest.payroll_rows import check_rows, hash_ids, rows_finding
from ingest.storage import InputRecord, list_sources, read_bytes, sha256_of
from transforms.errors import IngestError
from transforms.findings import Finding, Severity
from transforms.people import SPLIT_PREFIX, check_splits, splits_from_frame
from transforms.schema import PEOPLE_COLUMNS

log = logging.getLogger(__name__)

SALT_FILE = ".finops_salt"
READABLE = (".csv", ".csv.gz", ".xlsx")

# Canonical field -> header spellings, compared case-folded with punctuation as spaces.
HEADERS: dict[str, tuple[str, ...]] = {
    "employee_id": ("employee id", "employee number", "emp id", "worker id", "id"),
    "department": ("department", "dept", "department name"),
    "cost_centre": ("cost centre", "cost center", "cost centre code", "cc"),
    "full_part": ("full or part time", "full part time", "employment type", "ft pt"),
    "basis": ("salary or hourly", "pay basis", "pay type", "basis"),
    "weekly_hours": ("typical hours", "weekly hours", "hours per week"),
    "annual_salary": ("annual salary", "salary", "annual pay", "base salary"),
    "hourly_rate": ("hourly rate", "rate", "hourly wage", "pay rate"),
    "period": ("period", "pay period", "month", "payroll period"),
}
# Split columns: "split:<project or team>" holding a percentage.
SPLIT_HEADER = re.compile(r"^\s*split\s*:\s*(?P<key>.+?)\s*$", re.IGNORECASE)

# The allocation file `[people] splits`: id, project or team, percent.
SPLIT_FILE_HEADERS: dict[str, tuple[str, ...]] = {
    "employee_id": ("employee id", "id", "emp id", "employee number"),
    "key": ("project", "team", "project or team", "key"),
    "percent": ("percent", "percentage", "pct", "share"),
}


@dataclass
class PeopleLoad:
    frame: pd.DataFrame = field(repr=False)
    inputs: list[InputRecord]
    findings: list[Finding]
    salt_note: str

    def __repr__(self) -> str:
        # The frame holds one person's cost per row: never print it by accident.
        return (
            f"PeopleLoad(rows={len(self.frame)}, inputs={len(self.inputs)}, "
            f"findings={len(self.findings)}, salt_note={self.salt_note!r})"
        )


def read_people(
    entries: list[str],
    month: str,
    *,
    people: PeopleConfig,
    out_dir: str | Path,
    endpoint_url: str = "",
) -> PeopleLoad:
    """Every payroll file under `entries`, as the People frame for `month`."""
    salt, salt_note = resolve_salt(people.salt_env, out_dir)
    frames: list[pd.DataFrame] = []
    inputs: list[InputRecord] = []
    findings: list[Finding] = []
    for entry in entries:
        for obj in list_sources(entry, endpoint_url=endpoint_url):
            if not obj.uri.lower().endswith(READABLE):
                findings.append(_skipped(obj.uri))
                continue
            data = read_bytes(obj.uri, endpoint_url=endpoint_url)
            raw = _parse(data, obj.uri)
            inputs.append(_record(obj.uri, data, len(raw)))
            frame, found = map_payroll(raw, month, people=people, salt=salt)
            frames.append(frame.assign(x_file=obj.uri))
            findings += [_with_file(f, obj.uri) for f in found]
    frame = _combine(frames, findings)
    if people.splits:
        frame, found, record = _apply_split_file(
            frame, people.splits, salt, endpoint_url
        )
        findings += found
        inputs.append(record)
    findings += check_splits(splits_from_frame(frame))
    _log_summary(frame, inputs, findings)
    return PeopleLoad(frame, inputs, findings, salt_note)


def map_payroll(
    raw: pd.DataFrame, month: str, *, people: PeopleConfig, salt: str
) -> tuple[pd.DataFrame, list[Finding]]:
    """One payroll file's text cells -> (People frame rows of `month`, findings)."""
    columns, splits = map_headers(list(raw.columns))
    missing = _missing_required(columns)
    if missing:
        return _empty_frame(), [_missing_column(missing)]
    table = pd.DataFrame({name: raw[src] for name, src in columns.items()})
    table = table.map(lambda v: str(v).strip())
    table["row"] = range(2, len(table) + 2)  # the header is row 1
    table["id_hash"] = hash_ids(table["employee_id"], salt)
    table, findings = _select_month(table, month)
    checked = check_rows(table, people.overhead_rate)
    findings += checked.findings
    good = checked.good
    rows = table[good].assign(basis=checked.basis[good])
    frame = _people_frame(rows, checked.monthly_cost[good], people.departments)
    frame = _add_splits(frame, raw.loc[rows.index], splits, findings)
    return frame, findings


def map_headers(headers: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """(canonical field -> header, split key -> header); everything else dropped."""
    columns: dict[str, str] = {}
    splits: dict[str, str] = {}
    for header in headers:
        match = SPLIT_HEADER.match(str(header))
        if match:
            splits[match["key"]] = header
            continue
        name = _lookup(str(header), HEADERS)
        if name and name not in columns:
            columns[name] = header
    return columns, splits


def resolve_salt(salt_env: str, out_dir: str | Path) -> tuple[str, str]:
    """(salt, note): from the environment, else a random salt kept in out_dir."""
    value = os.environ.get(salt_env, "")
    if value:
        return value, ""
    path = Path(out_dir) / SALT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        state = "kept"
    else:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_hex(32))
        state = "created"
    salt = path.read_text(encoding="utf-8").strip()
    if not salt:
        raise IngestError(
            "the salt file is empty; delete it to create a new one (ids will "
            f"change) or set {salt_env}",
            file=str(path),
        )
    note = (
        f"{salt_env} is unset: employee ids hashed with a random salt {state} in "
        f"{path}; keep that file to keep hashed ids stable between runs"
    )
    return salt, note


# --- Reading --------------------------------------------------------------------


def _parse(data: bytes, uri: str) -> pd.DataFrame:
    lower = uri.lower()
    try:
        if lower.endswith(".xlsx"):
            raw = pd.read_excel(io.BytesIO(data), dtype=str, engine="openpyxl")
            return raw.fillna("")
        if lower.endswith(".gz"):
            data = gzip.decompress(data)
        return _read_csv(data)
    except (ValueError, OSError, KeyError, zlib.error) as exc:
        raise IngestError(
            f"cannot read as a payroll table ({type(exc).__name__}); export it again "
            "as CSV with a header row, or as XLSX with the header on the first row",
            file=uri,
        ) from exc


def _read_csv(data: bytes) -> pd.DataFrame:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def _record(uri: str, data: bytes, rows: int) -> InputRecord:
    fmt = "payroll-xlsx" if uri.lower().endswith(".xlsx") else "payroll-csv"
    return InputRecord(uri, fmt, sha256_of(data), rows, len(data))


def _lookup(header: str, table: dict[str, tuple[str, ...]]) -> str:
    folded = " ".join(re.sub(r"[^0-9a-z]+", " ", header.casefold()).split())
    for name, spellings in table.items():
        if folded in spellings:
            return name
    return ""


# --- Mapping --------------------------------------------------------------------


def _missing_required(columns: dict[str, str]) -> list[str]:
    needs = [
        ("employee_id", ("employee_id",)),
        ("department or cost centre", ("department", "cost_centre")),
        ("annual salary or hourly rate", ("annual_salary", "hourly_rate")),
    ]
    return [label for label, any_of in needs if not any(n in columns for n in any_of)]


def _missing_column(missing: list[str]) -> Finding:
    return Finding(
        Severity.BLOCKING,
        "hr",
        "required_column",
        f"payroll file lacks {len(missing)} required columns ("
        + ", ".join(missing)
        + "); add them or rename its headers as ingest/README_people.md lists",
        count=len(missing),
    )


def _select_month(
    table: pd.DataFrame, month: str
) -> tuple[pd.DataFrame, list[Finding]]:
    """A roster applies to every month; a register keeps the rows of its period."""
    if "period" not in table:
        return table.assign(period=""), []
    parsed = table["period"].map(_month_of)
    bad = parsed.isna()
    findings = []
    if bad.any():
        findings.append(
            rows_finding(
                table[bad],
                Severity.BLOCKING,
                "period",
                "rows have a period that is not a month (expected YYYY-MM or a "
                "date); fix the period column and re-run",
            )
        )
    keep = parsed == month
    return table[keep].assign(period=month), findings


def _month_of(value: str) -> str | None:
    if re.fullmatch(r"\d{4}-\d{2}", value):
        return value
    stamp = pd.to_datetime(value, errors="coerce")
    return None if pd.isna(stamp) else stamp.strftime("%Y-%m")


def _people_frame(
    table: pd.DataFrame, costs: pd.Series, departments: dict[str, str]
) -> pd.DataFrame:
    lookup = {_fold(k): v for k, v in departments.items()}
    department = table.get("department", pd.Series("", index=table.index))
    centre = table.get("cost_centre", pd.Series("", index=table.index))
    team = [
        lookup.get(_fold(d)) or lookup.get(_fold(c)) or ""
        for d, c in zip(department, centre, strict=True)
    ]
    return pd.DataFrame(
        {
            "employee_id_hash": table["id_hash"],
            "department": [d or c for d, c in zip(department, centre, strict=True)],
            "team": team,
            "basis": table["basis"],
            "monthly_cost": costs.astype("float64"),
            "period": table["period"],
            "x_row": table["row"],
        },
        index=table.index,
    )


def _fold(value: str) -> str:
    return " ".join(str(value).split()).casefold()


def _add_splits(
    frame: pd.DataFrame,
    raw: pd.DataFrame,
    splits: dict[str, str],
    findings: list[Finding],
) -> pd.DataFrame:
    for key, header in splits.items():
        values = raw[header].map(lambda v: str(v).strip().removesuffix("%").strip())
        percent = pd.to_numeric(values.replace("", None), errors="coerce")
        bad = (values != "") & (percent.isna() | (percent < 0) | (percent > 100))
        if bad.any():
            rows = frame.loc[bad[bad].index].rename(
                columns={"x_row": "row", "employee_id_hash": "id_hash"}
            )
            findings.append(
                rows_finding(
                    rows,
                    Severity.BLOCKING,
                    "split_value",
                    f"rows have a split percentage in column {header!r} that is "
                    "not a number from 0 to 100; fix them and re-run",
                )
            )
        frame[SPLIT_PREFIX + key] = percent.astype("float64").values
    return frame


def _combine(frames: list[pd.DataFrame], findings: list[Finding]) -> pd.DataFrame:
    if not frames:
        return _empty_frame()[list(PEOPLE_COLUMNS)]
    frame = pd.concat(frames, ignore_index=True)
    duplicated = frame["employee_id_hash"].duplicated(keep="first")
    if duplicated.any():
        rows = frame[duplicated].rename(
            columns={"x_row": "row", "employee_id_hash": "id_hash"}
        )
        findings.append(
            rows_finding(
                rows,
                Severity.WARNING,
                "duplicate_id",
                "rows repeat an employee id already read for this month; only "
                "the first row of each id is counted",
            )
        )
    frame = frame[~duplicated]
    keep = list(PEOPLE_COLUMNS) + split_columns_of(frame)
    return frame[keep].reset_index(drop=True)


def split_columns_of(frame: pd.DataFrame) -> list[str]:
    return sorted(c for c in frame.columns if str(c).startswith(SPLIT_PREFIX))


def _empty_frame() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=str) for c in PEOPLE_COLUMNS})
    frame["monthly_cost"] = frame["monthly_cost"].astype("float64")
    frame["x_row"] = pd.Series(dtype="int64")
    return frame


# --- The separate splits file ---------------------------------------------------


def _apply_split_file(
    frame: pd.DataFrame, uri: str, salt: str, endpoint_url: str
) -> tuple[pd.DataFrame, list[Finding], InputRecord]:
    """Add the `[people] splits` file's percentages as `split:<key>` columns."""
    data = read_bytes(uri, endpoint_url=endpoint_url)
    raw = _parse(data, uri)
    record = InputRecord(uri, "hr-splits", sha256_of(data), len(raw), len(data))
    columns = {_lookup(str(h), SPLIT_FILE_HEADERS): h for h in raw.columns}
    columns.pop("", None)
    lacking = [n for n in SPLIT_FILE_HEADERS if n not in columns]
    if lacking:
        raise IngestError(
            f"splits file needs the columns id, project (or team) and percent; "
            f"missing {', '.join(lacking)}",
            file=uri,
        )
    long, findings = _split_rows(raw, columns, salt, uri)
    frame = frame.drop(columns=split_columns_of(frame))
    wide = long.pivot_table(
        index="employee_id_hash", columns="key", values="percent", aggfunc="sum"
    )
    wide.columns = [SPLIT_PREFIX + str(c) for c in wide.columns]
    unknown = set(wide.index) - set(frame["employee_id_hash"])
    if unknown:
        findings.append(_unknown_split_ids(sorted(unknown), uri))
    frame = frame.merge(wide, left_on="employee_id_hash", right_index=True, how="left")
    return frame, findings, record


def _split_rows(
    raw: pd.DataFrame, columns: dict[str, str], salt: str, uri: str
) -> tuple[pd.DataFrame, list[Finding]]:
    ids = raw[columns["employee_id"]].map(lambda v: str(v).strip())
    text = raw[columns["percent"]].map(lambda v: str(v).strip().removesuffix("%"))
    percent = pd.to_numeric(text.str.strip(), errors="coerce")
    table = pd.DataFrame(
        {
            "employee_id_hash": hash_ids(ids, salt),
            "key": raw[columns["key"]].map(lambda v: str(v).strip()),
            "percent": percent,
            "row": range(2, len(raw) + 2),
        }
    )
    bad = percent.isna() | (percent < 0) | (percent > 100) | (table["key"] == "")
    findings = []
    if bad.any():
        rows = table[bad].rename(columns={"employee_id_hash": "id_hash"})
        finding = rows_finding(
            rows,
            Severity.BLOCKING,
            "split_value",
            "rows of the splits file lack a project or a percentage from 0 to "
            "100; fix them and re-run",
        )
        findings.append(_with_file(finding, uri))
    return table[~bad], findings


def _unknown_split_ids(hashes: list[str], uri: str) -> Finding:
    return Finding(
        Severity.WARNING,
        "hr",
        "split_unknown_id",
        f"{len(hashes)} employee ids in the splits file are not in this month's "
        "payroll; their splits are ignored",
        file=uri,
        count=len(hashes),
        examples=list(hashes[:10]),
    )


# --- Findings and logging -------------------------------------------------------


def _skipped(uri: str) -> Finding:
    return Finding(
        Severity.WARNING,
        "hr",
        "unreadable_format",
        "file skipped: payroll files must end in .csv, .csv.gz or .xlsx",
        file=uri,
    )


def _with_file(finding: Finding, uri: str) -> Finding:
    if finding.file:
        return finding
    return Finding(
        finding.severity,
        finding.source,
        finding.check,
        finding.message,
        file=uri,
        column=finding.column,
        count=finding.count,
        examples=list(finding.examples),
    )


def _log_summary(
    frame: pd.DataFrame, inputs: list[InputRecord], findings: list[Finding]
) -> None:
    in_scope = int((frame["team"] != "").sum())
    log.info(
        "read %s payroll rows for the month from %s files: %s in scope, "
        "%s out of scope, %s findings",
        len(frame),
        len(inputs),
        in_scope,
        len(frame) - in_scope,
        len(findings),
    )
