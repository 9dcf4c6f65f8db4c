"""The canonical frames every reader produces and every transform consumes.

Billing: one row per charge line, FOCUS column names (DESIGN §3). Money columns are
float64 at full precision; timestamps are tz-aware UTC; `Tags` is JSON text of a mapping
(compact, kept as text so that millions of rows stay cheap); `x_TeamTag` holds the value
of the configured team tag, resolved by the reader because only it knows its tag-key
dialect. Columns starting `x_` are ours (or a FOCUS extension column kept as is).

GPU samples: one row per GPU (or MIG instance) per timestamp, units in the names.

People: one row per employee for the month, hashed ids only; no names or titles.
"""

from __future__ import annotations

from enum import StrEnum


class Focus(StrEnum):
    """FOCUS column names used by the pipeline."""

    BilledCost = "BilledCost"
    EffectiveCost = "EffectiveCost"
    ListCost = "ListCost"
    ContractedCost = "ContractedCost"
    ListUnitPrice = "ListUnitPrice"
    PricingQuantity = "PricingQuantity"
    ConsumedQuantity = "ConsumedQuantity"
    ChargePeriodStart = "ChargePeriodStart"
    ChargePeriodEnd = "ChargePeriodEnd"
    BillingPeriodStart = "BillingPeriodStart"
    ChargeCategory = "ChargeCategory"
    ChargeClass = "ChargeClass"
    ServiceName = "ServiceName"
    ServiceCategory = "ServiceCategory"
    ProviderName = "ProviderName"
    PublisherName = "PublisherName"
    InvoiceIssuerName = "InvoiceIssuerName"
    ResourceId = "ResourceId"
    BillingAccountId = "BillingAccountId"
    SubAccountId = "SubAccountId"
    InvoiceId = "InvoiceId"
    BillingCurrency = "BillingCurrency"
    CommitmentDiscountId = "CommitmentDiscountId"
    CommitmentDiscountStatus = "CommitmentDiscountStatus"
    PricingCategory = "PricingCategory"
    Tags = "Tags"
    # Ours: provenance and resolved values.
    SourceFormat = "x_SourceFormat"
    SourceFile = "x_SourceFile"
    SourceRow = "x_SourceRow"
    TeamTag = "x_TeamTag"


class ChargeCategory(StrEnum):
    Usage = "Usage"
    Purchase = "Purchase"
    Tax = "Tax"
    Credit = "Credit"
    Adjustment = "Adjustment"


BILLING_REQUIRED = (
    Focus.ChargePeriodStart,
    Focus.ChargeCategory,
    Focus.BilledCost,
    Focus.EffectiveCost,
    Focus.BillingCurrency,
)

BILLING_MONEY = (
    Focus.BilledCost,
    Focus.EffectiveCost,
    Focus.ListCost,
    Focus.ContractedCost,
)

# Columns every canonical billing frame has (null where the source lacks them).
BILLING_COLUMNS = tuple(Focus)

CATEGORIES = (
    "hardware",
    "software",
    "people",
    "energy",
    "maintenance",
    "tax",
    "credits",
    "other",
)
FIVE_CATEGORIES = CATEGORIES[:5]

# GPU samples. utilization is 0..1; NaN means unknown, never 0.
GPU_COLUMNS = (
    "timestamp",  # tz-aware UTC
    "host",
    "gpu_uuid",
    "mig_instance",  # "" when the series is a whole GPU
    "mig_profile",  # e.g. "3g.40gb"; "" when not MIG
    "gpu_model",
    "utilization",  # 0..1, NaN when unknown
    "memory_used_mib",
    "power_watts",
    "energy_joules",  # cumulative counter, NaN when absent
    "namespace",
    "pod",
    "job",
    "team",
    "source_format",  # "nvidia-smi" | "dcgm" | "nvidia_gpu_exporter"
    "source_file",
)

PEOPLE_COLUMNS = (
    "employee_id_hash",
    "department",
    "team",  # from [people.departments]; "" when out of scope
    "basis",  # "salaried" | "hourly"
    "monthly_cost",  # fully loaded
    "period",  # "YYYY-MM" or "" for a roster without periods
)

TEAM_KEYS_RESERVED = ("unallocated", "idle", "people_pooled")
