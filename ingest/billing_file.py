"""One billing file read for one month: detect its format, map it, keep the month.

The file is read chunk by chunk; each chunk is mapped onto the canonical frame and cut
to the month at once, so memory holds one chunk plus the month's rows. A large FOCUS
file is first rolled up to one row per day in DuckDB (`billing_rollup`); its rows then
go through the same mapping, each standing for `x_LineCount` lines, and every count of
lines below (rows read, out-of-period, restatements, findings) counts those lines.
Rows dated outside the month are only counted: as restatements of their own month when
dated before their billing period (the row's `BillingPeriodStart`, else its delivery's
period), else as out-of-period.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ingest import billing_rollup, cur, focus
from ingest.billing_common import LINE_COUNT, Tally, month_bounds
from ingest.billing_io import (
    CHUNK_ROWS,
    iter_chunks,
    read_header,
    sniff_kind,
    unique_names,
)
from ingest.cur_delivery import PlannedFile
from ingest.cur_tags import find_tag_columns
from ingest.storage import InputRecord, file_sha256, local_copy
from transforms.findings import Finding, Severity
from transforms.schema import BILLING_COLUMNS, Focus

log = logging.getLogger(__name__)

Mapper = Callable[[pd.DataFrame], pd.DataFrame]

# Optional columns whose absence is worth a warning (DESIGN §3: a warning at most).
FOCUS_OPTIONAL = ("ChargePeriodEnd", "ServiceName", "ServiceCategory", "Tags")
CUR_OPTIONAL = ("product_name", "resource_id", "usage_account", "invoice_id")


@dataclass
class FileResult:
    record: InputRecord
    frames: list[pd.DataFrame] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    out_of_period_rows: int = 0
    out_of_period_billed: float = 0.0
    restated: dict[str, list[float]] = field(default_factory=dict)  # month -> [rows, $]
    net_view: bool | None = None  # None: not a CUR file

    @property
    def month_rows(self) -> int:
        """Source lines kept for the month (a rolled-up row counts its lines)."""
        return sum(int(f[LINE_COUNT].sum()) for f in self.frames)


def read_file(
    item: PlannedFile, month: str, team_tag: str, endpoint_url: str = ""
) -> FileResult:
    with local_copy(item.uri, endpoint_url=endpoint_url) as path:
        kind = sniff_kind(path, item.uri)
        header = [name.strip() for name in read_header(path, kind, item.uri)]
        record = InputRecord(
            item.uri, "unknown", file_sha256(path), 0, path.stat().st_size
        )
        result = FileResult(record)
        plan = _plan(header, team_tag, result)
        if plan is not None:
            chunks = _chunks(path, kind, header, plan, item.uri)
            _read_rows(chunks, plan, item, month, result)
    _log_file(result, month)
    return result


@dataclass
class _Plan:
    fmt: str
    wanted: list[str]
    mapper: Callable[[pd.DataFrame, Tally, Tally], pd.DataFrame]


def _plan(header: list[str], team_tag: str, result: FileResult) -> _Plan | None:
    """The dialect of a header and how to map it; None (with findings) when unusable."""
    uri = result.record.uri
    fmt = focus.detect(header)
    if fmt is not None:
        result.record.format = fmt
        missing = focus.missing_required(header)
        absent = [c for c in FOCUS_OPTIONAL if c not in header]
        _column_findings(result, missing, absent)
        return (
            None
            if missing
            else _Plan(
                fmt,
                focus.wanted_columns(header),
                lambda c, b, w: focus.to_canonical(c, team_tag, b, w),
            )
        )
    fmt = cur.detect(header)
    if fmt is None:
        result.findings.append(_unknown_format(uri))
        return None
    result.record.format = fmt
    names = unique_names(header)
    columns = cur.resolve_columns(names)
    result.net_view = cur.is_net_view(columns)
    absent = [cur.FIELDS[f][0] for f in CUR_OPTIONAL if f not in columns]
    missing = cur.missing_required(columns)
    _column_findings(result, missing, absent)
    result.findings += _collision_findings(uri, header, fmt)
    return (
        None
        if missing
        else _Plan(
            fmt,
            cur.wanted_columns(names, fmt),
            lambda c, b, w: cur.to_canonical(c, header, fmt, team_tag, b, w),
        )
    )


def _column_findings(result: FileResult, missing: list[str], absent: list[str]) -> None:
    uri = result.record.uri
    for column in missing:
        message = (
            f"{uri}: required column {column!r} is missing from the header; "
            "export the bill with this column"
        )
        result.findings.append(
            Finding(
                Severity.BLOCKING,
                "billing",
                "required_column",
                message,
                file=uri,
                column=column,
            )
        )
    if absent:
        message = (
            f"{uri}: optional column(s) {', '.join(absent)} missing; "
            "the report leaves them empty"
        )
        result.findings.append(
            Finding(
                Severity.WARNING,
                "billing",
                "optional_column",
                message,
                file=uri,
                column=", ".join(absent),
                count=len(absent),
            )
        )


def _unknown_format(uri: str) -> Finding:
    message = (
        f"{uri}: the header is neither FOCUS (ChargePeriodStart, BilledCost, ...) "
        "nor AWS CUR (lineItem/UnblendedCost or line_item_unblended_cost, ...); "
        "export the bill as FOCUS or CUR"
    )
    return Finding(Severity.BLOCKING, "billing", "unknown_format", message, file=uri)


def _collision_findings(uri: str, header: list[str], fmt: str) -> list[Finding]:
    tags = find_tag_columns(header, fmt)
    return [
        Finding(
            Severity.WARNING,
            "billing",
            "tag_key_collision",
            f"{uri}: tag columns {', '.join(names)} fold to the same key {key!r}; "
            "the first one is used; rename one of the tags at the source",
            file=uri,
            column=names[0],
            count=len(names),
        )
        for key, names in tags.collisions.items()
    ]


def _chunks(
    path: Path, kind: str, header: list[str], plan: _Plan, uri: str
) -> Iterator[pd.DataFrame]:
    """Chunks of source rows: a large FOCUS file's daily rollup, else its lines."""
    if plan.fmt.startswith("focus") and billing_rollup.has_many_lines(path, kind):
        table = billing_rollup.roll_up(path, kind, header, plan.wanted, uri)
        if table is not None:
            log.info("%s: rolled up to %d rows, one per day", uri, table.num_rows)
            for batch in table.to_batches(max_chunksize=CHUNK_ROWS):
                yield batch.to_pandas(strings_to_categorical=True)
            return
    yield from iter_chunks(path, kind, plan.wanted, uri)


def _read_rows(
    chunks: Iterator[pd.DataFrame],
    plan: _Plan,
    item: PlannedFile,
    month: str,
    result: FileResult,
) -> None:
    uri = item.uri
    blocking, warning = Tally(uri), Tally(uri)
    period_start = pd.Timestamp(f"{item.period}-01", tz="UTC") if item.period else None
    for chunk in chunks:
        lines = chunk[LINE_COUNT].astype("int64") if LINE_COUNT in chunk else None
        blocking.lines = warning.lines = lines
        result.record.rows += len(chunk) if lines is None else int(lines.sum())
        frame = plan.mapper(chunk, blocking, warning)
        frame[LINE_COUNT] = 1 if lines is None else lines
        frame[LINE_COUNT] = frame[LINE_COUNT].astype("int64")
        _keep_month(frame, month, period_start, result)
    for frame in result.frames:
        frame[Focus.SourceFormat] = plan.fmt
        frame[Focus.SourceFile] = uri
    result.findings += blocking.findings(Severity.BLOCKING)
    result.findings += warning.findings(Severity.WARNING)
    result.findings += _period_findings(result, month)


def _keep_month(
    frame: pd.DataFrame,
    month: str,
    period_start: pd.Timestamp | None,
    result: FileResult,
) -> None:
    start, end = month_bounds(month)
    when = frame[Focus.ChargePeriodStart]
    inside = (when >= start) & (when < end)
    result.frames.append(frame[inside.fillna(False)])
    outside = when.notna() & ~inside.fillna(False)
    if not outside.any():
        return
    billing_period = frame[Focus.BillingPeriodStart]
    if period_start is not None:
        billing_period = billing_period.fillna(period_start)
    restated = outside & (when < billing_period).fillna(False)
    other = outside & ~restated
    result.out_of_period_rows += int(frame.loc[other, LINE_COUNT].sum())
    result.out_of_period_billed += float(frame.loc[other, Focus.BilledCost].sum())
    by_month = frame[restated].groupby(when[restated].dt.strftime("%Y-%m"))
    for restated_month, rows in by_month[[Focus.BilledCost, LINE_COUNT]]:
        entry = result.restated.setdefault(str(restated_month), [0, 0.0])
        entry[0] += int(rows[LINE_COUNT].sum())
        entry[1] += float(rows[Focus.BilledCost].sum())


def _period_findings(result: FileResult, month: str) -> list[Finding]:
    uri = result.record.uri
    findings = []
    if result.out_of_period_rows:
        message = (
            f"{uri}: {result.out_of_period_rows} row(s) dated outside {month} "
            f"({result.out_of_period_billed:.2f} billed) are left out of {month}"
        )
        findings.append(
            Finding(
                Severity.WARNING,
                "billing",
                "out_of_period",
                message,
                file=uri,
                count=result.out_of_period_rows,
            )
        )
    for restated_month, (rows, billed) in sorted(result.restated.items()):
        message = (
            f"{uri}: {rows} row(s) correct {restated_month} ({billed:.2f} billed); "
            f"re-run {restated_month} to include them"
        )
        findings.append(
            Finding(
                Severity.WARNING,
                "billing",
                "restatement",
                message,
                file=uri,
                count=int(rows),
            )
        )
    if result.record.rows and not result.month_rows:
        message = f"{uri}: no rows for {month} in this file"
        findings.append(
            Finding(Severity.WARNING, "billing", "empty_for_month", message, file=uri)
        )
    return findings


def _log_file(result: FileResult, month: str) -> None:
    billed = _billed_by_currency(result.frames)
    log.info(
        "read %s: format %s, %d lines, %d in %s (billed %s), %d out of period, "
        "%d restated",
        result.record.uri,
        result.record.format,
        result.record.rows,
        result.month_rows,
        month,
        billed or "nothing",
        result.out_of_period_rows,
        sum(int(v[0]) for v in result.restated.values()),
    )


def _billed_by_currency(frames: list[pd.DataFrame]) -> str:
    parts = [f for f in frames if len(f)]
    if not parts:
        return ""
    frame = pd.concat([f[[Focus.BillingCurrency, Focus.BilledCost]] for f in parts])
    sums = frame.groupby(Focus.BillingCurrency, dropna=False)[Focus.BilledCost].sum()
    return ", ".join(f"{total:,.2f} {currency}" for currency, total in sums.items())


def empty_frame() -> pd.DataFrame:
    columns = {str(c): pd.Series(dtype="object") for c in BILLING_COLUMNS}
    return pd.DataFrame({**columns, LINE_COUNT: pd.Series(dtype="int64")})
