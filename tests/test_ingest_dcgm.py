"""Prometheus GPU metrics: dcgm-exporter, query_range JSON, nvidia_gpu_exporter."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pandas as pd
import pytest

from ingest import dcgm
from ingest.config import TelemetryConfig
from ingest.telemetry import read_telemetry, scrape_time

SCRAPE = """# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).
# TYPE DCGM_FI_DEV_GPU_UTIL gauge
DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-a",Hostname="exp-1",modelName="NVIDIA A100"} 45 1790000000000
DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu="0",UUID="GPU-a",Hostname="exp-1"} 0.3 1790000000000
DCGM_FI_DEV_GPU_UTIL{gpu="1",uuid="GPU-b",hostname="node-2",pod="dcgm-exporter-x",exported_pod="train-7",exported_namespace="llm"} 80 1790000000000
DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{gpu="1",uuid="GPU-b",hostname="node-2"} 1000000 1790000000000
DCGM_FI_DEV_POWER_USAGE{gpu="1",uuid="GPU-b",hostname="node-2"} NaN 1790000000000
DCGM_FI_DEV_FB_USED{gpu="2",UUID="GPU-c",instance="10.0.0.5:9400"} 2048 1790000000000
DCGM_FI_DEV_COUNT 3
"""


def samples_of(text: str) -> pd.DataFrame:
    parsed = dcgm.parse_exposition(text)
    return dcgm.to_samples(parsed, default_seconds=0).set_index("gpu_uuid")


def test_prof_ratio_wins_over_gpu_util_percent():
    frame = samples_of(SCRAPE)
    assert frame.loc["GPU-a", "utilization"] == pytest.approx(0.3)
    assert frame.loc["GPU-b", "utilization"] == pytest.approx(0.80)  # 80 % -> 0.8


def test_energy_counter_in_millijoules_becomes_joules():
    assert samples_of(SCRAPE).loc["GPU-b", "energy_joules"] == 1000.0


def test_blank_values_are_missing_and_label_less_series_ignored():
    frame = samples_of(SCRAPE)
    assert math.isnan(frame.loc["GPU-b", "power_watts"])  # NaN: missing, not 0
    assert set(frame.index) == {"GPU-a", "GPU-b", "GPU-c"}  # DCGM_FI_DEV_COUNT: no GPU
    assert dcgm.blank_counts(dcgm.parse_exposition(SCRAPE)) == {"power_watts": 1}
    blank = (
        'DCGM_FI_DEV_POWER_USAGE{UUID="GPU-z"} \nDCGM_FI_DEV_GPU_UTIL{UUID="GPU-z"} 7'
    )
    row = samples_of(blank).loc["GPU-z"]
    assert math.isnan(row["power_watts"]) and row["utilization"] == pytest.approx(0.07)


def test_label_variants_and_exported_pod(tmp_path: Path):
    (tmp_path / "scrape.prom").write_text(SCRAPE)
    load = read_telemetry([str(tmp_path)], "2026-09", telemetry=TelemetryConfig())
    frame = load.frame.set_index("gpu_uuid")
    assert frame.loc["GPU-a", "host"] == "exp-1"  # Hostname
    assert frame.loc["GPU-b", "host"] == "node-2"  # hostname
    assert frame.loc["GPU-c", "host"] == "10.0.0.5"  # instance without its port
    assert frame.loc["GPU-b", ["pod", "namespace"]].tolist() == ["train-7", "llm"]
    assert frame.loc["GPU-a", "gpu_model"] == "NVIDIA A100"
    assert frame.loc["GPU-a", "timestamp"] == pd.Timestamp(
        1_790_000_000, unit="s", tz="UTC"
    )


def test_host_label_values_map_through_telemetry_hosts(tmp_path: Path):
    (tmp_path / "scrape.prom").write_text(SCRAPE)
    telemetry = TelemetryConfig(hosts={"exp-1": "gpu-a1"})
    load = read_telemetry([str(tmp_path)], "2026-09", telemetry=telemetry)
    assert load.frame.set_index("gpu_uuid").loc["GPU-a", "host"] == "gpu-a1"


def test_a_scrape_without_timestamps_is_dated_by_its_file_name_else_mtime(
    tmp_path: Path,
):
    named = tmp_path / "dcgm-2026-10-03T12:00:00Z.prom"
    assert scrape_time(str(named)) == pd.Timestamp("2026-10-03 12:00Z").timestamp()
    plain = tmp_path / "dcgm.prom"
    plain.write_text('DCGM_FI_DEV_GPU_UTIL{UUID="GPU-a"} 5')  # no trailing newline
    os.utime(plain, (1_790_000_000, 1_790_000_000))
    load = read_telemetry([str(plain)], "2026-09", telemetry=TelemetryConfig())
    assert load.frame["timestamp"].iloc[0] == pd.Timestamp(
        1_790_000_000, unit="s", tz="UTC"
    )
    assert load.frame["utilization"].iloc[0] == pytest.approx(0.05)


def test_query_range_matrix_gives_one_row_per_step(tmp_path: Path):
    def series(metric, values, **labels):
        return {"metric": {"__name__": metric, **labels}, "values": values}

    mig = {"UUID": "GPU-m", "GPU_I_ID": "1", "GPU_I_PROFILE": "3g.40gb"}
    document = {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [
                series(
                    "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
                    [[1790000000, "0.5"], [1790000060, "0.25"]],
                    node="gpu-a1",
                    **mig,
                ),
                series(
                    "DCGM_FI_DEV_POWER_USAGE",
                    [[1790000000, "300"], [1790000060, "NaN"]],
                    node="gpu-a1",
                    **mig,
                ),
            ],
        },
    }
    (tmp_path / "month.json").write_text(json.dumps(document))
    load = read_telemetry([str(tmp_path)], "2026-09", telemetry=TelemetryConfig())
    frame = load.frame
    assert frame["utilization"].tolist() == [0.5, 0.25]
    assert frame["power_watts"].iloc[0] == 300.0 and math.isnan(
        frame["power_watts"].iloc[1]
    )
    assert set(frame["mig_profile"]) == {"3g.40gb"} and set(frame["host"]) == {"gpu-a1"}
    assert load.inputs[0].format == "dcgm" and load.inputs[0].rows == 2


def test_one_gpu_seen_by_nvidia_smi_and_dcgm_is_kept_from_dcgm(tmp_path: Path):
    smi = (
        "timestamp, uuid, utilization.gpu [%]\n"
        "2026/09/10 00:00:00.000, GPU-a, 10 %\n"
        "2026/09/10 00:01:00.000, GPU-a, 10 %\n"
        "2026/09/10 00:05:00.000, GPU-a, 10 %\n"
    )
    start = pd.Timestamp("2026-09-10", tz="UTC").value // 10**6
    prom = "".join(
        f'DCGM_FI_DEV_GPU_UTIL{{UUID="GPU-a",node="gpu-a1"}} 90 {start + i * 60_000}\n'
        for i in range(3)
    )
    (tmp_path / "gpu-a1.csv").write_text(smi)
    (tmp_path / "scrape.prom").write_text(prom)
    load = read_telemetry([str(tmp_path)], "2026-09", telemetry=TelemetryConfig())
    kept = load.frame.groupby("source_format").size().to_dict()
    assert kept == {"dcgm": 3, "nvidia-smi": 1}  # 00:05 lies after DCGM's span
    overlap = [f for f in load.findings if f.check == "duplicate_source"]
    assert overlap[0].count == 2 and overlap[0].examples == ["gpu-a1/GPU-a"]


# --- every real file (../shared/data/real/prometheus) ---


def test_real_dcgm_exporter_scrape(real_data: Path):
    text = (real_data / "prometheus" / "dcgm-exporter-scrape.txt").read_text()
    assert not text.endswith("\n")
    parsed = dcgm.parse_exposition(text)
    assert parsed.bad_lines == []
    frame = dcgm.to_samples(parsed, default_seconds=0).set_index("gpu_uuid")
    t4 = frame.loc["GPU-20c56d28-0da5-6d26-a36a-e7af1ce2586e"]
    assert t4["energy_joules"] == pytest.approx(128_996.013)  # 128996013 mJ
    assert t4["power_watts"] == pytest.approx(8.969)
    assert t4["utilization"] == 0.0  # GPU_UTIL 0 % is a real zero
    assert t4["label_Hostname"] == "424773df46e0"
    a10g = frame.loc["GPU-abc"]
    assert a10g[["namespace", "pod", "gpu_model"]].tolist() == [
        "ray-llm",
        "ray-1111111",
        "NVIDIA A10G",
    ]
    assert math.isnan(a10g["utilization"])  # only DRAM_ACTIVE: utilization unknown
    assert len(frame) == 3  # the label-less dummy series make no GPU


def test_real_nvidia_gpu_exporter_metrics(real_data: Path):
    folder = real_data / "prometheus"
    expected = {"80gb-hbm3": (1.0, 631.95), "mig": (math.nan, 433.78)}
    for key, (utilization, power) in expected.items():
        path = next(folder.glob(f"*h100-{key}*.metrics"))
        parsed = dcgm.parse_exposition(path.read_text())
        assert dcgm.source_format(parsed) == "nvidia_gpu_exporter"
        row = dcgm.to_samples(parsed, default_seconds=0).iloc[0]
        assert row["gpu_uuid"] == "GPU-00000000-0000-0000-0000-000000000000"
        assert row["gpu_model"] == "NVIDIA H100 80GB HBM3"
        assert row["power_watts"] == power
        assert row["memory_used_mib"] == 19818.0 if key != "mig" else 11125.0
        if math.isnan(utilization):
            assert math.isnan(row["utilization"])
        else:
            assert row["utilization"] == utilization


def test_real_default_counter_list_is_configuration_not_samples(real_data: Path):
    path = real_data / "prometheus" / "dcgm-exporter_default-counters.csv"
    counters = dcgm.parse_counter_list(path.read_text()).set_index("name")
    assert counters.loc["DCGM_FI_DEV_DEC_UTIL", "prometheus_type"] == "gauge"
    energy = counters.loc["DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"]
    assert energy["prometheus_type"] == "counter" and "(in mJ)" in energy["help"]
    assert "(in %)" in counters.loc["DCGM_FI_DEV_GPU_UTIL", "help"]
    load = read_telemetry([str(path)], "2026-09", telemetry=TelemetryConfig())
    assert load.frame.empty and load.inputs[0].format == "dcgm-counters"
