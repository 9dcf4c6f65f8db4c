"""AWS Cost and Usage Reports mapped onto the canonical (FOCUS) billing frame.

Dialects, told apart by the header: legacy CUR with slash headers
(`lineItem/UnblendedCost`, "cur-legacy"), the same columns in Athena snake_case
(`line_item_unblended_cost`, "cur-athena"), a mix of both ("cur-mixed"), and CUR 2.0
from Data Exports ("cur-2.0": snake_case, `resource_tags` a map, or JSON text in CSV).

The mapping tables below are DESIGN §3 and §4 as data: line item type -> ChargeCategory,
line item type -> amortization rule, product code -> ServiceCategory. With `Net*`
columns in the file every line uses them (the "net" view), else the plain ones
("unblended"). Billed cost is the unblended cost of every line.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

from ingest.billing_common import (
    Tally,
    combine_json_pieces,
    is_null,
    parse_money,
    parse_utc,
    text_or_none,
)
from ingest.cur_tags import TagColumns, cur2_tags, find_tag_columns
from transforms.schema import ChargeCategory, Focus

# logical name -> (legacy slash header, snake_case header of Athena and CUR 2.0)
FIELDS: dict[str, tuple[str, str]] = {
    "line_item_type": ("lineItem/LineItemType", "line_item_line_item_type"),
    "unblended_cost": ("lineItem/UnblendedCost", "line_item_unblended_cost"),
    "usage_start": ("lineItem/UsageStartDate", "line_item_usage_start_date"),
    "usage_end": ("lineItem/UsageEndDate", "line_item_usage_end_date"),
    "currency": ("lineItem/CurrencyCode", "line_item_currency_code"),
    "usage_amount": ("lineItem/UsageAmount", "line_item_usage_amount"),
    "product_code": ("lineItem/ProductCode", "line_item_product_code"),
    "resource_id": ("lineItem/ResourceId", "line_item_resource_id"),
    "usage_account": ("lineItem/UsageAccountId", "line_item_usage_account_id"),
    "payer_account": ("bill/PayerAccountId", "bill_payer_account_id"),
    "invoice_id": ("bill/InvoiceId", "bill_invoice_id"),
    "billing_entity": ("bill/BillingEntity", "bill_billing_entity"),
    "invoicing_entity": ("bill/InvoicingEntity", "bill_invoicing_entity"),
    "billing_period_start": (
        "bill/BillingPeriodStartDate",
        "bill_billing_period_start_date",
    ),
    "product_name": ("product/ProductName", "product_product_name"),
    "public_cost": ("pricing/publicOnDemandCost", "pricing_public_on_demand_cost"),
    "public_rate": ("pricing/publicOnDemandRate", "pricing_public_on_demand_rate"),
    "term": ("pricing/term", "pricing_term"),
    "sp_effective": (
        "savingsPlan/SavingsPlanEffectiveCost",
        "savings_plan_savings_plan_effective_cost",
    ),
    "sp_total_commitment": (
        "savingsPlan/TotalCommitmentToDate",
        "savings_plan_total_commitment_to_date",
    ),
    "sp_used_commitment": (
        "savingsPlan/UsedCommitment",
        "savings_plan_used_commitment",
    ),
    "sp_arn": ("savingsPlan/SavingsPlanARN", "savings_plan_savings_plan_a_r_n"),
    "ri_effective": ("reservation/EffectiveCost", "reservation_effective_cost"),
    "ri_unused_upfront": (
        "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
        "reservation_unused_amortized_upfront_fee_for_billing_period",
    ),
    "ri_unused_recurring": (
        "reservation/UnusedRecurringFee",
        "reservation_unused_recurring_fee",
    ),
    "ri_arn": ("reservation/ReservationARN", "reservation_reservation_a_r_n"),
    # Net view: used in place of the plain column for every line when present.
    "net_unblended_cost": ("lineItem/NetUnblendedCost", "line_item_net_unblended_cost"),
    "net_sp_effective": (
        "savingsPlan/NetSavingsPlanEffectiveCost",
        "savings_plan_net_savings_plan_effective_cost",
    ),
    "net_ri_effective": (
        "reservation/NetEffectiveCost",
        "reservation_net_effective_cost",
    ),
    "net_ri_unused_upfront": (
        "reservation/NetUnusedAmortizedUpfrontFeeForBillingPeriod",
        "reservation_net_unused_amortized_upfront_fee_for_billing_period",
    ),
    "net_ri_unused_recurring": (
        "reservation/NetUnusedRecurringFee",
        "reservation_net_unused_recurring_fee",
    ),
}
REQUIRED = ("line_item_type", "unblended_cost", "usage_start", "currency")
MONEY_FIELDS = (
    "unblended_cost",
    "public_cost",
    "sp_effective",
    "sp_total_commitment",
    "sp_used_commitment",
    "ri_effective",
    "ri_unused_upfront",
    "ri_unused_recurring",
    *(name for name in FIELDS if name.startswith("net_")),
)
NET_OF = {
    "unblended_cost": "net_unblended_cost",
    "sp_effective": "net_sp_effective",
    "ri_effective": "net_ri_effective",
    "ri_unused_upfront": "net_ri_unused_upfront",
    "ri_unused_recurring": "net_ri_unused_recurring",
}

# DESIGN §3: line item type -> FOCUS ChargeCategory; anything else -> Adjustment.
CHARGE_CATEGORY = {
    "Usage": ChargeCategory.Usage,
    "DiscountedUsage": ChargeCategory.Usage,
    "SavingsPlanCoveredUsage": ChargeCategory.Usage,
    "SavingsPlanNegation": ChargeCategory.Usage,
    "RIFee": ChargeCategory.Purchase,
    "Fee": ChargeCategory.Purchase,
    "SavingsPlanRecurringFee": ChargeCategory.Purchase,
    "SavingsPlanUpfrontFee": ChargeCategory.Purchase,
    "Tax": ChargeCategory.Tax,
    "Credit": ChargeCategory.Credit,
    "Refund": ChargeCategory.Credit,
    "BundledDiscount": ChargeCategory.Credit,
    "EdpDiscount": ChargeCategory.Credit,
    "PrivateRateDiscount": ChargeCategory.Credit,
}

# DESIGN §4: line item type -> amortized (effective) cost. Any type not listed, and a
# Fee without a reservation ARN, costs its unblended amount.
AMORTIZATION = {
    "SavingsPlanCoveredUsage": "savings plan effective cost",
    "SavingsPlanRecurringFee": "total commitment to date - used commitment",
    "SavingsPlanNegation": "0",
    "SavingsPlanUpfrontFee": "0",
    "DiscountedUsage": "reservation effective cost",
    "RIFee": "unused amortized upfront fee + unused recurring fee",
    "Fee with a reservation ARN": "0 (the RI upfront payment)",
}

# Product code -> FOCUS ServiceCategory; codes not listed -> Other.
SERVICE_CATEGORY = {
    "AmazonEC2": "Compute",
    "AWSLambda": "Compute",
    "AmazonECS": "Compute",
    "AmazonEKS": "Compute",
    "AWSBatch": "Compute",
    "AmazonLightsail": "Compute",
    "AmazonS3": "Storage",
    "AmazonEFS": "Storage",
    "AmazonFSx": "Storage",
    "AmazonS3GlacierDeepArchive": "Storage",
    "AWSBackup": "Storage",
    "AmazonVPC": "Networking",
    "AmazonCloudFront": "Networking",
    "AmazonRoute53": "Networking",
    "AWSDataTransfer": "Networking",
    "AWSELB": "Networking",
    "AmazonApiGateway": "Networking",
    "AmazonRDS": "Databases",
    "AmazonDynamoDB": "Databases",
    "AmazonElastiCache": "Databases",
    "AmazonRedshift": "Databases",
    "AmazonSageMaker": "AI and Machine Learning",
    "AmazonBedrock": "AI and Machine Learning",
    "AmazonAthena": "Analytics",
    "AWSGlue": "Analytics",
    "AmazonKinesis": "Analytics",
    "AmazonES": "Analytics",
    "AWSQueueService": "Integration",
    "AmazonSNS": "Integration",
    "AWSEvents": "Integration",
    "AmazonCloudWatch": "Management and Governance",
    "AWSCloudTrail": "Management and Governance",
    "AWSConfig": "Management and Governance",
    "AWSSystemsManager": "Management and Governance",
    "AWSCostExplorer": "Management and Governance",
    "AWSSecretsManager": "Security",
    "awskms": "Security",
    "AWSSecurityHub": "Security",
    "AmazonGuardDuty": "Security",
    "AWSIAM": "Identity",
    "AmazonCognito": "Identity",
    "AWSDirectoryService": "Identity",
    "AWSCodeCommit": "Developer Tools",
    "AWSCodePipeline": "Developer Tools",
    "AWSDeveloperSupport": "Management and Governance",
    "AWSSupportBusiness": "Management and Governance",
    "AWSSupportEnterprise": "Management and Governance",
}

PRICING_CATEGORY = {"OnDemand": "Standard", "Reserved": "Committed", "Spot": "Dynamic"}
COMMITMENT_USED = ("SavingsPlanCoveredUsage", "DiscountedUsage")
COMMITMENT_UNUSED = ("SavingsPlanRecurringFee", "RIFee")
SNAKE = re.compile(r"^[a-z0-9_]+$")


def detect(header: list[str]) -> str | None:
    """'cur-legacy', 'cur-athena', 'cur-mixed' or 'cur-2.0'; None when not a CUR."""
    names = {name.strip() for name in header}
    slash = any("/" in n and n.split("/")[0] in _SLASH_CATEGORIES for n in names)
    snake = any(n.startswith(("line_item_", "bill_")) for n in names)
    if not (slash or snake):
        return None
    if slash and snake:
        return "cur-mixed"
    if slash:
        return "cur-legacy"
    cur2 = {"resource_tags", "product", "bill_payer_account_name"} & names
    return "cur-2.0" if cur2 else "cur-athena"


_SLASH_CATEGORIES = {"lineItem", "bill", "identity", "product", "pricing"}


def resolve_columns(header: list[str]) -> dict[str, str]:
    """logical field -> the header name that holds it (slash form first)."""
    names = set(header)
    found = {}
    for field, forms in FIELDS.items():
        for form in forms:
            if form in names:
                found[field] = form
                break
    return found


def missing_required(columns: dict[str, str]) -> list[str]:
    return [FIELDS[f][0] for f in REQUIRED if f not in columns]


def is_net_view(columns: dict[str, str]) -> bool:
    return "net_unblended_cost" in columns


def wanted_columns(header: list[str], fmt: str) -> list[str]:
    columns = resolve_columns(header)
    tags = find_tag_columns(header, fmt)
    extra = ["resource_tags"] if "resource_tags" in header else []
    return list(columns.values()) + list(tags.columns) + extra


def to_canonical(
    chunk: pd.DataFrame,
    header: list[str],
    fmt: str,
    team_tag: str,
    blocking: Tally,
    warning: Tally,
) -> pd.DataFrame:
    """Map one chunk of CUR rows onto the canonical frame; problems go to tallies."""
    columns = resolve_columns(header)
    raw = _parse_fields(chunk, columns, blocking)
    kind = raw["line_item_type"]
    out = pd.DataFrame(index=chunk.index)
    out[Focus.ChargePeriodStart] = raw["usage_start"]
    out[Focus.ChargePeriodEnd] = raw["usage_end"]
    out[Focus.BillingPeriodStart] = raw["billing_period_start"]
    out[Focus.ChargeCategory] = kind.map(CHARGE_CATEGORY).fillna("Adjustment")
    out[Focus.BilledCost] = _view(raw, "unblended_cost", columns)
    out[Focus.EffectiveCost] = amortized_cost(raw, columns)
    out[Focus.ListCost] = raw["public_cost"]
    out[Focus.ContractedCost] = np.nan
    _describe(out, raw, kind)
    out[Focus.Tags], out[Focus.TeamTag] = _tags(chunk, header, fmt, team_tag, warning)
    out[Focus.SourceRow] = chunk["_row"]
    out["x_Marketplace"] = raw["billing_entity"] == "AWS Marketplace"
    return out


def _parse_fields(
    chunk: pd.DataFrame, columns: dict[str, str], tally: Tally
) -> dict[str, pd.Series]:
    rows = chunk["_row"]
    raw: dict[str, pd.Series] = {}
    for field in FIELDS:
        source = columns.get(field)
        if source is None:
            raw[field] = pd.Series(None, index=chunk.index, dtype="object")
        elif field in MONEY_FIELDS:
            raw[field] = parse_money(chunk[source], rows, source, tally)
        elif field in ("usage_start", "usage_end", "billing_period_start"):
            raw[field] = parse_utc(chunk[source], rows, source, tally)
        else:
            raw[field] = text_or_none(chunk[source])
    raw["usage_amount"] = pd.to_numeric(raw["usage_amount"], errors="coerce")
    for field in ("usage_end", "billing_period_start"):
        if field not in columns:
            raw[field] = pd.Series(
                pd.NaT, index=chunk.index, dtype="datetime64[us, UTC]"
            )
    for field in REQUIRED:
        empty = raw[field].isna() if field != "line_item_type" else is_null(raw[field])
        tally.record(
            "missing_value", columns[field], "filled in", rows[empty], raw[field][empty]
        )
    return raw


def _view(raw: dict[str, pd.Series], field: str, columns: dict[str, str]) -> pd.Series:
    """The Net* value of a field in the net view (plain where the net cell is empty)."""
    plain = pd.to_numeric(raw[field], errors="coerce").astype("float64")
    net = NET_OF.get(field)
    if net is None or not is_net_view(columns) or net not in columns:
        return plain
    return raw[net].astype("float64").fillna(plain)


def amortized_cost(raw: dict[str, pd.Series], columns: dict[str, str]) -> pd.Series:
    """EffectiveCost by line item type, as in the AMORTIZATION table."""
    kind = raw["line_item_type"]
    unblended = _view(raw, "unblended_cost", columns)
    sp_unused = _number(raw["sp_total_commitment"]) - _number(raw["sp_used_commitment"])
    ri_unused = _view(raw, "ri_unused_upfront", columns).fillna(0) + _view(
        raw, "ri_unused_recurring", columns
    ).fillna(0)
    ri_upfront = (kind == "Fee") & raw["ri_arn"].notna()
    choices = [
        (kind == "SavingsPlanCoveredUsage", _view(raw, "sp_effective", columns)),
        (kind == "SavingsPlanRecurringFee", sp_unused),
        (kind.isin(["SavingsPlanNegation", "SavingsPlanUpfrontFee"]), 0.0),
        (kind == "DiscountedUsage", _view(raw, "ri_effective", columns)),
        (kind == "RIFee", ri_unused),
        (ri_upfront, 0.0),
    ]
    result = unblended.copy()
    for mask, value in reversed(choices):
        mask = mask.fillna(False).astype(bool)
        value = value if np.isscalar(value) else value.fillna(0.0)
        result = result.where(~mask, value)
    return result.astype("float64")


def _number(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce").astype("float64").fillna(0.0)


def _describe(out: pd.DataFrame, raw: dict[str, pd.Series], kind: pd.Series) -> None:
    """The descriptive FOCUS columns: who, what service, which resource and invoice."""
    code = raw["product_code"]
    out[Focus.ServiceName] = raw["product_name"].fillna(code)
    out[Focus.ServiceCategory] = code.map(SERVICE_CATEGORY).fillna("Other")
    out[Focus.ProviderName] = "AWS"
    out[Focus.PublisherName] = raw["billing_entity"]
    out[Focus.InvoiceIssuerName] = raw["invoicing_entity"].fillna(raw["billing_entity"])
    out[Focus.ResourceId] = raw["resource_id"]
    out[Focus.BillingAccountId] = raw["payer_account"]
    out[Focus.SubAccountId] = raw["usage_account"]
    out[Focus.InvoiceId] = raw["invoice_id"]
    out[Focus.BillingCurrency] = raw["currency"]
    usage = out[Focus.ChargeCategory].eq("Usage") & kind.ne("SavingsPlanNegation")
    out[Focus.ConsumedQuantity] = raw["usage_amount"].where(usage)
    out[Focus.PricingQuantity] = raw["usage_amount"].where(usage)
    out[Focus.ListUnitPrice] = pd.to_numeric(raw["public_rate"], errors="coerce")
    out[Focus.PricingCategory] = raw["term"].map(PRICING_CATEGORY)
    out[Focus.CommitmentDiscountId] = raw["sp_arn"].fillna(raw["ri_arn"])
    status = pd.Series(None, index=out.index, dtype="object")
    status[kind.isin(COMMITMENT_USED).to_numpy()] = "Used"
    status[kind.isin(COMMITMENT_UNUSED).to_numpy()] = "Unused"
    out[Focus.CommitmentDiscountStatus] = status
    before = out[Focus.ChargePeriodStart] < out[Focus.BillingPeriodStart]
    charge_class = pd.Series(None, index=out.index, dtype="object")
    charge_class[before.fillna(False).to_numpy(dtype=bool)] = "Correction"
    out[Focus.ChargeClass] = charge_class


def _tags(
    chunk: pd.DataFrame, header: list[str], fmt: str, team_tag: str, tally: Tally
) -> tuple[pd.Series, pd.Series]:
    if "resource_tags" in chunk.columns:
        return cur2_tags(chunk, team_tag, tally)
    tags: TagColumns = find_tag_columns(header, fmt)
    pieces = [_json_piece(chunk[column], key) for column, key in tags.columns.items()]
    compact = combine_json_pieces(pieces, chunk.index)
    team_column = tags.column_for(team_tag)
    if team_column is None:
        team = pd.Series(None, index=chunk.index, dtype="object")
    else:
        team = text_or_none(chunk[team_column])
    return compact, team


def _json_piece(values: pd.Series, key: str) -> pd.Series:
    """`"key":"value"` for every filled cell, "" elsewhere (one dumps per value)."""
    text = text_or_none(values)
    present = text.notna()
    prefix = json.dumps(key, ensure_ascii=False) + ":"
    distinct = text[present].unique()
    encoded = text[present].map(
        {v: json.dumps(v, ensure_ascii=False) for v in distinct}
    )
    piece = pd.Series("", index=values.index, dtype="object")
    piece[present] = prefix + encoded
    return piece
