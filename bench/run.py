"""Benchmark of the monthly flow on generated M and L months (not part of CI).

    python bench/run.py --sizes M L --formats parquet csv --runs 3

Generates each size once under --root (default /tmp/finops-bench; `--keep` keeps the
data), then runs every case (size x format) `--runs` times, each run in a fresh
subprocess, and prints the medians: wall time and peak RSS per stage (ingest, validate,
transform, report), end to end (the Prefect server is started before the clock runs),
and a bare DuckDB aggregation of the same files (cost by team and category; GPU-hours
and mean utilization by host) with the transform/DuckDB ratio. Peak RSS is sampled
from /proc every 20 ms by a thread that knows the current stage, so Arrow and numpy
memory count (tracemalloc would miss them).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MONTH = "2026-10"
STAGES = ("ingest", "validate", "transform", "report")


def main() -> int:
    args = _parser().parse_args()
    if args.child:
        return _child(args)
    if args.duckdb:
        return _duckdb_child(args)
    rows = []
    for size in args.sizes:
        data = Path(args.root) / size
        _generate(size, data, args.formats)
        for fmt in args.formats:
            config = (
                data / "finops.toml" if fmt == "parquet" else data / "csv/finops.toml"
            )
            runs = [_run_case(config, args) for _ in range(args.runs)]
            refs = [_run_duckdb(config.parent) for _ in range(args.runs)]
            rows.append(_medians(size, fmt, runs, refs))
            print(_line(rows[-1]), flush=True)
        if not args.keep:
            shutil.rmtree(data, ignore_errors=True)
    print(json.dumps(rows, indent=1))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["M", "L"])
    parser.add_argument(
        "--formats", nargs="+", choices=["parquet", "csv"], default=["parquet", "csv"]
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--root", default="/tmp/finops-bench")
    parser.add_argument("--keep", action="store_true", help="keep generated data")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--duckdb", help=argparse.SUPPRESS)
    return parser


def _generate(size: str, data: Path, formats: list[str]) -> None:
    """Write the copies (Parquet, CSV.gz) of the month that are not there yet."""
    configs = {"parquet": data / "finops.toml", "csv": data / "csv/finops.toml"}
    missing = [fmt for fmt in formats if not configs[fmt].exists()]
    if not missing:
        return
    kinds = ["csv.gz" if fmt == "csv" else fmt for fmt in missing]
    clock = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "flows.cli", "generate", "--month", MONTH, "--size",
         size, "--out", str(data), "--formats", *kinds],
        check=True, cwd=ROOT,
    )  # fmt: skip
    print(f"generated {size} in {time.perf_counter() - clock:.1f} s", flush=True)


def _run_case(config: Path, args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(dir=args.root) as out:
        done = subprocess.run(
            [sys.executable, __file__, "--child", str(config), "--root", out],
            cwd=ROOT, capture_output=True, text=True,
        )  # fmt: skip
    if done.returncode:
        sys.exit(f"the run of {config} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _run_duckdb(folder: Path) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--duckdb", str(folder)],
        check=True, cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- one measured run, in its own process ---


class Sampler(threading.Thread):
    """Peak resident memory per stage, read from /proc every 20 ms."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stage = "start"
        self.peak: dict[str, int] = {}
        self.running = True

    def run(self) -> None:
        while self.running:
            self.note()
            time.sleep(0.02)

    def note(self) -> None:
        rss = _rss()
        self.peak[self.stage] = max(self.peak.get(self.stage, 0), rss)

    def enter(self, stage: str) -> None:
        self.note()
        self.stage = stage
        self.note()


def _rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _child(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    # Its own Prefect home (database) and patience for a busy machine: the embedded
    # server starts before the clock runs.
    os.environ["PREFECT_HOME"] = str(Path(args.root) / "prefect-home")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    from prefect import flow

    import flows.monthly as monthly
    import flows.sources as sources
    from ingest.validation import TelemetryChecks

    @flow
    def warm_up() -> int:  # starts the embedded Prefect server off the clock
        return 1

    warm_up()
    sampler = Sampler()
    _wrap(sources, "validate_sources", sampler, "validate")
    _wrap(monthly, "compute_month", sampler, "transform")
    _wrap(monthly, "write_month", sampler, "report")
    # Telemetry is checked and rolled up chunk by chunk inside the ingest stage.
    inside = {"telemetry_checks": 0.0, "telemetry_rollup": 0.0}
    _clock(sources, "rollup_samples", inside, "telemetry_rollup")
    _clock(TelemetryChecks, "add", inside, "telemetry_checks")
    sampler.enter("ingest")
    sampler.start()
    clock = time.perf_counter()
    result = monthly.monthly_report(
        month=MONTH, config_path=args.child, out=args.root, send=False
    )
    total = time.perf_counter() - clock
    sampler.running = False
    sampler.note()
    print(
        json.dumps(
            {
                "total": total,
                "timings": {**result["timings"], **inside},
                "peak": {s: sampler.peak.get(s, 0) for s in STAGES},
                "peak_all": max(sampler.peak.values()),
            }
        )
    )
    return 0


def _wrap(module, name: str, sampler: Sampler, stage: str) -> None:
    inner = getattr(module, name)

    def wrapped(*a, **k):
        sampler.enter(stage)
        return inner(*a, **k)

    setattr(module, name, wrapped)


def _clock(owner, name: str, sums: dict, key: str) -> None:
    """Add the time spent in owner.name to sums[key] (it runs inside a stage), and
    the CPU time of its thread to sums[key + "_cpu"]: in a thread that shares two
    cores with the readers, wall time counts the waits for the GIL too."""
    inner = getattr(owner, name)
    sums.setdefault(f"{key}_cpu", 0.0)

    def timed(*a, **k):
        start, cpu = time.perf_counter(), time.thread_time()
        try:
            return inner(*a, **k)
        finally:
            sums[key] += time.perf_counter() - start
            sums[f"{key}_cpu"] += time.thread_time() - cpu

    setattr(owner, name, timed)


# --- the DuckDB reference ---

BILLING_SQL = """
SELECT coalesce(lower(trim(json_extract_string(Tags, '$.team'))), 'unallocated')
         AS team,
       CASE WHEN ChargeCategory = 'Tax' THEN 'tax'
            WHEN ServiceCategory IN ('Management and Governance', 'Security')
              THEN 'software'
            ELSE 'hardware' END AS category,
       sum(EffectiveCost) AS cost
FROM {source}
WHERE ChargePeriodStart >= TIMESTAMPTZ '{start}'
  AND ChargePeriodStart < TIMESTAMPTZ '{end}'
GROUP BY ALL
"""
TELEMETRY_SQL = """
SELECT split_part(filename, '/', -2) AS host, count(*) / 60.0 AS gpu_hours,
       avg({util}) / 100 AS utilization
FROM {source}
GROUP BY ALL
"""


def _duckdb_child(args: argparse.Namespace) -> int:
    import duckdb

    folder = Path(args.duckdb)
    parquet = (folder / "inputs/billing").glob("*.parquet")
    con = duckdb.connect()
    con.execute("SET threads = 2")
    start = f"{MONTH}-01 00:00:00+00"
    end = "2026-11-01 00:00:00+00"
    clock = time.perf_counter()
    if any(parquet):
        bills = f"read_parquet('{folder}/inputs/billing/*.parquet')"
        samples = (
            f"read_parquet('{folder}/inputs/telemetry/*/*.parquet', filename=true)"
        )
        util = '"utilization.gpu [%]"'
    else:
        bills = f"read_csv('{folder}/inputs/billing/*.csv.gz', header=true)"
        samples = (
            f"read_csv('{folder}/inputs/telemetry/*/*.csv.gz', delim=', ', "
            "header=true, filename=true, all_varchar=true)"
        )
        util = "cast(split_part(\"utilization.gpu [%]\", ' ', 1) AS DOUBLE)"
    cost = con.sql(BILLING_SQL.format(source=bills, start=start, end=end)).fetchall()
    hours = con.sql(TELEMETRY_SQL.format(source=samples, util=util)).fetchall()
    total = time.perf_counter() - clock
    print(
        json.dumps(
            {
                "total": total,
                "groups": len(cost),
                "hosts": len(hours),
                "cost": sum(r[2] for r in cost),
                "peak_all": _rss(),
            }
        )
    )
    return 0


# --- medians and printing ---


def _medians(size: str, fmt: str, runs: list[dict], refs: list[dict]) -> dict:
    def med(values):
        return statistics.median(values)

    row = {
        "size": size,
        "format": fmt,
        "runs": len(runs),
        "total_s": med([r["total"] for r in runs]),
        "peak_mb": med([r["peak_all"] for r in runs]) / 2**20,
        "duckdb_s": med([r["total"] for r in refs]),
        "duckdb_peak_mb": med([r["peak_all"] for r in refs]) / 2**20,
    }
    for stage in STAGES:
        row[f"{stage}_s"] = med([r["timings"].get(stage, 0.0) for r in runs])
        row[f"{stage}_mb"] = med([r["peak"][stage] for r in runs]) / 2**20
    for part in ("telemetry_checks", "telemetry_rollup"):
        row[f"{part}_s"] = med([r["timings"].get(part, 0.0) for r in runs])
        row[f"{part}_cpu_s"] = med([r["timings"].get(f"{part}_cpu", 0.0) for r in runs])
    # The GPU roll-up runs inside ingest; it is transform work, so it counts here.
    work = [r["timings"]["transform"] + r["timings"].get("telemetry_rollup", 0.0)
            for r in runs]  # fmt: skip
    row["transform_all_s"] = med(work)
    row["transform_vs_duckdb"] = row["transform_all_s"] / row["duckdb_s"]
    return row


def _line(row: dict) -> str:
    stages = "  ".join(
        f"{s} {row[f'{s}_s']:.1f} s/{row[f'{s}_mb']:.0f} MB" for s in STAGES
    )
    return (
        f"{row['size']} {row['format']}: total {row['total_s']:.1f} s, peak "
        f"{row['peak_mb']:.0f} MB | {stages} | in ingest: telemetry checks "
        f"{row['telemetry_checks_s']:.1f} s ({row['telemetry_checks_cpu_s']:.1f} s "
        f"CPU), roll-up {row['telemetry_rollup_s']:.1f} s "
        f"({row['telemetry_rollup_cpu_s']:.1f} s CPU)"
        f" | duckdb {row['duckdb_s']:.1f} s (transform with roll-up "
        f"{row['transform_all_s']:.1f} s, x{row['transform_vs_duckdb']:.1f})"
    )


if __name__ == "__main__":
    raise SystemExit(main())
