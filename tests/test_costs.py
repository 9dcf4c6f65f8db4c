"""Cloud rows sorted into categories, currencies converted (DESIGN §4)."""

from __future__ import annotations

import pytest

from tests.billing_frames import billing_frame
from transforms.costs import by_category, categorize, cloud_totals, convert_currency
from transforms.errors import CurrencyError
from transforms.schema import CATEGORIES, Focus


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({Focus.ChargeCategory: "Tax", Focus.ServiceName: "Support"}, "tax"),
        ({Focus.ChargeCategory: "Credit"}, "credits"),
        ({Focus.ChargeCategory: "Adjustment"}, "other"),
        ({Focus.ServiceName: "AWS Support (Business)"}, "maintenance"),
        # a marketplace line: publisher differs from the invoice issuer
        (
            {
                Focus.PublisherName: "Weights and Biases",
                Focus.ServiceCategory: "Compute",
            },
            "software",
        ),
        ({Focus.ServiceCategory: "Security"}, "software"),
        ({Focus.ServiceCategory: "AI and Machine Learning"}, "hardware"),
        ({Focus.ServiceCategory: "Other"}, "other"),
        ({Focus.ServiceCategory: None}, "other"),
    ],
)
def test_first_matching_rule_wins(row, expected):
    frame = billing_frame([{"cost": 1.0, **row}])
    assert categorize(frame, {}).tolist() == [expected]


def test_overrides_by_service_name_or_category():
    frame = billing_frame(
        [
            {
                "cost": 1.0,
                Focus.ServiceName: "Amazon Bedrock",
                Focus.ServiceCategory: "AI and Machine Learning",
            },
            {"cost": 1.0, Focus.ServiceCategory: "Storage"},
        ]
    )
    got = categorize(frame, {"Amazon Bedrock": "software", "Storage": "other"})
    assert got.tolist() == ["software", "other"]


def test_an_override_to_an_unknown_category_is_refused():
    frame = billing_frame([{"cost": 1.0}])
    with pytest.raises(ValueError, match="expected one of hardware"):
        categorize(frame, {"Compute": "gpus"})


def test_credits_stay_their_own_line_and_categories_sum_to_effective_cost():
    frame = billing_frame(
        [
            {"cost": 33.86},
            {"cost": -33.86, Focus.ChargeCategory: "Credit"},
            {"cost": 2.5, Focus.ChargeCategory: "Tax"},
        ]
    )
    category = categorize(frame, {})
    totals = cloud_totals(frame, category)
    sums = by_category(frame, category)
    assert set(sums) == set(CATEGORIES)
    assert sums["hardware"] == pytest.approx(33.86)
    assert sums["credits"] == pytest.approx(-33.86)
    assert totals["credits"] == pytest.approx(-33.86)
    assert totals["tax"] == pytest.approx(2.5)
    assert sum(sums.values()) == pytest.approx(totals["effective_cost"])


def test_foreign_currency_converts_with_the_configured_rate():
    frame = billing_frame(
        [{"cost": 100.0, Focus.BillingCurrency: "NOK"}, {"cost": 1.0}]
    )
    out = convert_currency(frame, "USD", {"NOK": 0.093})
    assert out[Focus.EffectiveCost].tolist() == pytest.approx([9.3, 1.0])
    assert set(out[Focus.BillingCurrency]) == {"USD"}


def test_a_currency_without_a_rate_stops_naming_currency_and_file():
    frame = billing_frame(
        [{"cost": 100.0, Focus.BillingCurrency: "NOK", Focus.SourceFile: "koku.csv"}]
    )
    with pytest.raises(CurrencyError) as info:
        convert_currency(frame, "USD", {})
    assert "NOK" in str(info.value) and "koku.csv" in str(info.value)
    assert "[fx]" in str(info.value)


def test_cur_rows_are_marketplace_only_when_the_reader_says_so():
    # CUR's BillingEntity ("AWS") and InvoicingEntity differ on ordinary lines.
    frame = billing_frame(
        [
            {
                "cost": 1.0,
                Focus.PublisherName: "AWS",
                Focus.InvoiceIssuerName: "Amazon Web Services, Inc.",
                "x_Marketplace": False,
            },
            {
                "cost": 1.0,
                Focus.PublisherName: "AWS Marketplace",
                Focus.InvoiceIssuerName: "Amazon Web Services, Inc.",
                "x_Marketplace": True,
            },
        ]
    )
    assert categorize(frame, {}).tolist() == ["hardware", "software"]
