"""Small canonical billing frames written row by row in tests."""

from __future__ import annotations

import json

import pandas as pd

from transforms.schema import BILLING_COLUMNS, Focus


def billing_frame(rows: list[dict]) -> pd.DataFrame:
    """A canonical frame from a few rows; unnamed columns are null."""
    defaults = {
        Focus.ChargePeriodStart: "2026-10-05T00:00:00Z",
        Focus.ChargeCategory: "Usage",
        Focus.BillingCurrency: "USD",
        Focus.ServiceCategory: "Compute",
        Focus.ServiceName: "Amazon Elastic Compute Cloud",
        Focus.PublisherName: "AWS",
        Focus.InvoiceIssuerName: "AWS",
        Focus.SourceFile: "bill.csv",
    }
    records = []
    for number, row in enumerate(rows, start=1):
        record = {str(c): None for c in BILLING_COLUMNS}
        record.update({str(k): v for k, v in defaults.items()})
        record[Focus.SourceRow] = number
        record.update(row)
        if "cost" in record:
            cost = record.pop("cost")
            record[Focus.BilledCost] = cost
            record[Focus.EffectiveCost] = cost
            record.setdefault(Focus.ListCost, cost)
        if isinstance(record.get(Focus.Tags), dict):
            record[Focus.Tags] = json.dumps(record[Focus.Tags])
        records.append(record)
    frame = pd.DataFrame(records)
    frame[Focus.ChargePeriodStart] = pd.to_datetime(
        frame[Focus.ChargePeriodStart], utc=True
    )
    for column in (Focus.BilledCost, Focus.EffectiveCost, Focus.ListCost):
        frame[column] = frame[column].astype(float)
    return frame
