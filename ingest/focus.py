"""FOCUS 1.0 to 1.3 exports (CSV, CSV.gz, Parquet) mapped onto the billing frame.

Contract (README_billing.md has the full table): one row per charge line, FOCUS names
kept; the text `NULL` and empty cells are null; timestamps without `T` or zone are UTC;
`Tags` is JSON text of a mapping, kept compact, keys as written (`user:team` and
`user/team` stay two keys); 1.3's `ServiceProviderName` fills `ProviderName`; extension
columns (`x_...`) are kept as they are. A commitment Purchase row (one with a
`CommitmentDiscountId`) carries its cost in the usage it covers, so a non-zero
`EffectiveCost` on it is counted as 0 and reported (DESIGN §4).
"""

from __future__ import annotations

import json

import pandas as pd

from ingest.billing_common import (
    LINE_COUNT,
    Tally,
    compact_json,
    is_null,
    parse_money,
    parse_utc,
    text_or_none,
)
from transforms.distinct import per_distinct
from transforms.schema import BILLING_REQUIRED, ChargeCategory, Focus

# Columns that tell one FOCUS version from the one before it (newest first).
VERSION_MARKERS = (
    ("focus-1.3", ("ServiceProviderName", "HostProviderName")),
    ("focus-1.2", ("InvoiceId", "PricingCurrency", "BillingAccountType")),
    ("focus-1.1", ("ServiceSubcategory", "CapacityReservationId", "SkuMeter")),
)
MONEY = (Focus.BilledCost, Focus.EffectiveCost, Focus.ListCost, Focus.ContractedCost)
QUANTITIES = (Focus.ListUnitPrice, Focus.PricingQuantity, Focus.ConsumedQuantity)
TIMES = (Focus.ChargePeriodStart, Focus.ChargePeriodEnd, Focus.BillingPeriodStart)
OURS = (Focus.SourceFormat, Focus.SourceFile, Focus.SourceRow, Focus.TeamTag)
CHARGE_CATEGORIES = frozenset(str(c) for c in ChargeCategory)


def detect(header: list[str]) -> str | None:
    """'focus-1.x' when the header is a FOCUS header, else None."""
    names = {name.strip() for name in header}
    if not {"ChargePeriodStart", "BilledCost"} <= names:
        return None
    for version, markers in VERSION_MARKERS:
        if names & set(markers):
            return version
    return "focus-1.0"


def wanted_columns(header: list[str]) -> list[str]:
    """Source columns the reader needs: the canonical ones and every `x_` column.

    A source column named like ours (`x_LineCount`) is not read: the reader fills it.
    """
    known = {str(c) for c in Focus} | {"ServiceProviderName"}
    return [
        n
        for n in header
        if (n in known or n.startswith("x_")) and n not in OURS and n != LINE_COUNT
    ]


def missing_required(header: list[str]) -> list[str]:
    names = set(header)
    if "ProviderName" not in names and "ServiceProviderName" in names:
        names.add("ProviderName")
    return [str(c) for c in BILLING_REQUIRED if str(c) not in names]


def to_canonical(
    chunk: pd.DataFrame, team_tag: str, blocking: Tally, warning: Tally
) -> pd.DataFrame:
    """Map one chunk of FOCUS rows; problems go to the tallies."""
    rows = chunk["_row"]
    out = pd.DataFrame(index=chunk.index)
    for column in Focus:
        if column in OURS:
            continue
        source = _source_column(chunk, column)
        out[column] = _convert(chunk, source, column, rows, blocking)
    for column in chunk.columns:
        if column.startswith("x_") and column not in {*OURS, LINE_COUNT}:
            out[column] = text_or_none(chunk[column])
    out[Focus.SourceRow] = rows
    _check_required_nulls(chunk, out, rows, blocking)
    _check_charge_category(out, rows, blocking)
    _zero_commitment_purchases(out, rows, warning)
    out[Focus.Tags], out[Focus.TeamTag] = _tags(chunk, team_tag, rows, warning)
    return out


def _source_column(chunk: pd.DataFrame, column: Focus) -> str | None:
    if column in chunk.columns:
        return str(column)
    if column == Focus.ProviderName and "ServiceProviderName" in chunk.columns:
        return "ServiceProviderName"
    return None


def _convert(
    chunk: pd.DataFrame,
    source: str | None,
    column: Focus,
    rows: pd.Series,
    tally: Tally,
) -> pd.Series:
    if source is None:
        empty = "float64" if column in MONEY + QUANTITIES else "object"
        if column in TIMES:
            return pd.Series(pd.NaT, index=chunk.index, dtype="datetime64[us, UTC]")
        return pd.Series(None, index=chunk.index, dtype=empty)
    values = chunk[source]
    if column in MONEY:
        return parse_money(values, rows, str(column), tally)
    if column in QUANTITIES:
        if pd.api.types.is_numeric_dtype(values):
            return values.astype("float64")
        text = values.where(~is_null(values)).astype("string").str.strip()
        return pd.to_numeric(text, errors="coerce").astype("float64")
    if column in TIMES:
        return parse_utc(values, rows, str(column), tally)
    return text_or_none(values)


def _check_required_nulls(
    chunk: pd.DataFrame, out: pd.DataFrame, rows: pd.Series, tally: Tally
) -> None:
    """Required cells left empty in the file. A cell that holds text which did not
    parse is reported once, as unparseable, not again as empty."""
    for column in BILLING_REQUIRED:
        source = _source_column(chunk, column)
        empty = out[column].isna()
        if source is not None:
            empty &= is_null(chunk[source])
        tally.record(
            "missing_value", str(column), "filled in", rows[empty], out[column][empty]
        )


def _check_charge_category(out: pd.DataFrame, rows: pd.Series, tally: Tally) -> None:
    values = out[Focus.ChargeCategory]
    bad = values.notna() & ~values.isin(CHARGE_CATEGORIES)
    expected = "one of " + ", ".join(sorted(CHARGE_CATEGORIES))
    tally.record("charge_category", "ChargeCategory", expected, rows[bad], values[bad])


def _zero_commitment_purchases(
    out: pd.DataFrame, rows: pd.Series, tally: Tally
) -> None:
    purchase = out[Focus.ChargeCategory] == ChargeCategory.Purchase
    commitment = out[Focus.CommitmentDiscountId].notna()
    effective = out[Focus.EffectiveCost]
    hit = purchase & commitment & effective.notna() & (effective != 0)
    tally.record(
        "commitment_purchase_effective_cost",
        "EffectiveCost",
        "0 on a commitment Purchase row (counted as 0)",
        rows[hit],
        effective[hit],
    )
    out.loc[hit, Focus.EffectiveCost] = 0.0


def _tags(
    chunk: pd.DataFrame, team_tag: str, rows: pd.Series, tally: Tally
) -> tuple[pd.Series, pd.Series]:
    """Compact JSON text and the team tag's value, parsed once per distinct text."""
    if "Tags" not in chunk.columns:
        none = pd.Series(None, index=chunk.index, dtype="object")
        return none, none.copy()
    values = text_or_none(chunk["Tags"])
    if values.map(type, na_action="ignore").eq(dict).any():  # Parquet map columns
        parsed_rows = values.map(lambda t: _parse_tags(t, team_tag), na_action="ignore")
        compact = parsed_rows.map(lambda p: p[0], na_action="ignore")
        team = parsed_rows.map(lambda p: p[1], na_action="ignore")
        bad = values.notna() & compact.isna() & (values.astype(str).str.strip() != "{}")
    else:
        parsed = per_distinct(values, lambda u: _parse_distinct(u, team_tag))
        compact = parsed.map(lambda p: p[0])
        team = parsed.map(lambda p: p[1])
        bad = per_distinct(values, _bad_tags) & compact.isna()
    tally.record("tags_json", "Tags", "JSON objects", rows[bad], values[bad])
    return compact.astype("object"), team.astype("object")


def _parse_distinct(texts: pd.Series, team_tag: str) -> list:
    return [
        (None, None) if t is None or t != t else _parse_tags(t, team_tag) for t in texts
    ]


def _bad_tags(texts: pd.Series) -> pd.Series:
    return (texts.notna() & (texts.astype(str).str.strip() != "{}")).astype(bool)


def _parse_tags(text: str | dict, team_tag: str) -> tuple[str | None, str | None]:
    try:
        mapping = json.loads(text) if isinstance(text, str) else dict(text)
    except (ValueError, TypeError):
        return None, None
    if not isinstance(mapping, dict):
        return None, None
    team = mapping.get(team_tag, mapping.get(f"user:{team_tag}"))
    return compact_json(mapping), None if team is None else str(team)
