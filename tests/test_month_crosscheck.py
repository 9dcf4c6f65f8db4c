"""GPU instance hours billed for cloud hosts, for the telemetry cross-check."""

from __future__ import annotations

import pytest

from ingest.config import Config, InventoryHost
from tests.billing_frames import billing_frame
from transforms.month import _billed_gpu_hours
from transforms.schema import Focus


def test_billed_instance_hours_times_gpus_per_cloud_host():
    frame = billing_frame(
        [
            {
                "cost": 4.0,
                Focus.ResourceId: "i-1",
                Focus.ConsumedQuantity: 1.0,
                "PricingUnit": "Hours",
            },
            {
                "cost": 4.0,
                Focus.ResourceId: "i-1",
                Focus.ConsumedQuantity: 1.0,
                "PricingUnit": "Hours",
            },
            # storage on the same resource is no instance hour
            {
                "cost": 1.0,
                Focus.ResourceId: "i-1",
                Focus.ConsumedQuantity: 50.0,
                "PricingUnit": "GB-Month",
            },
            {
                "cost": 4.0,
                Focus.ResourceId: "node-a7",
                Focus.ConsumedQuantity: 3.0,
                "PricingUnit": "Hrs",
            },
            {
                "cost": 4.0,
                Focus.ResourceId: "other",
                Focus.ConsumedQuantity: 9.0,
                "PricingUnit": "Hours",
            },
        ]
    )
    config = Config(
        inventory=[
            InventoryHost(host="c1", location="cloud", gpus=4, resource_id="i-1"),
            InventoryHost(
                host="auto", location="cloud", gpus=8, resource_pattern="node-*"
            ),
            InventoryHost(host="p1", location="onprem", gpus=8),
        ]
    )
    assert _billed_gpu_hours(config, frame) == pytest.approx({"c1": 8.0, "auto": 24.0})
