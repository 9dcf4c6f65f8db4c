"""Month arithmetic and the earlier months' summaries in an output folder."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from pathlib import Path

from ingest.config import Config
from reports.outputs import read_json
from transforms.errors import ConfigError

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def check(month: str) -> str:
    if not _MONTH.match(month or ""):
        raise ConfigError(f"month must look like 2026-10 (YYYY-MM); found {month!r}")
    return month


def shift(month: str, by: int) -> str:
    year, mon = (int(p) for p in check(month).split("-"))
    index = year * 12 + (mon - 1) + by
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def previous(month: str) -> str:
    return shift(month, -1)


def previous_month_utc(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return shift(f"{now:%Y-%m}", -1)


def month_range(first: str, last: str) -> list[str]:
    if check(first) > check(last):
        raise ConfigError(f"--from {first} is after --to {last}")
    out = [first]
    while out[-1] != last:
        out.append(shift(out[-1], 1))
    return out


def read_summary(out: Path, month: str) -> dict | None:
    return read_json(out / month / "summary.json")


def cost_history(out: Path, *, before: str) -> list[tuple[str, float]]:
    """(month, total cost) of every earlier month with a summary in `out`."""
    history = []
    for folder in sorted(out.glob("[0-9][0-9][0-9][0-9]-[0-9][0-9]")):
        if folder.name >= before:
            continue
        summary = read_json(folder / "summary.json")
        if summary and "totals" in summary:
            history.append((folder.name, float(summary["totals"]["total_cost"])))
    return history


def with_out(config: Config, out: str) -> Config:
    report = dataclasses.replace(config.report, out=str(Path(out).resolve()))
    return dataclasses.replace(config, report=report)
