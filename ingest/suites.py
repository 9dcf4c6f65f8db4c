"""Expectation suites: one per canonical frame, built from its data contract.

The contracts live in `transforms/schema.py` (column names, required columns, units);
this module turns them into Great Expectations 1.x suites. Each expectation carries:

- `severity`: GX CRITICAL for the blocking list of DESIGN §7 (a required column missing,
  a cost or timestamp that does not parse, a ChargeCategory outside FOCUS, a currency
  without a rate), GX WARNING for everything else;
- `meta`: `check` (a short machine name for findings), `expected` (what a good value
  looks like, in words) and `todo` (what to do about a failure).

A few billing rules span several columns (the FOCUS price rule). GX has no pandas
expectation with a relative tolerance, so `billing_view` adds a derived column that the
suite checks with a plain range; the derived columns are computed here, beside the
expectations that read them, so a reviewer sees the rule in one place.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import SimpleNamespace

import great_expectations as gx
import numpy as np
import pandas as pd
from great_expectations.expectations.metadata_types import FailureSeverity
from great_expectations.expectations.row_conditions import Column

from transforms.schema import (
    BILLING_COLUMNS,
    BILLING_REQUIRED,
    GPU_COLUMNS,
    PEOPLE_COLUMNS,
    ChargeCategory,
    Focus,
)

E = gx.expectations
# Plain strings: GX's pydantic models reject str enums.
F = SimpleNamespace(**{m.name: m.value for m in Focus})
BLOCKING = FailureSeverity.CRITICAL
WARNING = FailureSeverity.WARNING

# FOCUS 1.0 allowed values.
CHARGE_CLASSES = ("Correction",)  # or null
SERVICE_CATEGORIES = (
    "AI and Machine Learning",
    "Analytics",
    "Business Applications",
    "Compute",
    "Databases",
    "Developer Tools",
    "Multicloud",
    "Identity",
    "Integration",
    "Internet of Things",
    "Management and Governance",
    "Media",
    "Migration",
    "Mobile",
    "Networking",
    "Security",
    "Storage",
    "Web",
    "Other",
)
COMMITMENT_STATUSES = ("Used", "Unused")

# dtypes a parsed money or quantity column may have.
NUMBER_TYPES = ["float64", "float32", "int64", "int32", "Float64", "Int64", "float"]

# FOCUS price rule: ListCost = ListUnitPrice x PricingQuantity, within the larger of an
# absolute tolerance (a millionth of a currency unit: the sample carries 10 decimals)
# and a relative one (0.01 %, for rounding in the exporter).
PRICE_ABS_TOLERANCE = 1e-6
PRICE_REL_TOLERANCE = 1e-4
PRICE_EXCESS = "x_ListCostExcess"  # derived: gap beyond the tolerance, <= 0 is fine

TELEMETRY_REQUIRED = ("timestamp", "host", "gpu_uuid")
TELEMETRY_KEY = ["host", "gpu_uuid", "mig_instance", "timestamp"]
TELEMETRY_FORMATS = ("nvidia-smi", "dcgm", "nvidia_gpu_exporter")

PEOPLE_REQUIRED = ("employee_id_hash", "monthly_cost")
PEOPLE_BASES = ("salaried", "hourly")


def _meta(check: str, expected: str, todo: str, **extra: str) -> dict[str, str]:
    """`column` in `extra` names the column a derived check is about."""
    return {"check": check, "expected": expected, "todo": todo, **extra}


def _suite(name: str, expectations: Iterable[E.Expectation]) -> gx.ExpectationSuite:
    # Passing the list at once skips add_expectation's pairwise duplicate search.
    return gx.ExpectationSuite(name=name, expectations=list(expectations))


def expectation_columns(expectation: E.Expectation) -> set[str]:
    """Every column an expectation reads, its row condition's included."""
    names = {getattr(expectation, k, None) for k in ("column", "column_A", "column_B")}
    names.update(getattr(expectation, "column_list", None) or [])
    names.update(_condition_columns(getattr(expectation, "row_condition", None)))
    return {str(n) for n in names if n}


def _condition_columns(condition) -> set[str]:
    if condition is None:
        return set()
    column = getattr(condition, "column", None)
    found = {column.name} if column is not None else set()
    for inner in getattr(condition, "conditions", None) or []:
        found |= _condition_columns(inner)
    return found


def _columns_exist(columns: Iterable[str], required: Iterable[str], source: str):
    """One blocking check per required column; one warning for all optional ones."""
    required = [str(c) for c in required]
    for column in required:
        yield E.ExpectColumnToExist(
            column=column,
            severity=BLOCKING,
            meta=_meta(
                "required_column",
                "the column to be present",
                f"map the {source} export's header onto {column!r} in its reader",
            ),
        )
    optional = sorted(str(c) for c in columns if str(c) not in required)
    yield E.ExpectTableColumnsToMatchSet(
        column_set=optional,
        exact_match=False,  # extra columns are fine
        severity=WARNING,
        meta=_meta(
            "optional_column",
            "every optional column of the contract",
            f"nothing blocks; the {source} reader fills missing optional columns "
            "with nulls",
        ),
    )


# --- billing ---


def billing_suite(
    *, month: str | None = None, currencies: Iterable[str] | None = None
) -> gx.ExpectationSuite:
    """The FOCUS billing contract; `month` adds the in-period check, `currencies`
    (report currency plus `[fx]` codes) the currency-has-a-rate check."""
    parts = [
        _columns_exist(BILLING_COLUMNS, BILLING_REQUIRED, "billing"),
        _billing_parse_checks(),
        _billing_value_checks(),
        _billing_rule_checks(),
    ]
    if month:
        parts.append([_in_month(month)])
    if currencies is not None:
        parts.append([_currency_has_rate(currencies)])
    return _suite("billing", (e for part in parts for e in part))


def _billing_parse_checks():
    for column in (F.ChargePeriodStart, F.BilledCost, F.EffectiveCost):
        yield E.ExpectColumnValuesToNotBeNull(
            column=column,
            severity=BLOCKING,
            meta=_meta(
                "unparsed_value",
                "a value in every row",
                f"fix {column} in those rows (or the reader's parsing), then re-run",
            ),
        )
    for column in (F.ChargeCategory, F.BillingCurrency):
        yield E.ExpectColumnValuesToNotBeNull(
            column=column,
            severity=BLOCKING,
            meta=_meta(
                "missing_value",
                "a value in every row",
                f"fill {column} in those rows of the source, then re-run",
            ),
        )
    # A cost that does not parse blocks (DESIGN §7); a price or quantity warns.
    numbers = [(c, BLOCKING) for c in _money_columns()]
    numbers += [(c, WARNING) for c in (F.ListUnitPrice, F.PricingQuantity)]
    for column, severity in numbers:
        yield E.ExpectColumnValuesToBeInTypeList(
            column=column,
            type_list=NUMBER_TYPES,
            severity=severity,
            meta=_meta(
                "unparsed_value" if severity == BLOCKING else "unparsed_number",
                "a number written with a decimal point (e.g. 12.5)",
                f"write {column} as plain numbers in the source, then re-run",
            ),
        )


def _money_columns() -> tuple[str, ...]:
    return (F.BilledCost, F.EffectiveCost, F.ListCost, F.ContractedCost)


def _billing_value_checks():
    categories = sorted(str(c) for c in ChargeCategory)
    yield E.ExpectColumnValuesToBeInSet(
        column=F.ChargeCategory,
        value_set=categories,
        severity=BLOCKING,
        meta=_meta(
            "charge_category",
            f"one of {', '.join(categories)}",
            "fix ChargeCategory in the source or the reader's mapping, then re-run",
        ),
    )
    yield _in_set(F.ChargeClass, CHARGE_CLASSES, "charge_class")
    yield _in_set(F.ServiceCategory, SERVICE_CATEGORIES, "service_category")
    yield _in_set(F.CommitmentDiscountStatus, COMMITMENT_STATUSES, "commitment_status")
    for column in (F.PricingQuantity, F.ConsumedQuantity):
        yield E.ExpectColumnValuesToBeBetween(
            column=column,
            min_value=0,
            severity=WARNING,
            meta=_meta(
                "negative_quantity",
                "a quantity of 0 or more",
                "check the rows with the provider: a negative quantity is usually "
                "a correction",
            ),
        )
    yield E.ExpectColumnValuesToBeBetween(
        column=F.ListUnitPrice,
        min_value=0,
        severity=WARNING,
        meta=_meta("negative_price", "a unit price of 0 or more", "check the rows"),
    )
    yield E.ExpectCompoundColumnsToBeUnique(
        column_list=[F.SourceFile, F.SourceRow],
        severity=WARNING,
        meta=_meta(
            "duplicate_row",
            "each file row once",
            "check that the reader does not read a file twice",
        ),
    )


def _in_set(column: str, values: Iterable[str], check: str):
    values = list(values)
    return E.ExpectColumnValuesToBeInSet(
        column=column,
        value_set=values,
        severity=WARNING,
        meta=_meta(
            check,
            f"one of {', '.join(values)}",
            f"map {column} onto FOCUS values in the reader",
        ),
    )


def _billing_rule_checks():
    yield E.ExpectColumnValuesToBeBetween(
        column=PRICE_EXCESS,
        max_value=0,
        severity=WARNING,
        meta=_meta(
            "price_rule",
            "ListCost = ListUnitPrice x PricingQuantity "
            f"(within {PRICE_ABS_TOLERANCE:g} or {PRICE_REL_TOLERANCE:.2%})",
            "nothing blocks; ask the provider if the list cost matters to you",
            column=F.ListCost,
        ),
    )
    commitment_purchase = (Column(F.ChargeCategory) == str(ChargeCategory.Purchase)) & (
        Column(F.CommitmentDiscountId).is_not_null()
    )
    yield E.ExpectColumnValuesToBeBetween(
        column=F.EffectiveCost,
        min_value=0,
        max_value=0,
        row_condition=commitment_purchase,
        severity=WARNING,
        meta=_meta(
            "commitment_purchase_cost",
            "EffectiveCost 0 on commitment Purchase rows (FOCUS amortizes them)",
            "nothing to do: those rows are counted as 0",
        ),
    )
    yield E.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A=F.ChargePeriodEnd,
        column_B=F.ChargePeriodStart,
        or_equal=True,
        ignore_row_if="either_value_is_missing",
        severity=WARNING,
        meta=_meta(
            "charge_period",
            "ChargePeriodEnd at or after ChargePeriodStart",
            "check the rows' charge periods in the source",
        ),
    )


def month_bounds(month: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[start, end) of a `YYYY-MM` month in UTC."""
    start = pd.Timestamp(f"{month}-01", tz="UTC")
    return start, start + pd.DateOffset(months=1)


def _in_month(month: str):
    start, end = month_bounds(month)
    return E.ExpectColumnValuesToBeBetween(
        column=F.ChargePeriodStart,
        min_value=start,
        max_value=end,
        strict_max=True,
        severity=WARNING,
        meta=_meta(
            "out_of_period",
            f"ChargePeriodStart in {month} (UTC)",
            "nothing blocks: these rows are left out of this month",
        ),
    )


def _currency_has_rate(currencies: Iterable[str]):
    known = sorted(set(currencies))
    return E.ExpectColumnValuesToBeInSet(
        column=F.BillingCurrency,
        value_set=known,
        severity=BLOCKING,
        meta=_meta(
            "currency_without_rate",
            f"a currency with a rate: {', '.join(known)}",
            "add the currency's rate to [fx] in finops.toml, then re-run",
        ),
    )


def billing_view(billing: pd.DataFrame) -> pd.DataFrame:
    """The billing frame plus the derived columns the suite reads (a shallow copy)."""
    return billing.assign(**{PRICE_EXCESS: _list_cost_excess(billing)})


def _list_cost_excess(billing: pd.DataFrame) -> pd.Series:
    columns = (F.ListCost, F.ListUnitPrice, F.PricingQuantity)
    if not all(c in billing.columns for c in columns):
        return pd.Series(np.nan, index=billing.index, dtype="float64")
    try:
        list_cost, price, quantity = (
            pd.to_numeric(billing[c], errors="coerce") for c in columns
        )
    except TypeError:  # unhashable or odd objects: the type checks report them
        return pd.Series(np.nan, index=billing.index, dtype="float64")
    gap = (list_cost - price * quantity).abs()
    allowed = np.maximum(PRICE_ABS_TOLERANCE, PRICE_REL_TOLERANCE * list_cost.abs())
    return gap - allowed


# --- telemetry ---


def telemetry_suite(power_caps: Mapping[str, float]) -> gx.ExpectationSuite:
    """The GPU sample contract; `power_caps` maps host -> power cap in watts (hosts
    without a cap, or with 0, get only the non-negative check)."""
    parts = [
        _columns_exist(GPU_COLUMNS, TELEMETRY_REQUIRED, "telemetry"),
        _telemetry_checks(),
        _power_cap_checks(power_caps),
    ]
    return _suite("telemetry", (e for part in parts for e in part))


def _telemetry_checks():
    yield E.ExpectColumnValuesToNotBeNull(
        column="timestamp",
        severity=BLOCKING,
        meta=_meta(
            "unparsed_value",
            "a timestamp in every sample",
            "fix the timestamps in the file (or [telemetry] timezone), then re-run",
        ),
    )
    yield _range("utilization", 0, 1, "utilization_range", "a share between 0 and 1")
    yield _range("power_watts", 0, None, "power_range", "0 W or more")
    yield _range("memory_used_mib", 0, None, "memory_range", "0 MiB or more")
    yield _range("energy_joules", 0, None, "energy_range", "0 J or more")
    yield _in_set("source_format", TELEMETRY_FORMATS, "source_format")
    yield E.ExpectCompoundColumnsToBeUnique(
        column_list=TELEMETRY_KEY,
        severity=WARNING,
        meta=_meta(
            "duplicate_sample",
            "one sample per GPU and timestamp",
            "check for the same file read twice, or two exporters on one GPU",
        ),
    )


def _range(column: str, low, high, check: str, expected: str, **kwargs):
    return E.ExpectColumnValuesToBeBetween(
        column=column,
        min_value=low,
        max_value=high,
        severity=WARNING,
        meta=_meta(check, expected, "check the exporter and the reader's units"),
        **kwargs,
    )


def _power_cap_checks(power_caps: Mapping[str, float]):
    """One range per distinct cap (hosts of one model share it), so the number of
    expectations stays small whatever the number of hosts."""
    hosts_by_cap: dict[float, list[str]] = {}
    for host, cap in sorted(power_caps.items()):
        if cap and cap > 0:
            hosts_by_cap.setdefault(float(cap), []).append(host)
    for cap, hosts in sorted(hosts_by_cap.items()):
        yield _range(
            "power_watts",
            0,
            cap,
            "power_over_cap",
            f"at most the {cap:g} W cap of {', '.join(hosts)}",
            row_condition=Column("host").is_in(hosts),
        )


# --- people ---


def people_suite() -> gx.ExpectationSuite:
    """The people contract. Run it without unexpected values: the rows hold pay."""
    parts = [
        _columns_exist(PEOPLE_COLUMNS, PEOPLE_REQUIRED, "HR"),
        _people_checks(),
    ]
    return _suite("hr", (e for part in parts for e in part))


def _people_checks():
    yield E.ExpectColumnValuesToNotBeNull(
        column="monthly_cost",
        severity=BLOCKING,
        meta=_meta(
            "unparsed_value",
            "a monthly cost for every person",
            "fix the pay fields of those people in the HR export, then re-run",
        ),
    )
    yield E.ExpectColumnValuesToBeBetween(
        column="monthly_cost",
        min_value=0,
        severity=WARNING,
        meta=_meta(
            "negative_cost",
            "a monthly cost of 0 or more",
            "check the pay fields of those people in the HR export",
        ),
    )
    yield _in_set("basis", PEOPLE_BASES, "basis")
    yield E.ExpectColumnValuesToNotBeNull(
        column="employee_id_hash",
        severity=WARNING,
        meta=_meta("missing_id", "an id for every person", "check the HR reader"),
    )
    yield E.ExpectColumnValuesToBeUnique(
        column="employee_id_hash",
        severity=WARNING,
        meta=_meta(
            "duplicate_person",
            "each person once per month",
            "check for the same export read twice",
        ),
    )


# --- which rows could fail: GX judges those, not every sample ---

# Expectations that look at the table, not at rows: any non-empty part answers them.
_TABLE_LEVEL = {"expect_column_to_exist", "expect_table_columns_to_match_set"}


def suspect_rows(frame: pd.DataFrame, suite: gx.ExpectationSuite) -> np.ndarray | None:
    """Rows that could fail one of the suite's row expectations, or None when some
    expectation is not understood here (then every row must go to GX).

    The mask is a superset, read from each expectation's own parameters: a value
    outside its range (bounds inclusive unless strict, row conditions ignored; a
    null is in range, as GX skips nulls there), a null where nulls are not allowed,
    a value not in its set (nulls included), a repeated compound key (hash
    collisions only add rows). Expectations that judge
    a share of rows (`mostly` below 1) need every row, so they return None too. Rows
    outside the mask pass every row expectation; GX decides the rest.
    """
    suspect = np.zeros(len(frame), dtype=bool)
    for expectation in suite.expectations:
        kind = expectation.expectation_type
        if kind in _TABLE_LEVEL:
            continue
        if getattr(expectation, "mostly", 1) != 1:
            return None
        mask = _could_fail(frame, expectation, kind)
        if mask is None:
            return None
        suspect |= mask
    return suspect


def _could_fail(frame: pd.DataFrame, expectation, kind: str) -> np.ndarray | None:
    columns = expectation_columns(expectation)
    if not columns <= set(frame.columns):
        return np.zeros(len(frame), dtype=bool)  # GX does not run it either
    if kind == "expect_column_values_to_not_be_null":
        return frame[expectation.column].isna().to_numpy()
    if kind == "expect_column_values_to_be_in_set":
        values = frame[expectation.column]
        return (~values.isin(list(expectation.value_set)) | values.isna()).to_numpy()
    if kind == "expect_column_values_to_be_between":
        return _outside(frame[expectation.column], expectation)
    if kind == "expect_compound_columns_to_be_unique":
        return _repeated(frame[list(expectation.column_list)])
    return None


def _outside(values: pd.Series, expectation) -> np.ndarray | None:
    low, high = expectation.min_value, expectation.max_value
    if not pd.api.types.is_numeric_dtype(values.dtype):
        return None
    if not all(b is None or isinstance(b, int | float) for b in (low, high)):
        return None  # bounds given as parameters or dates: let GX see every row
    number = values.to_numpy(dtype="float64", na_value=np.nan)
    bad = np.zeros(len(number), dtype=bool)  # nulls pass: GX skips them in ranges
    if low is not None:
        bad |= number <= low if expectation.strict_min else number < low
    if high is not None:
        bad |= number >= high if expectation.strict_max else number > high
    return bad


def _repeated(keys: pd.DataFrame) -> np.ndarray:
    """Rows whose key occurs more than once, by a 64-bit hash of the key columns.

    Sorting the hashes finds repeats in one pass; a collision only adds rows."""
    hashed = np.zeros(len(keys), dtype=np.uint64)
    for _, column in keys.items():
        hashed = hashed * np.uint64(1_000_003) ^ _as_uint64(column)
    ordered = np.sort(hashed)
    repeats = ordered[1:][ordered[1:] == ordered[:-1]]
    if not len(repeats):
        return np.zeros(len(keys), dtype=bool)
    return np.isin(hashed, repeats)


def _as_uint64(column: pd.Series) -> np.ndarray:
    """Equal values give equal numbers (categories by their code, times by ns)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy().astype(np.uint64)
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return column.to_numpy(dtype="datetime64[ns]").view(np.int64).astype(np.uint64)
    codes, _ = pd.factorize(column)
    return codes.astype(np.uint64)
