"""read_telemetry_chunks: series-complete chunks that join to read_telemetry's frame."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest.config import TelemetryConfig
from ingest.telemetry import read_telemetry, read_telemetry_chunks
from transforms.schema import GPU_COLUMNS

MONTH = "2026-10"
HEADER = (
    "timestamp, name, uuid, pci.bus_id, utilization.gpu [%], memory.used [MiB], "
    "power.draw [W]"
)


def _log(host: int, gpus: int, start: str, minutes: int, *, units: bool = True) -> str:
    lines = [HEADER]
    stamps = pd.date_range(start, periods=minutes, freq="min")
    for step, stamp in enumerate(stamps):
        for gpu in range(gpus):
            util = (step * 7 + gpu * 13 + host) % 101
            power = "[N/A]" if (step + gpu) % 17 == 0 else f"{100 + util}.5"
            cells = [
                stamp.strftime("%Y/%m/%d %H:%M:%S.000"),
                "NVIDIA A100-SXM4-80GB",
                f"GPU-{host:04d}-{gpu:04d}",
                f"00000000:{16 + gpu:02X}:00.0",
                f"{util} %" if units else str(util),
                f"{util * 100} MiB" if units else str(util * 100),
                f"{power} W" if units and power[0] != "[" else power,
            ]
            lines.append(", ".join(cells))
    return "\n".join(lines) + "\n"


def _parquet(folder: Path, host: int, gpus: int, minutes: int) -> None:
    stamps = pd.date_range("2026-10-10", periods=minutes, freq="min", tz="UTC")
    rows = [(s, g) for s in stamps for g in range(gpus)]
    table = pa.table(
        {
            "timestamp": pa.array([s for s, _ in rows], pa.timestamp("ms", "UTC")),
            "name": ["NVIDIA H100 80GB HBM3"] * len(rows),
            "uuid": [f"GPU-{host:04d}-{g:04d}" for _, g in rows],
            "utilization.gpu [%]": [float((i * 3) % 100) for i in range(len(rows))],
            "memory.used [MiB]": [None if i % 11 == 0 else i for i in range(len(rows))],
            "power.draw [W]": [300.25] * len(rows),
        }
    )
    pq.write_table(table, folder / "nvidia-smi.parquet")


@pytest.fixture(scope="module")
def hosts(tmp_path_factory) -> Path:
    """Four hosts: rotated and gzipped logs, a nounits log, Parquet, a named file."""
    root = tmp_path_factory.mktemp("telemetry")
    for host in range(3):
        folder = root / f"node{host}"
        folder.mkdir()
        (folder / "nvidia-smi.log").write_text(_log(host, 4, "2026-10-02", 60))
        old = _log(host, 4, "2026-09-30 23:30", 40, units=host != 1)
        (folder / "nvidia-smi.log.1.gz").write_bytes(gzip.compress(old.encode()))
    parquet = root / "node9"
    parquet.mkdir()
    _parquet(parquet, 9, 8, 90)
    (root / "gpu-x1.csv.gz").write_bytes(
        gzip.compress(_log(7, 2, "2026-10-05", 30).encode())
    )
    return root


def _read_in_chunks(entries, chunk_rows, config=None):
    chunks: list[pd.DataFrame] = []
    load = read_telemetry_chunks(
        entries,
        MONTH,
        telemetry=config or TelemetryConfig(),
        on_chunk=chunks.append,
        chunk_rows=chunk_rows,
    )
    return load, chunks


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Text as str, rows in one order: frames compare whatever their categories."""
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.CategoricalDtype):
            out[column] = out[column].astype(object).astype(str)
    keys = ["host", "gpu_uuid", "timestamp", "source_file"]
    return out.sort_values(keys, kind="stable").reset_index(drop=True)


def _findings(findings) -> list[tuple]:
    return [(f.check, f.file, f.column, f.count, f.message) for f in findings]


def _gpus(frame: pd.DataFrame) -> set[tuple[str, str]]:
    pairs = frame[["host", "gpu_uuid"]].astype(str).drop_duplicates()
    return set(pairs.itertuples(index=False, name=None))


def _assert_chunks_match(entries, chunk_rows, config=None) -> list[pd.DataFrame]:
    whole = read_telemetry(entries, MONTH, telemetry=config or TelemetryConfig())
    load, chunks = _read_in_chunks(entries, chunk_rows, config)
    joined = pd.concat([_plain(c) for c in chunks], ignore_index=True)
    pd.testing.assert_frame_equal(_plain(joined), _plain(whole.frame))
    assert _findings(load.findings) == _findings(whole.findings)
    assert [vars(i) for i in load.inputs] == [vars(i) for i in whole.inputs]
    assert load.rows == whole.rows == len(whole.frame)
    assert load.frame.empty and list(load.frame.columns) == list(GPU_COLUMNS)
    seen: set[tuple[str, str]] = set()
    for chunk in chunks:
        assert list(chunk.columns) == list(GPU_COLUMNS)
        assert (
            chunk.dtypes.astype(str).tolist() == whole.frame.dtypes.astype(str).tolist()
        )
        gpus = _gpus(chunk)
        assert not gpus & seen, "a GPU's samples are split over two chunks"
        seen |= gpus
    return chunks


def test_chunks_join_to_the_whole_frame_and_no_gpu_is_split(hosts: Path):
    chunks = _assert_chunks_match([str(hosts)], chunk_rows=500)
    # units of 60 (gpu-x1), 400 (node0..2, CSV) and 720 samples (node9, Parquet):
    # 60 + 400 + 400 reach 500; 400 waits; 720 is more than 500, a chunk of its own
    assert sorted(len(c) for c in chunks) == [400, 720, 860]
    hosts_per_chunk = [sorted(set(c["host"].astype(str))) for c in chunks]
    assert sorted(h for hs in hosts_per_chunk for h in hs) == [
        "gpu-x1",
        "node0",
        "node1",
        "node2",
        "node9",
    ]


def test_units_are_joined_until_a_chunk_reaches_chunk_rows(hosts: Path):
    chunks = _assert_chunks_match([str(hosts)], chunk_rows=800)
    sizes = sorted(len(c) for c in chunks)
    assert sum(sizes) == 3 * 4 * 100 + 8 * 90 + 2 * 30
    assert sizes == [860, 400 + 720]  # the last buffer is handed over at the end


def test_findings_are_summed_across_chunks(hosts: Path):
    load, chunks = _read_in_chunks([str(hosts)], chunk_rows=1)
    outside = [f for f in load.findings if f.check == "out_of_month"]
    # 30 minutes of September on 4 GPUs of each of the 3 CSV hosts
    assert [f.count for f in outside] == [3 * 4 * 30]
    placeholders = [f for f in load.findings if f.check == "placeholder"]
    power = [f for f in placeholders if f.column == "power_watts"]
    assert {Path(f.file).parent.name for f in power} >= {"node0", "node1", "node2"}
    memory = [f for f in placeholders if f.column == "memory_used_mib"]
    assert [f.count for f in memory] == [len(range(0, 8 * 90, 11))]
    assert len(chunks) == 5


def test_a_scrape_among_the_files_makes_one_unit(hosts: Path, tmp_path: Path):
    scrape = tmp_path / "dcgm-2026-10-02T00:00:00Z.prom"
    scrape.write_text(
        'DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-0000-0000",Hostname="node0"} 50\n'
    )
    chunks = _assert_chunks_match([str(hosts), str(scrape)], chunk_rows=10)
    assert len(chunks) == 1


def test_a_hosts_mapping_makes_one_unit(hosts: Path):
    config = TelemetryConfig(hosts={"node1/*": "node0"})
    chunks = _assert_chunks_match([str(hosts)], chunk_rows=10, config=config)
    assert len(chunks) == 1
    assert "node1" not in set(chunks[0]["host"].astype(str))


def _without_hostname(text: str) -> str:
    lines = [line.split(", ") for line in text.splitlines() if line.strip()]
    drop = [n.strip() for n in lines[0]].index("hostname")
    return "\n".join(", ".join(c[:drop] + c[drop + 1 :]) for c in lines) + "\n"


def test_real_files_read_the_same_in_chunks(real_data: Path, tmp_path: Path):
    real = real_data / "nvidia_smi"
    # as published: each file has a `hostname` field, so they are read as one unit
    assert len(_assert_chunks_match([str(real)], chunk_rows=1)) == 1
    # one folder per host without that field: one unit per host
    files = sorted(real.glob("*__query-gpu.csv"))
    for number, path in enumerate(files):
        folder = tmp_path / f"host{number}"
        folder.mkdir()
        text = _without_hostname(path.read_text())
        (folder / "nvidia-smi.log").write_text(text)
        if number == 0:  # one host with a rotated, gzipped log too
            rotated = gzip.compress(text.encode())
            (folder / "nvidia-smi.log.1.gz").write_bytes(rotated)
    chunks = _assert_chunks_match([str(tmp_path)], chunk_rows=1)
    assert len(chunks) == len(files) == 8
    hosts = sorted(h for c in chunks for h in set(c["host"].astype(str)))
    assert hosts == [f"host{n}" for n in range(8)]
