"""Validation as a gate: run each source's suite once, turn results into findings, and
render the data-quality pages.

`validate_month` runs one GX validation definition per canonical frame (billing,
telemetry, people) in an ephemeral context, adds the few checks that look at a whole
frame (no rows for the month, one currency per account, one format per account-month),
the readers' findings and the cross-source checks, and returns counts, findings and
HTML pages. Severity follows DESIGN §7 (see `ingest/suites.py`).

Privacy: findings carry counts, row numbers, hosts and hashed ids, never cell values.
The HR suite runs with no unexpected values returned at all, so pay never leaves GX.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import great_expectations as gx
import pandas as pd
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.expectations.metadata_types import FailureSeverity

from ingest.config import Config
from ingest.suites import (
    billing_suite,
    billing_view,
    expectation_columns,
    month_bounds,
    people_suite,
    suspect_rows,
    telemetry_suite,
)
from transforms.crosscheck import CrossSourceContext, cross_source_findings
from transforms.findings import Finding, Severity
from transforms.schema import Focus

log = logging.getLogger(__name__)

MAX_EXAMPLES = 20
SOURCES = ("billing", "telemetry", "hr")
NOT_RUN = "not run: column missing"
LOCATED = "located"  # a merged result's failing rows, already named (file, example)
PAGE_NAMES = {"billing": "billing.html", "telemetry": "telemetry.html", "hr": "hr.html"}


@dataclass
class ValidationResult:
    findings: list[Finding]  # severity per DESIGN §7
    checks: int  # expectations and frame checks evaluated
    failed: int  # those that failed
    warnings: int  # warning findings (readers' included)
    rows_rejected: int  # rows failing blocking checks (0 if none)
    pages: dict[str, str]  # file name -> HTML for out/<month>/data_quality/


@dataclass
class CheckRow:
    """One evaluated check, as a line of a data-quality page."""

    check: str
    column: str
    severity: str
    status: str  # "passed" | "failed" | "not run: column missing" | "error"
    count: int = 0
    examples: list[int | str] = field(default_factory=list)


@dataclass
class SourceOutcome:
    source: str
    rows: int | None  # None: source not given
    checks: list[CheckRow] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def evaluated(self) -> int:
        return sum(1 for c in self.checks if c.status != NOT_RUN)

    @property
    def failed(self) -> int:
        return sum(1 for c in self.checks if c.status in ("failed", "error"))

    @property
    def rejected(self) -> int:
        counts = sum(f.count for f in self.findings if f.severity == Severity.BLOCKING)
        return min(counts, self.rows or 0)


def validate_month(
    *,
    month: str,
    billing: pd.DataFrame | None,
    telemetry: pd.DataFrame | None,
    people: pd.DataFrame | None,
    reader_findings: list[Finding],
    config: Config,
    context: CrossSourceContext | None = None,
    telemetry_checks: SourceOutcome | None = None,
) -> ValidationResult:
    """Validate one month's canonical frames; collect every finding before returning.

    `telemetry_checks`: the telemetry suite's outcome when the samples were checked
    chunk by chunk while they were read (`TelemetryChecks`); then `telemetry` is
    not looked at."""
    gx_context = _gx_context()
    outcomes = [
        _validate_billing(gx_context, billing, month, config),
        telemetry_checks
        if telemetry_checks is not None
        else _validate_telemetry(gx_context, telemetry, config),
        _validate_people(gx_context, people),
    ]
    extra = cross_source_findings(context) if context is not None else []
    findings = _merge(reader_findings, outcomes, extra)
    checks = sum(o.evaluated for o in outcomes)
    failed = sum(o.failed for o in outcomes)
    result = ValidationResult(
        findings=findings,
        checks=checks,
        failed=failed,
        warnings=sum(1 for f in findings if f.severity == Severity.WARNING),
        rows_rejected=sum(o.rejected for o in outcomes),
        pages={},
    )
    result.pages = render_pages(month, outcomes, result)
    log.info(
        "validated %s: %s checks, %s failed, %s blocking, %s warnings",
        month,
        checks,
        failed,
        len(findings) - result.warnings - _count(findings, Severity.INFO),
        result.warnings,
    )
    return result


def _count(findings: list[Finding], severity: Severity) -> int:
    return sum(1 for f in findings if f.severity == severity)


def _merge(
    reader: list[Finding], outcomes: list[SourceOutcome], extra: list[Finding]
) -> list[Finding]:
    """Readers' findings first; ours unless a reader already reported the same thing.

    A reader that blocks on a column (a cost that is not a number) has said what is
    wrong with it: the suite's blocking finding on the same column (the null that
    the bad cell became) would only say it again."""
    merged = list(reader)
    seen = {_key(f) for f in reader}
    blocked = {(f.source, f.column) for f in reader if f.severity == Severity.BLOCKING}
    for outcome in outcomes:
        kept = [
            f
            for f in outcome.findings
            if _key(f) not in seen
            and not (
                f.severity == Severity.BLOCKING and (f.source, f.column) in blocked
            )
        ]
        outcome.findings = kept
        merged.extend(kept)
    merged.extend(extra)
    return merged


def _key(finding: Finding) -> tuple:
    return (finding.severity, finding.source, finding.check, finding.column)


# --- running GX ---


def _gx_context() -> Any:
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def _run_suite(
    gx_context: Any, suite: gx.ExpectationSuite, frame: pd.DataFrame, result_format
) -> tuple[list, list[CheckRow]]:
    """One validation definition per suite: GX computes each metric once per run.

    Expectations on columns the frame lacks are not run (the column checks report
    the gap once); they come back as "not run" rows for the page."""
    definition, skipped = _definition(gx_context, suite, list(frame.columns))
    run = definition.run(
        batch_parameters={"dataframe": frame}, result_format=result_format
    )
    return list(run.results), skipped


def _definition(gx_context: Any, suite: gx.ExpectationSuite, columns: list[str]):
    """The suite's runnable expectations as a validation definition, and the rest."""
    runnable, skipped = [], []
    for expectation in suite.expectations:
        needs = expectation_columns(expectation)
        if expectation.expectation_type == "expect_column_to_exist" or all(
            c in columns for c in needs
        ):
            runnable.append(expectation)
        else:
            skipped.append(_not_run(expectation, needs))
    suite = gx.ExpectationSuite(name=suite.name, expectations=runnable)
    asset = gx_context.data_sources.add_pandas(suite.name).add_dataframe_asset("frame")
    batch = asset.add_batch_definition_whole_dataframe("month")
    suite = gx_context.suites.add(suite)
    definition = gx_context.validation_definitions.add(
        gx.ValidationDefinition(name=suite.name, data=batch, suite=suite)
    )
    return definition, skipped


def _not_run(expectation, needs: set[str]) -> CheckRow:
    severity = (
        Severity.BLOCKING
        if expectation.severity == FailureSeverity.CRITICAL
        else Severity.WARNING
    )
    column = (expectation.meta or {}).get("column") or ", ".join(sorted(needs))
    return CheckRow(expectation.expectation_type, column, str(severity), NOT_RUN)


def _summary_format(examples: int = MAX_EXAMPLES) -> dict[str, Any]:
    """Counts plus the index labels of the first `examples` failing rows.

    No `unexpected_index_column_names`: with them GX looks up every failing row's
    columns one by one in Python (minutes for a million failing rows); the default
    index comes back as one list, and `_locate_all` reads the few it needs. No index
    query either: GX would write every failing label into a string."""
    return {
        "result_format": "SUMMARY",
        "partial_unexpected_count": examples,
        "return_unexpected_index_query": False,
        "exclude_unexpected_values": examples == 0,
    }


def _positional(frame: pd.DataFrame) -> pd.DataFrame:
    """GX reports failing rows by index label: make labels positions (0..n-1)."""
    index = frame.index
    if isinstance(index, pd.RangeIndex) and (index.start, index.step) == (0, 1):
        return frame
    return frame.reset_index(drop=True)


# Names failing rows, given the frame and GX's index labels: (file, example) each.
Locator = Callable[[pd.DataFrame, list], list[tuple[str, int | str]]]


def _outcome_from_results(
    source: str, frame: pd.DataFrame, ran: tuple[list, list[CheckRow]], locate
) -> SourceOutcome:
    results, skipped = ran
    outcome = SourceOutcome(source=source, rows=len(frame))
    blocked_columns: set[str] = set()
    for result in sorted(results, key=_order):
        row, finding = _interpret(source, result, blocked_columns, frame, locate)
        outcome.checks.append(row)
        if finding is not None:
            outcome.findings.append(finding)
            if finding.severity == Severity.BLOCKING:
                blocked_columns.add(finding.column)
    outcome.checks.extend(skipped)
    return outcome


def _order(result) -> tuple:
    config = result.expectation_config
    return (config.severity != FailureSeverity.CRITICAL, _columns(config.kwargs))


def _columns(kwargs: dict) -> str:
    if "column" in kwargs:
        return str(kwargs["column"])
    if "column_list" in kwargs:
        return ", ".join(str(c) for c in kwargs["column_list"])
    return ", ".join(str(kwargs[k]) for k in ("column_A", "column_B") if k in kwargs)


def _interpret(source, result, blocked_columns, frame, locate):
    config = result.expectation_config
    meta = config.meta or {}
    column = meta.get("column") or _columns(config.kwargs)
    severity = (
        Severity.BLOCKING
        if config.severity == FailureSeverity.CRITICAL
        else Severity.WARNING
    )
    row = CheckRow(config.type, column, str(severity), "passed")
    if result.success:
        return row, None
    if config.type == "expect_column_to_exist":
        row.status = "failed"
        return row, _missing_column(source, column, severity, meta)
    if config.type == "expect_table_columns_to_match_set":
        row.status = "failed"
        return row, _missing_optional(source, result.result, meta)
    if _raised(result):
        row.status = "error"
        if column in blocked_columns:
            return row, None
        return row, _could_not_run(source, config.type, column)
    row.status = "failed"
    if "unexpected_count" not in result.result:  # judged on the dtype, not per row
        observed = str(result.result.get("observed_value", "other"))
        return row, _wrong_dtype(source, config.type, column, severity, meta, observed)
    count = int(result.result["unexpected_count"])
    files, examples = _locate_all(result.result, frame, locate)
    row.count, row.examples = count, examples
    found = _found_values(result.result) if source != "hr" else []
    finding = _failed(source, config.type, column, severity, meta, count, files, found)
    return row, _with_examples(finding, examples)


def _found_values(result: dict, limit: int = 5) -> list[str]:
    """A few distinct failing values, for billing and telemetry (never for HR)."""
    values = result.get("partial_unexpected_list") or []
    distinct = list(dict.fromkeys(repr(v) for v in values if not pd.isna(v)))
    return distinct[:limit]


def _raised(result) -> bool:
    info = result.exception_info or {}
    if info.get("raised_exception"):
        return True
    return any(isinstance(v, dict) and v.get("raised_exception") for v in info.values())


def _locate_all(result: dict, frame: pd.DataFrame, locate: Locator | None):
    located = result.get(LOCATED)
    if located is None:
        labels = result.get("partial_unexpected_index_list") or []
        if locate is None or not labels:
            return [], []
        located = locate(frame, [int(label) for label in labels[:MAX_EXAMPLES]])
    if not located:
        return [], []
    files = sorted({file for file, _ in located if file})
    if len(files) > 1:
        return files, [f"{file}:{example}" for file, example in located]
    return files, [example for _, example in located]


def _with_examples(finding: Finding, examples: list) -> Finding:
    return Finding(**{**finding.__dict__, "examples": examples[:MAX_EXAMPLES]})


# --- finding messages ---


def _sentence(text: str) -> str:
    text = text.rstrip(".")
    return text[:1].upper() + text[1:] + "."


def _missing_column(source, column, severity, meta) -> Finding:
    kind = "required" if severity == Severity.BLOCKING else "optional"
    message = (
        f"{source}: {kind} column {column!r} is missing; expected "
        f"{meta.get('expected', 'the column')}. {_sentence(meta.get('todo', ''))}"
    )
    return Finding(
        severity, source, meta.get("check", "column"), message, column=column
    )


def _missing_optional(source: str, result: dict, meta: dict) -> Finding:
    missing = result.get("details", {}).get("mismatched", {}).get("missing", [])
    message = (
        f"{source}: {len(missing)} optional column(s) missing "
        f"({', '.join(missing)}); expected {meta.get('expected', 'them')}. "
        f"{_sentence(meta.get('todo', ''))}"
    )
    return Finding(
        Severity.WARNING,
        source,
        meta.get("check", "optional_column"),
        message,
        count=len(missing),
        examples=list(missing),
    )


def _wrong_dtype(source, expectation, column, severity, meta, observed) -> Finding:
    """Only type checks judge a whole column; their observed value is a dtype name."""
    expected = meta.get("expected", "another type")
    message = (
        f"{source}, column {column!r}: {expectation} failed for the whole column "
        f"(it holds {observed} values); expected {expected}. "
        f"{_sentence(meta.get('todo', 'check the reader'))}"
    )
    check = meta.get("check", expectation)
    return Finding(severity, source, check, message, column=column)


def _could_not_run(source: str, expectation: str, column: str) -> Finding:
    message = (
        f"{source}, column {column!r}: {expectation} could not run on this column's "
        "values; check the column's type in the reader."
    )
    return Finding(Severity.WARNING, source, "check_error", message, column=column)


def _failed(
    source, expectation, column, severity, meta, count, files, found=()
) -> Finding:
    noun = "row" if count == 1 else "rows"
    where = f"{source} {'file' if len(files) == 1 else 'files'} {', '.join(files)}"
    seen = f"; found {', '.join(found)}" if found else ""
    message = (
        f"{where if files else source}, column {column!r}: {expectation} failed on "
        f"{count} {noun}{{examples}}; expected {meta.get('expected', 'other values')}"
        f"{seen}. {_sentence(meta.get('todo', 'check the source'))}"
    )
    return Finding(
        severity,
        source,
        meta.get("check", expectation),
        message,
        file=", ".join(files),
        column=column,
        count=count,
    )


def _example_text(count: int, examples: list, label: str = "row") -> str:
    if not examples:
        return ""
    shown = ", ".join(str(e) for e in examples[:MAX_EXAMPLES])
    if len(examples) >= MAX_EXAMPLES and count > len(examples):
        return f" (first {len(examples)} {label}s: {shown})"
    return f" ({label} {shown})" if len(examples) == 1 else f" ({label}s {shown})"


def _finish(outcome: SourceOutcome, label: str = "row") -> SourceOutcome:
    """Fill the `{examples}` slot of each message once the examples are known."""
    outcome.findings = [
        Finding(
            **{
                **f.__dict__,
                "message": f.message.replace(
                    "{examples}", _example_text(f.count, f.examples, label)
                ),
            }
        )
        for f in outcome.findings
    ]
    return outcome


def _frame_check(
    outcome: SourceOutcome, check: str, column: str, finding: Finding | None
) -> None:
    """Record a check done in pandas on the whole frame (not an expectation)."""
    severity = str(finding.severity) if finding else "warning"
    status = "failed" if finding else "passed"
    count = finding.count if finding else 0
    examples = finding.examples if finding else []
    outcome.checks.append(CheckRow(check, column, severity, status, count, examples))
    if finding is not None:
        outcome.findings.append(finding)


# --- billing ---


def _validate_billing(gx_context, billing, month, config) -> SourceOutcome:
    if billing is None or billing.empty:
        outcome = SourceOutcome("billing", rows=0 if billing is not None else None)
        _frame_check(outcome, "billing_rows_for_month", "", _no_rows(month))
        return outcome
    currencies = {config.report.currency, *config.fx_rates}
    suite = billing_suite(month=month, currencies=currencies)
    billing = _positional(billing)
    results = _run_suite(gx_context, suite, billing_view(billing), _summary_format())
    outcome = _outcome_from_results("billing", billing, results, _billing_locator)
    _billing_frame_checks(outcome, billing, month)
    return _finish(outcome)


def _billing_locator(frame: pd.DataFrame, positions: list[int]):
    files = _column_at(frame, Focus.SourceFile, positions, "")
    rows = _column_at(frame, Focus.SourceRow, positions, None)
    return [
        (str(file), int(row) if row is not None else position + 1)
        for file, row, position in zip(files, rows, positions, strict=True)
    ]


def _column_at(frame: pd.DataFrame, column: str, positions: list[int], default):
    if column not in frame.columns:
        return [default] * len(positions)
    values = frame[column].iloc[positions].tolist()
    return [default if pd.isna(v) else v for v in values]


def _no_rows(month: str) -> Finding:
    return Finding(
        Severity.BLOCKING,
        "billing",
        "no_rows_for_month",
        f"billing: no billing rows for {month}; expected at least one charge dated "
        "in the month. Check [sources] billing in finops.toml and that the "
        "month's export has arrived, then re-run.",
    )


def _billing_frame_checks(outcome, billing: pd.DataFrame, month: str) -> None:
    start = billing.get(Focus.ChargePeriodStart)
    if start is not None:
        timestamps_ok = isinstance(start.dtype, pd.DatetimeTZDtype)
        _frame_check(
            outcome,
            "timestamp_type",
            Focus.ChargePeriodStart,
            None if timestamps_ok else _not_timestamps("billing", start),
        )
        if timestamps_ok:
            lo, hi = month_bounds(month)
            in_month = int(((start >= lo) & (start < hi)).sum())
            _frame_check(
                outcome,
                "billing_rows_for_month",
                Focus.ChargePeriodStart,
                None if in_month else _no_rows(month),
            )
    _account_checks(outcome, billing)


def _not_timestamps(source: str, column: pd.Series) -> Finding:
    return Finding(
        Severity.BLOCKING,
        source,
        "unparsed_value",
        f"{source}, column {column.name!r}: the column holds {column.dtype} values; "
        "expected timestamps with a time zone (UTC). Parse the column as UTC "
        "timestamps in the reader, then re-run.",
        column=str(column.name),
        count=len(column),
    )


def _account_checks(outcome, billing: pd.DataFrame) -> None:
    account = Focus.BillingAccountId
    wanted = [c for c in (Focus.BillingCurrency, Focus.SourceFormat) if c in billing]
    if account not in billing or not wanted:
        return
    distinct = billing.groupby(account, observed=True, sort=True)[wanted].nunique()
    if Focus.BillingCurrency in distinct:
        many = distinct.index[distinct[Focus.BillingCurrency] > 1].tolist()
        _frame_check(
            outcome,
            "one_currency_per_account",
            Focus.BillingCurrency,
            _accounts_finding(many, Severity.WARNING, "account_currencies"),
        )
    if Focus.SourceFormat in distinct:
        many = distinct.index[distinct[Focus.SourceFormat] > 1].tolist()
        _frame_check(
            outcome,
            "one_format_per_account_month",
            Focus.SourceFormat,
            _accounts_finding(many, Severity.BLOCKING, "account_month_formats"),
        )


def _accounts_finding(accounts: list, severity: Severity, check: str):
    if not accounts:
        return None
    shown = ", ".join(str(a) for a in accounts[:MAX_EXAMPLES])
    if check == "account_currencies":
        text = (
            f"billing, column 'BillingCurrency': {len(accounts)} billing account(s) "
            f"bill in more than one currency ({shown}); expected one currency per "
            "account. Check the accounts' exports; amounts are converted per row."
        )
    else:
        text = (
            f"billing, column 'x_SourceFormat': {len(accounts)} billing account(s) "
            f"arrive in two formats for this month ({shown}); expected one format "
            "per account and month. Remove one of the exports from [sources] "
            "billing, then re-run."
        )
    return Finding(
        severity,
        "billing",
        check,
        text,
        column=str(Focus.BillingCurrency)
        if check == "account_currencies"
        else str(Focus.SourceFormat),
        count=len(accounts),
        examples=[str(a) for a in accounts[:MAX_EXAMPLES]],
    )


# --- telemetry and people ---


def _validate_telemetry(gx_context, telemetry, config: Config) -> SourceOutcome:
    if telemetry is None:
        return SourceOutcome("telemetry", rows=None)
    if telemetry.empty:
        return _empty("telemetry", "GPU samples")
    caps = {h.host: h.power_cap_watts for h in config.inventory}
    telemetry = _positional(telemetry)
    suite = telemetry_suite(caps)
    results = _run_suite(gx_context, suite, telemetry, _summary_format())
    outcome = _outcome_from_results("telemetry", telemetry, results, _sample_locator)
    stamp = telemetry.get("timestamp")
    if stamp is not None:
        ok = isinstance(stamp.dtype, pd.DatetimeTZDtype)
        _frame_check(
            outcome,
            "timestamp_type",
            "timestamp",
            None if ok else _not_timestamps("telemetry", stamp),
        )
    return _finish(outcome, label="sample")


class TelemetryChecks:
    """The telemetry suite run chunk by chunk as the samples stream in.

    Each chunk is checked as it arrives and its failing rows are named at once, so
    the chunk can be dropped; `outcome()` merges the chunks' results (counts summed,
    the first examples kept) into the outcome one run over all samples gives.
    Uniqueness of samples is checked per chunk: the reader puts every sample of a
    GPU in one chunk.

    GX costs about 2 µs per row and expectation group, too much for tens of millions
    of samples, so it sees the chunk's first rows plus every row `suspect_rows`
    flags as possibly failing, in their order: the counts, examples and findings are
    those of a run over the whole chunk. Those rows are gathered over chunks and
    judged in one GX run per million (a GX run has a fixed cost of about 0.3 s)."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._context: Any = None
        self._definition: Any = None
        self._suite: Any = None
        self._skipped: list[CheckRow] = []
        self._merged: list[_MergedResult] = []
        self._timestamps: Finding | None = None
        self._pending: list[pd.DataFrame] = []
        self._pending_rows = 0
        self.rows = 0
        self.chunks = 0

    def add(self, frame: pd.DataFrame) -> None:
        if frame.empty:
            return
        if self._definition is None:
            self._context = _gx_context()
            caps = {h.host: h.power_cap_watts for h in self._config.inventory}
            self._suite = telemetry_suite(caps)
            self._definition, self._skipped = _definition(
                self._context, self._suite, list(frame.columns)
            )
        self.rows += len(frame)
        self.chunks += 1
        stamp = frame.get("timestamp")
        naive = stamp is not None and not isinstance(stamp.dtype, pd.DatetimeTZDtype)
        if self._timestamps is None and naive:
            self._timestamps = _not_timestamps("telemetry", stamp)
        judged = _rows_to_judge(frame, self._suite)
        self._pending.append(judged)
        self._pending_rows += len(judged)
        if self._pending_rows >= JUDGED_PER_RUN:
            self._judge()

    def _judge(self) -> None:
        """One GX run over the rows gathered so far."""
        if not self._pending:
            return
        frame = pd.concat(self._pending, ignore_index=True)
        self._pending, self._pending_rows = [], 0
        run = self._definition.run(
            batch_parameters={"dataframe": frame}, result_format=_summary_format()
        )
        results = [_MergedResult.of(r, frame, _sample_locator) for r in run.results]
        merged = self._merged or results
        if self._merged:
            merged = [a.plus(b) for a, b in zip(merged, results, strict=True)]
        self._merged = merged

    def outcome(self) -> SourceOutcome:
        self._judge()
        if not self.rows:
            return _empty("telemetry", "GPU samples")
        ran = (self._merged, self._skipped)
        outcome = _outcome_from_results("telemetry", pd.DataFrame(), ran, None)
        outcome.rows = self.rows
        _frame_check(outcome, "timestamp_type", "timestamp", self._timestamps)
        return _finish(outcome, label="sample")


# Rows of each chunk GX always sees, so that table and type checks have data.
JUDGED_HEAD = 1_000
# Gathered rows that make GX run before the last chunk: memory stays bounded.
JUDGED_PER_RUN = 1_000_000


def _rows_to_judge(frame: pd.DataFrame, suite) -> pd.DataFrame:
    suspect = suspect_rows(frame, suite)
    if suspect is None:
        return frame
    suspect[:JUDGED_HEAD] = True
    return frame[suspect]


@dataclass
class _MergedResult:
    """The parts of a GX validation result the outcome reads, summable over chunks."""

    expectation_config: Any
    success: bool
    result: dict
    exception_info: dict

    @classmethod
    def of(cls, result, frame: pd.DataFrame, locate: Locator) -> _MergedResult:
        detail = dict(result.result or {})
        labels = detail.pop("partial_unexpected_index_list", None) or []
        detail[LOCATED] = locate(frame, [int(x) for x in labels[:MAX_EXAMPLES]])
        return cls(
            result.expectation_config,
            bool(result.success),
            detail,
            dict(result.exception_info or {}),
        )

    def plus(self, other: _MergedResult) -> _MergedResult:
        if other.success and not _raised(other):
            return self
        if self.success and not _raised(self):
            return other
        detail = dict(self.result)
        for key in ("unexpected_count", "element_count", "missing_count"):
            if key in detail or key in other.result:
                detail[key] = detail.get(key, 0) + other.result.get(key, 0)
        for key in ("partial_unexpected_list", LOCATED):
            both = [*(detail.get(key) or []), *(other.result.get(key) or [])]
            detail[key] = both[:MAX_EXAMPLES]
        info = self.exception_info if _raised(self) else other.exception_info
        return _MergedResult(self.expectation_config, False, detail, info)


def _sample_locator(frame: pd.DataFrame, positions: list[int]):
    files = _column_at(frame, "source_file", positions, "")
    hosts = _column_at(frame, "host", positions, "")
    stamps = _column_at(frame, "timestamp", positions, None)
    return [
        (str(file), f"{host} {_iso(stamp)}".strip())
        for file, host, stamp in zip(files, hosts, stamps, strict=True)
    ]


def _iso(stamp) -> str:
    return stamp.isoformat() if isinstance(stamp, pd.Timestamp) else ""


def _empty(source: str, what: str) -> SourceOutcome:
    outcome = SourceOutcome(source, rows=0)
    finding = Finding(
        Severity.WARNING,
        source,
        "no_rows_for_month",
        f"{source}: no {what} for this month; the report goes on without them. "
        f"Check [sources] {source} in finops.toml.",
    )
    _frame_check(outcome, "rows_for_month", "", finding)
    return outcome


def _validate_people(gx_context, people) -> SourceOutcome:
    if people is None:
        return SourceOutcome("hr", rows=None)
    if people.empty:
        return _empty("hr", "people")
    # No unexpected values and no index columns: GX returns counts only.
    counts_only = _summary_format(examples=0)
    results = _run_suite(gx_context, people_suite(), people, counts_only)
    outcome = _outcome_from_results("hr", people, results, locate=None)
    _add_duplicate_ids(outcome, people)
    return _finish(outcome, label="id")


def _add_duplicate_ids(outcome: SourceOutcome, people: pd.DataFrame) -> None:
    """Hashed ids are safe to show: name the duplicated ones."""
    if "employee_id_hash" not in people:
        return
    ids = people["employee_id_hash"]
    duplicated = sorted(ids[ids.duplicated(keep=False)].dropna().unique().tolist())
    if not duplicated:
        return
    examples: list[int | str] = [str(i) for i in duplicated[:MAX_EXAMPLES]]
    for i, finding in enumerate(outcome.findings):
        if finding.check == "duplicate_person":
            outcome.findings[i] = _with_examples(finding, examples)
    for row in outcome.checks:
        if row.check == "expect_column_values_to_be_unique":
            row.examples = examples


# --- plain text and HTML ---


def blocking_table(result: ValidationResult) -> str:
    """A short table for `finops validate`: blocking findings first, then warnings."""
    rows = [f for f in result.findings if f.severity == Severity.BLOCKING]
    rows += [f for f in result.findings if f.severity == Severity.WARNING]
    header = f"{'severity':<9} {'source':<12} {'check':<28} {'count':>7}  message"
    lines = [header, "-" * len(header)]
    for f in rows:
        lines.append(
            f"{f.severity!s:<9} {f.source:<12} {f.check:<28} {f.count:>7}  {f.message}"
        )
    lines.append(
        f"{result.checks} checks, {result.failed} failed, "
        f"{len(rows) - result.warnings} blocking, {result.warnings} warnings"
    )
    return "\n".join(lines)


_STYLE = (
    "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
    ".blocking{color:#a00;font-weight:bold}.warning{color:#a60}"
    ".failed{color:#a00}.passed{color:#070}"
)


def render_pages(
    month: str, outcomes: list[SourceOutcome], result: ValidationResult
) -> dict[str, str]:
    """One page per source plus an index; every value goes through html.escape."""
    by_source = {o.source: o for o in outcomes}
    reader = [f for f in result.findings if f.source in SOURCES]
    pages = {}
    for source in SOURCES:
        outcome = by_source.get(source) or SourceOutcome(source, rows=None)
        own = [f for f in reader if f.source == source]
        pages[PAGE_NAMES[source]] = _source_page(month, outcome, own)
    others = [f for f in result.findings if f.source not in SOURCES]
    pages["index.html"] = _index_page(month, outcomes, result, others)
    return pages


def _page(title: str, body: list[str]) -> str:
    return (
        "<!doctype html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>\n<h1>{html.escape(title)}</h1>\n"
        + "\n".join(body)
        + "\n</body></html>"
    )


def _table(headers: list[str], rows: list[list[Any]], classes=None) -> str:
    if not rows:
        return "<p>None.</p>"
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    lines = [f"<table><tr>{head}</tr>"]
    for i, row in enumerate(rows):
        css = f" class='{html.escape(classes[i])}'" if classes else ""
        cells = "".join(f"<td>{html.escape(str(v))}</td>" for v in row)
        lines.append(f"<tr{css}>{cells}</tr>")
    lines.append("</table>")
    return "\n".join(lines)


def _findings_table(findings: list[Finding]) -> str:
    rows = [
        [f.severity, f.check, f.column, f.count, _examples(f.examples), f.message]
        for f in findings
    ]
    headers = ["severity", "check", "column", "count", "examples", "message"]
    return _table(headers, rows, [str(f.severity) for f in findings])


def _examples(examples: list) -> str:
    return ", ".join(str(e) for e in examples[:MAX_EXAMPLES])


def _source_page(month: str, outcome: SourceOutcome, findings: list[Finding]) -> str:
    title = f"Data quality: {outcome.source}, {month}"
    if outcome.rows is None and not findings:
        return _page(title, ["<p>This source was not given for this run.</p>"])
    rows = [
        [c.check, c.column, c.severity, c.status, c.count, _examples(c.examples)]
        for c in outcome.checks
    ]
    body = [
        f"<p>{outcome.rows or 0} rows; {outcome.evaluated} checks, "
        f"{outcome.failed} failed.</p>",
        "<h2>Findings</h2>",
        _findings_table(findings),
        "<h2>Checks</h2>",
        _table(
            ["expectation", "column", "severity", "status", "count", "examples"],
            rows,
            [c.status.split(":")[0].replace(" ", "-") for c in outcome.checks],
        ),
    ]
    return _page(title, body)


def _index_page(month, outcomes, result: ValidationResult, others) -> str:
    blocking = sum(1 for f in result.findings if f.severity == Severity.BLOCKING)
    links = [
        f"<li><a href='{PAGE_NAMES[o.source]}'>{html.escape(o.source)}</a>: "
        f"{o.evaluated} checks, {o.failed} failed</li>"
        for o in outcomes
    ]
    body = [
        f"<p>{result.checks} checks, {result.failed} failed, {blocking} blocking, "
        f"{result.warnings} warnings, {result.rows_rejected} rows rejected.</p>",
        "<ul>",
        *links,
        "</ul>",
        "<h2>Cross-source and configuration findings</h2>",
        _findings_table(others),
    ]
    return _page(f"Data quality, {month}", body)
