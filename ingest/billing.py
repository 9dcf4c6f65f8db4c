"""Billing ingestion: every configured file, folder or S3 prefix -> one month's bill.

`read_billing` is the entry point the monthly flow calls. It plans the files (CUR
deliveries by manifest, plain files as they are), reads each one for the month
(`billing_file`), and adds the checks that need every file at once: the same billing
account in two formats, no rows at all for the month. Amounts stay in each row's own
`BillingCurrency`; converting is the transforms' job. A row may stand for several
lines of a large file rolled up to one row per day: `x_LineCount` says how many.
README_billing.md is the contract.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pandas as pd

from ingest.billing_common import LINE_COUNT
from ingest.billing_file import FileResult, empty_frame, read_file
from ingest.cur_delivery import PlannedFile, plan_entry
from ingest.storage import InputRecord
from transforms.distinct import per_distinct
from transforms.findings import Finding, Severity
from transforms.schema import BILLING_COLUMNS, BILLING_MONEY, Focus

FILES_AT_ONCE = 2
QUANTITIES = (Focus.ListUnitPrice, Focus.PricingQuantity, Focus.ConsumedQuantity)

log = logging.getLogger(__name__)


@dataclass
class BillingLoad:
    """The month's billing rows in the canonical frame, and what reading them found."""

    frame: pd.DataFrame
    inputs: list[InputRecord] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    out_of_period: dict = field(default_factory=dict)
    restatements: list[dict] = field(default_factory=list)
    provisional: bool = False
    cost_view: str = "focus"
    invoices: dict[str, float] = field(default_factory=dict)

    @property
    def lines(self) -> int:
        """Source charge lines behind the month's rows (rolled-up rows count theirs)."""
        return int(self.frame[LINE_COUNT].sum()) if len(self.frame) else 0


def read_billing(
    entries: list[str],
    month: str,
    *,
    team_tag: str = "team",
    lookahead_months: int = 1,
    endpoint_url: str = "",
) -> BillingLoad:
    """Read every billing source for `month` ('YYYY-MM'); see the module docstring."""
    findings: list[Finding] = []
    items: list[PlannedFile] = []
    seen: set[str] = set()
    for entry in entries:
        planned, skipped = plan_entry(
            entry, month, lookahead_months, endpoint_url=endpoint_url
        )
        findings += skipped
        for item in planned:
            if item.uri not in seen:
                seen.add(item.uri)
                items.append(item)
    # Two files at a time: one is rolled up in DuckDB (which leaves the GIL) while
    # the other is mapped in pandas. Results keep the listing order.
    with ThreadPoolExecutor(max_workers=FILES_AT_ONCE) as pool:
        results = list(
            pool.map(lambda i: read_file(i, month, team_tag, endpoint_url), items)
        )
    return _combine(results, findings, month)


def _combine(
    results: list[FileResult], findings: list[Finding], month: str
) -> BillingLoad:
    frame = _month_frame(results)
    for result in results:
        findings += result.findings
    findings += _two_formats(frame, month)
    if frame.empty:
        findings.append(_no_rows(month, len(results)))
    load = BillingLoad(
        frame=frame,
        inputs=[r.record for r in results],
        findings=findings,
        out_of_period={
            "rows": sum(r.out_of_period_rows for r in results),
            "billed_cost": sum(r.out_of_period_billed for r in results),
        },
        restatements=_restatements(results),
        provisional=_provisional(frame),
        cost_view=_cost_view(results),
        invoices=_invoices(frame),
    )
    _log_month(load, month)
    return load


def _month_frame(results: list[FileResult]) -> pd.DataFrame:
    parts = [f for r in results for f in r.frames if len(f)]
    if not parts:
        return empty_frame()
    frame = pd.concat(parts, ignore_index=True)
    for column in BILLING_MONEY + QUANTITIES:
        frame[column] = frame[column].astype("float64")
    for column in frame.columns[frame.dtypes.map(pd.api.types.is_object_dtype)]:
        frame[column] = frame[column].where(frame[column].notna(), None)
    ordered = [str(c) for c in BILLING_COLUMNS]
    extras = sorted(c for c in frame.columns if c not in ordered)
    return frame[ordered + extras]


def _family(fmt: str) -> str:
    return "FOCUS" if fmt.startswith("focus") else fmt


def _two_formats(frame: pd.DataFrame, month: str) -> list[Finding]:
    """DESIGN §4: one billing account and month arriving in two formats blocks."""
    if frame.empty:
        return []
    known = frame[frame[Focus.BillingAccountId].notna()]
    families = per_distinct(known[Focus.SourceFormat], lambda u: u.map(_family))
    per_account = families.groupby(known[Focus.BillingAccountId]).unique()
    findings = []
    for account, formats in per_account.items():
        if len(formats) < 2:
            continue
        files = sorted(
            known.loc[
                known[Focus.BillingAccountId] == account, Focus.SourceFile
            ].unique()
        )
        message = (
            f"billing account {account} arrives for {month} in {len(formats)} formats "
            f"({', '.join(sorted(formats))}: {', '.join(files)}); keep one of them "
            "in [sources] billing, or the month is counted twice"
        )
        findings.append(
            Finding(
                Severity.BLOCKING,
                "billing",
                "account_in_two_formats",
                message,
                file=files[0],
                column="BillingAccountId",
                count=len(files),
            )
        )
    return findings


def _no_rows(month: str, files: int) -> Finding:
    message = (
        f"no billing rows dated {month} in {files} file(s) read; check [sources] "
        "billing and the month"
    )
    return Finding(Severity.BLOCKING, "billing", "no_rows_for_month", message)


def _restatements(results: list[FileResult]) -> list[dict]:
    totals: dict[str, list[float]] = {}
    for result in results:
        for month, (rows, billed) in result.restated.items():
            entry = totals.setdefault(month, [0, 0.0])
            entry[0] += rows
            entry[1] += billed
    return [
        {"month": month, "rows": int(rows), "billed_cost": billed}
        for month, (rows, billed) in sorted(totals.items())
    ]


def _provisional(frame: pd.DataFrame) -> bool:
    """A CUR row without an InvoiceId: AWS has not closed the bill yet."""
    if frame.empty:
        return False
    is_cur = frame[Focus.SourceFormat].str.startswith("cur")
    return bool((is_cur & frame[Focus.InvoiceId].isna()).any())


def _cost_view(results: list[FileResult]) -> str:
    views = [r.net_view for r in results if r.net_view is not None]
    if not views:
        return "focus"
    return "net" if all(views) else "unblended"


def _invoices(frame: pd.DataFrame) -> dict[str, float]:
    if frame.empty:
        return {}
    invoice = frame[Focus.InvoiceId].fillna("").astype(str)
    sums = frame[Focus.BilledCost].groupby(invoice).sum()
    return {str(k): float(v) for k, v in sums.items()}


def _log_month(load: BillingLoad, month: str) -> None:
    log.info(
        "billing %s: %d lines in %d rows from %d files, %d lines out of period, "
        "%d restatement month(s), %d findings (%s view%s)",
        month,
        load.lines,
        len(load.frame),
        len(load.inputs),
        load.out_of_period["rows"],
        len(load.restatements),
        len(load.findings),
        load.cost_view,
        ", provisional" if load.provisional else "",
    )
