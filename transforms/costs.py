"""Cloud rows to money in one currency, sorted into cost categories (DESIGN §4).

Pure functions of the canonical billing frame. The category rules are the table below,
first match wins; `[categories]` overrides by service name or service category.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from transforms.errors import CurrencyError
from transforms.schema import BILLING_MONEY, CATEGORIES, Focus

SOFTWARE_SERVICE_CATEGORIES = frozenset(
    {
        "Business Applications",
        "Developer Tools",
        "Identity",
        "Security",
        "Management and Governance",
    }
)
HARDWARE_SERVICE_CATEGORIES = frozenset(
    {
        "Compute",
        "Storage",
        "Networking",
        "Databases",
        "AI and Machine Learning",
        "Analytics",
        "Integration",
        "Internet of Things",
        "Media",
        "Migration",
        "Mobile",
        "Web",
        "Multicloud",
    }
)

# First matching rule wins; read top to bottom like DESIGN §4's table.
CATEGORY_RULES = (
    ("ChargeCategory Tax", "tax"),
    ("ChargeCategory Credit", "credits"),
    ("ChargeCategory Adjustment", "other"),
    ("service name contains 'Support'", "maintenance"),
    ("PublisherName differs from InvoiceIssuerName (marketplace)", "software"),
    ("ServiceCategory is a software category", "software"),
    ("ServiceCategory is a hardware category", "hardware"),
    ("anything else", "other"),
)


def convert_currency(
    frame: pd.DataFrame, report_currency: str, rates: Mapping[str, float]
) -> pd.DataFrame:
    """Every money column in the report currency; a currency without a rate stops."""
    currencies = frame[Focus.BillingCurrency].fillna("").astype(str).str.strip()
    foreign = sorted(set(currencies.unique()) - {report_currency})
    missing = [c for c in foreign if c not in rates]
    if missing:
        files = sorted(
            frame.loc[currencies.isin(missing), Focus.SourceFile].dropna().unique()
        )
        code = missing[0] or "(blank)"
        raise CurrencyError(
            f"billing rows in {code} ({', '.join(files) or 'unknown file'}) have no "
            f"rate to {report_currency}: add `{code} = <{report_currency} per {code}>` "
            "under [fx] in the configuration, with its as_of date"
        )
    if not foreign:
        return frame
    factor = currencies.map(lambda c: 1.0 if c == report_currency else rates[c])
    out = frame.copy()
    for column in BILLING_MONEY:
        out[column] = out[column] * factor.to_numpy(dtype=float)
    out["x_OriginalCurrency"] = currencies
    out[Focus.BillingCurrency] = report_currency
    return out


def categorize(frame: pd.DataFrame, overrides: Mapping[str, str]) -> pd.Series:
    """One category per row, by the rule table above, then `[categories]` overrides."""
    charge = frame[Focus.ChargeCategory].astype("string").fillna("")
    service = frame[Focus.ServiceName].astype("string").fillna("")
    service_category = frame[Focus.ServiceCategory].astype("string").fillna("")
    publisher = frame[Focus.PublisherName].astype("string")
    issuer = frame[Focus.InvoiceIssuerName].astype("string")
    marketplace = _marketplace(frame, publisher, issuer)
    conditions = [
        charge == "Tax",
        charge == "Credit",
        charge == "Adjustment",
        service.str.contains("Support", regex=False),
        marketplace,
        service_category.isin(SOFTWARE_SERVICE_CATEGORIES),
        service_category.isin(HARDWARE_SERVICE_CATEGORIES),
    ]
    choices = [rule[1] for rule in CATEGORY_RULES[:-1]]
    result = pd.Series(
        np.select([c.to_numpy(dtype=bool) for c in conditions], choices, "other"),
        index=frame.index,
    )
    for key, category in overrides.items():
        if category not in CATEGORIES:
            raise ValueError(
                f"[categories] {key!r} = {category!r}: expected one of "
                f"{', '.join(CATEGORIES)}"
            )
        hit = (service == key) | (service_category == key)
        result[hit.to_numpy(dtype=bool)] = category
    return result


def _marketplace(
    frame: pd.DataFrame, publisher: pd.Series, issuer: pd.Series
) -> pd.Series:
    """A marketplace line: FOCUS's publisher differs from the invoice issuer.

    CUR readers say it outright in `x_Marketplace` (BillingEntity "AWS Marketplace"),
    because CUR's billing and invoicing entities differ on every ordinary AWS line.
    """
    differs = (
        publisher.notna()
        & issuer.notna()
        & (publisher.str.strip() != issuer.str.strip())
    ).fillna(False)
    if "x_Marketplace" not in frame.columns:
        return differs
    flagged = frame["x_Marketplace"]
    return flagged.where(flagged.notna(), differs).astype(bool)


def cloud_totals(frame: pd.DataFrame, category: pd.Series) -> dict[str, float]:
    """Billed, effective and list cost, and tax and credits at EffectiveCost."""
    effective = frame[Focus.EffectiveCost].fillna(0.0)
    return {
        "billed_cost": float(frame[Focus.BilledCost].fillna(0.0).sum()),
        "effective_cost": float(effective.sum()),
        "list_cost": float(frame[Focus.ListCost].fillna(0.0).sum()),
        "tax": float(effective[category == "tax"].sum()),
        "credits": float(effective[category == "credits"].sum()),
    }


def by_category(frame: pd.DataFrame, category: pd.Series) -> dict[str, float]:
    """EffectiveCost summed per category, every one of the eight keys present."""
    sums = frame[Focus.EffectiveCost].fillna(0.0).groupby(category).sum()
    return {key: float(sums.get(key, 0.0)) for key in CATEGORIES}
