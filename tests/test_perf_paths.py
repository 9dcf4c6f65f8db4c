"""The benchmark generator and the fast paths behind large months.

A tiny generated month reads the same from Parquet and from CSV.gz; nvidia-smi fields
in Parquet read like the CSV log; the per-distinct helpers give what the row-wise
pandas calls they replace give.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows import synthetic_large
from ingest.billing import read_billing
from ingest.config import TelemetryConfig
from ingest.telemetry import read_telemetry
from transforms.distinct import per_distinct

MONTH = "2026-10"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny")
    sizes = dict(synthetic_large.SIZES)
    synthetic_large.SIZES["T"] = synthetic_large.Size(3000, 3, 2, 4)
    try:
        config = synthetic_large.generate_large(MONTH, "T", out)
    finally:
        synthetic_large.SIZES.clear()
        synthetic_large.SIZES.update(sizes)
    return out, config


def test_generated_month_has_both_formats_and_configs(tiny):
    out, config = tiny
    assert config == out / "finops.toml"
    assert (out / "csv" / "finops.toml").exists()
    assert list((out / "inputs/billing").glob("*.parquet"))
    assert list((out / "csv/inputs/billing").glob("*.csv.gz"))
    hosts = sorted(p.name for p in (out / "inputs/telemetry").iterdir())
    assert hosts == ["gpu-0000", "gpu-0001"]


def test_the_tax_line_belongs_to_no_resource(tiny):
    """A tax line with a host's ResourceId would be counted as that host's cost."""
    out, _ = tiny
    table = pq.read_table(out / "inputs/billing").to_pandas()
    tax = table[table["ChargeCategory"] == "Tax"]
    assert len(tax) == 1
    assert tax["ResourceId"].isna().all()
    assert table.loc[table["ChargeCategory"] != "Tax", "ResourceId"].notna().all()


def test_billing_reads_the_same_from_parquet_and_csv_gz(tiny):
    out, _ = tiny
    table = pq.read_table(out / "inputs/billing")
    expected = round(sum(table["EffectiveCost"].to_pylist()), 2)
    parquet = read_billing([str(out / "inputs/billing")], MONTH)
    csv = read_billing([str(out / "csv/inputs/billing")], MONTH)
    assert len(parquet.frame) == len(csv.frame) == 3000
    assert round(parquet.frame["EffectiveCost"].sum(), 2) == expected
    assert round(csv.frame["EffectiveCost"].sum(), 2) == expected
    teams = parquet.frame["x_TeamTag"].value_counts(dropna=False)
    assert teams.equals(csv.frame["x_TeamTag"].value_counts(dropna=False))
    assert parquet.frame["Tags"].isna().sum() == csv.frame["Tags"].isna().sum()


def test_telemetry_reads_the_same_from_parquet_and_csv_gz(tiny):
    out, _ = tiny
    config = TelemetryConfig()
    parquet = read_telemetry([str(out / "inputs/telemetry")], MONTH, telemetry=config)
    csv = read_telemetry([str(out / "csv/inputs/telemetry")], MONTH, telemetry=config)
    minutes = 31 * 24 * 60
    assert len(parquet.frame) == len(csv.frame) == 3 * minutes
    assert {i.format for i in parquet.inputs} == {"nvidia-smi"}
    left = parquet.frame.sort_values(["host", "gpu_uuid", "timestamp"])
    right = csv.frame.sort_values(["host", "gpu_uuid", "timestamp"])
    for column in ("utilization", "memory_used_mib", "power_watts"):
        np.testing.assert_allclose(
            left[column].to_numpy(), right[column].to_numpy(), equal_nan=True
        )
    assert (left["host"].astype(str).to_numpy() == right["host"].astype(str)).all()
    assert parquet.frame["power_watts"].isna().sum() > 0  # [N/A] stays missing


def test_smi_parquet_without_zone_is_read_in_the_configured_timezone(tmp_path):
    stamps = pd.to_datetime(["2026-10-01 02:00:00", "2026-10-01 02:01:00"])
    table = pa.table(
        {
            "timestamp": pa.array(stamps),
            "uuid": ["GPU-1", "GPU-1"],
            "utilization.gpu [%]": [50, None],
        }
    )
    folder = tmp_path / "node7"
    folder.mkdir()
    pq.write_table(table, folder / "nvidia-smi.parquet")
    load = read_telemetry(
        [str(tmp_path)], MONTH, telemetry=TelemetryConfig(timezone="Europe/Berlin")
    )
    frame = load.frame
    assert frame["timestamp"].iloc[0] == pd.Timestamp("2026-10-01 00:00", tz="UTC")
    assert frame["host"].astype(str).tolist() == ["node7", "node7"]
    assert frame["utilization"].iloc[0] == 0.5
    assert np.isnan(frame["utilization"].iloc[1])


def test_per_distinct_matches_a_row_wise_map():
    values = pd.Series(["a", None, "b", "a", "", None])
    got = per_distinct(values, lambda u: u.map({"a": 1.0, "": 2.0}))
    expected = values.map({"a": 1.0, "": 2.0})
    pd.testing.assert_series_equal(got, expected, check_dtype=False)
    pairs = per_distinct(values, lambda u: [(v, 1) for v in u])
    assert pairs.iloc[0] == ("a", 1) and pairs.iloc[3] == ("a", 1)
