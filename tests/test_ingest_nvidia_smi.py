"""nvidia-smi CSV logs: placeholders, units, zones, rotation, host names, real files."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import pandas as pd
import pytest

from ingest import nvidia_smi
from ingest.config import TelemetryConfig
from ingest.telemetry import host_from_file, read_telemetry
from transforms.schema import GPU_COLUMNS

HEADER = (
    "timestamp, name, uuid, driver_version, pci.bus_id, utilization.gpu [%], "
    "memory.used [MiB], power.draw [W]"
)
LOG = f"""{HEADER}
2026/10/03 09:00:00.000, NVIDIA H100 80GB HBM3, GPU-aaa, 590.48.01, 00000000:00:09.0, 45 %, 59 MiB, 433.78 W
2026/10/03 09:00:00.000, NVIDIA H100 80GB HBM3, GPU-bbb, 590.48.01, 00000000:00:0A.0, [N/A], [Not Supported], [Unknown Error]
2026/10/03 09:01:00.000, NVIDIA H100 80GB HBM3, GPU-aaa, 590.48.01, 00000000:00:09.0, 100 %, 80000 MiB, 700.00 W
"""
NOUNITS = f"""{HEADER}
2026/10/03 09:00:00.000, NVIDIA H100 80GB HBM3, GPU-aaa, 590.48.01, 00000000:00:09.0, 45, 59, 433.78
"""


def test_units_are_stripped_from_numeric_fields_only():
    table = nvidia_smi.parse_query_gpu(LOG)
    first = table.frame.iloc[0]
    assert first["utilization.gpu"] == 45.0
    assert first["memory.used"] == 59.0
    assert first["power.draw"] == 433.78
    assert first["driver_version"] == "590.48.01"  # a string, not 590.48
    assert first["pci.bus_id"] == "00000000:00:09.0"
    assert table.units == {
        "utilization.gpu": "%",
        "memory.used": "MiB",
        "power.draw": "W",
    }


def test_nounits_logs_read_the_same():
    with_units = nvidia_smi.parse_query_gpu(LOG).frame.iloc[0]
    without = nvidia_smi.parse_query_gpu(NOUNITS).frame.iloc[0]
    assert without.equals(with_units)


def test_placeholders_are_missing_never_zero_and_keep_the_row():
    samples = nvidia_smi.to_samples(nvidia_smi.parse_query_gpu(LOG))
    bbb = samples[samples["gpu_uuid"] == "GPU-bbb"].iloc[0]
    assert math.isnan(bbb["utilization"])
    assert math.isnan(bbb["memory_used_mib"])
    assert math.isnan(bbb["power_watts"])
    assert bbb["gpu_model"] == "NVIDIA H100 80GB HBM3"  # the other fields stay
    assert len(samples) == 3
    assert samples["utilization"].tolist()[::2] == [0.45, 1.0]  # percent -> 0..1


def test_timestamps_are_read_in_the_configured_zone_and_stored_in_utc():
    table = nvidia_smi.parse_query_gpu(LOG, timezone="Europe/Berlin")
    # 09:00 in Berlin in October (summer time, UTC+2) is 07:00 UTC
    assert table.frame["timestamp"].iloc[0] == pd.Timestamp("2026-10-03 07:00Z")


def test_repeated_headers_and_bad_lines_are_handled():
    text = LOG + HEADER + "\n2026/10/03 09:02:00.000, only, three\n"
    table = nvidia_smi.parse_query_gpu(text)
    assert len(table.frame) == 3
    assert table.bad_rows == [6]  # the line number of the short row


def test_compute_apps_give_per_process_memory():
    text = (
        "timestamp, gpu_name, gpu_bus_id, gpu_serial, gpu_uuid, pid, process_name, "
        "used_gpu_memory [MiB]\n"
        "2026/10/03 09:00:00.000, NVIDIA H100, 00000000:00:09.0, [N/A], GPU-aaa, "
        "11327, ./train.py, 2566 MiB\n"
    )
    apps = nvidia_smi.parse_compute_apps(text)
    assert apps.iloc[0][["pid", "process_name", "used_memory_mib"]].tolist() == [
        11327,
        "./train.py",
        2566.0,
    ]


def test_rotated_gzipped_logs_are_read_and_named_by_their_folder(tmp_path: Path):
    node = tmp_path / "node7"
    node.mkdir()
    (node / "nvidia-smi.log").write_text(LOG)
    (node / "nvidia-smi.log.1.gz").write_bytes(gzip.compress(NOUNITS.encode()))
    load = read_telemetry([str(tmp_path)], "2026-10", telemetry=TelemetryConfig())
    assert list(load.frame.columns) == list(GPU_COLUMNS)
    assert set(load.frame["host"]) == {"node7"}
    assert len(load.frame) == 4
    assert [i.rows for i in load.inputs] == [3, 1]
    placeholders = {
        f.column: f.count for f in load.findings if f.check == "placeholder"
    }
    assert placeholders == {"utilization": 1, "memory_used_mib": 1, "power_watts": 1}


@pytest.mark.parametrize(
    ("uri", "host"),
    [
        ("/logs/gpu-a1.csv.gz", "gpu-a1"),  # file name without its suffixes
        ("/logs/node7/nvidia-smi.csv", "node7"),  # generic name: the folder
        ("/logs/node8/2026-10-03.csv", "node8"),  # a date: the folder
        ("s3://bucket/gpu-b2/nvidia-smi.log.3.gz", "gpu-b2"),
    ],
)
def test_host_from_the_file_name(uri, host):
    assert host_from_file(uri) == host


def test_telemetry_hosts_glob_on_the_file_wins(tmp_path: Path):
    (tmp_path / "logs" / "node7").mkdir(parents=True)
    (tmp_path / "logs" / "node7" / "x.csv").write_text(LOG)
    telemetry = TelemetryConfig(hosts={"logs/node7/*.csv": "gpu-a7"})
    load = read_telemetry([str(tmp_path)], "2026-10", telemetry=telemetry)
    assert set(load.frame["host"]) == {"gpu-a7"}


def test_samples_outside_the_month_are_reported(tmp_path: Path):
    (tmp_path / "gpu-a1.csv").write_text(LOG)
    load = read_telemetry([str(tmp_path)], "2026-11", telemetry=TelemetryConfig())
    messages = [f.message for f in load.findings if f.check == "out_of_month"]
    assert messages and messages[0].startswith("3 samples dated outside 2026-11")


# --- every real file (../shared/data/real/nvidia_smi) ---


def _real(real_data: Path, kind: str) -> list[Path]:
    return sorted((real_data / "nvidia_smi").glob(f"*__{kind}.csv"))


def test_every_real_query_gpu_file_reads(real_data: Path):
    files = _real(real_data, "query-gpu")
    assert len(files) == 8
    for path in files:
        table = nvidia_smi.parse_query_gpu(path.read_text())
        samples = nvidia_smi.to_samples(table)
        row = samples.iloc[0]
        assert table.bad_rows == [], path.name
        assert row["gpu_uuid"] == "GPU-00000000-0000-0000-0000-000000000000"
        assert row["power_watts"] > 0, path.name
        assert row["memory_used_mib"] >= 0, path.name
        assert table.frame["driver_version"].iloc[0] in ("590.48.01", "595.71.05")
        assert table.units["power.draw"] == "W"
        mig = "h100-mig" in path.name
        assert math.isnan(row["utilization"]) == mig, path.name  # [N/A] under MIG
        assert table.placeholders.get("utilization.gpu", 0) == int(mig)


def test_real_h100_mig_load_values(real_data: Path):
    path = (
        real_data
        / "nvidia_smi"
        / ("linux-x86_64__nvidia-h100-mig__590.48.01__load__query-gpu.csv")
    )
    table = nvidia_smi.parse_query_gpu(path.read_text(), timezone="Europe/Istanbul")
    row = table.frame.iloc[0]
    assert row["power.draw"] == 433.78
    assert row["memory.used"] == 11125.0
    assert row["mig.mode.current"] == "Enabled"
    assert row["pci.bus_id"] == "00000000:00:09.0"
    # 2026/07/14 09:00:44.579 at UTC+3
    assert row["timestamp"] == pd.Timestamp("2026-07-14 06:00:44.579Z")
    assert pd.isna(row["hostname"])  # [N/A]


def test_every_real_compute_apps_file_reads(real_data: Path):
    files = _real(real_data, "query-compute-apps")
    assert len(files) == 8
    processes = {p.name.split("__")[1] + p.name.split("__")[3]: 0 for p in files}
    for path in files:
        apps = nvidia_smi.parse_compute_apps(path.read_text())
        assert (apps["used_memory_mib"] > 0).all(), path.name
        processes[path.name.split("__")[1] + path.name.split("__")[3]] = len(apps)
    assert processes["nvidia-h100-80gb-hbm3load"] == 3
    assert processes["nvidia-h100-migidle"] == 0
