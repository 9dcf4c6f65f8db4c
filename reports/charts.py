"""The report's charts as SVG text, drawn with matplotlib's Agg-free SVG backend.

Deterministic output: the same data gives the same bytes (a fixed `svg.hashsalt`, no
date in the metadata), so re-runs of a month do not change the report for nothing.
Text is drawn as paths (`svg.fonttype = "path"`), so a team name in a chart is
shapes, never markup, and the PDF needs no fonts for it. Every chart is vector: the heat
map uses pcolormesh and its colour bar is kept unrasterized, so the SVG embeds no image
and the renderer has nothing to fetch.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

WIDTH_INCHES = 6.8  # the A4 text width of print.css, so 1 chart point = 1 page point
BAR_COLOR = "#2f5d8a"
NEGATIVE_COLOR = "#b5523b"
STYLE: dict[Any, Any] = {
    "svg.hashsalt": "finops-report",
    "svg.fonttype": "path",
    "font.size": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def category_chart(rows: Sequence[dict[str, Any]], currency: str) -> str:
    """Horizontal bars, one per category, credits (negative) in another colour."""
    names = [r["name"] for r in rows]
    amounts = [float(r["amount"]) for r in rows]
    return _bars(names, amounts, currency)


def team_chart(rows: Sequence[dict[str, Any]], currency: str) -> str:
    """Horizontal bars, one per row of the team table (largest at the top)."""
    return _bars(
        [r["name"] for r in rows], [float(r["amount"]) for r in rows], currency
    )


def daily_chart(daily: Sequence[tuple[str, float]], currency: str) -> str:
    if not daily:
        return ""
    days = [d[-2:] for d, _ in daily]
    amounts = [float(a) for _, a in daily]
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(WIDTH_INCHES, 2.2))
        ax = fig.add_subplot()
        ax.bar(range(len(days)), amounts, color=BAR_COLOR, width=0.8)
        ax.set_xticks(range(len(days)), days)
        ax.tick_params(axis="x", labelsize=6)
        ax.set_xlabel("day of month")
        ax.yaxis.set_major_formatter(_money_ticks())
        ax.set_ylabel(currency)
        fig.tight_layout()
        return _svg(fig)


def heatmap_chart(cells: Sequence[dict[str, Any]]) -> str:
    """GPU utilization per host (rows) and day (columns); grey where unknown."""
    if not cells:
        return ""
    hosts = sorted({c["host"] for c in cells})
    dates = sorted({c["date"] for c in cells})
    grid = _grid(cells, hosts, dates)
    height = min(1.0 + 0.22 * len(hosts), 9.0)
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(WIDTH_INCHES, height))
        ax = fig.add_subplot()
        cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#d9d9d9")
        mesh = ax.pcolormesh(np.ma.masked_invalid(grid), cmap=cmap, vmin=0, vmax=1)
        ax.set_yticks(np.arange(len(hosts)) + 0.5, hosts)
        ax.set_xticks(np.arange(len(dates)) + 0.5, [d[-2:] for d in dates])
        ax.tick_params(axis="both", labelsize=6, length=0)
        ax.invert_yaxis()
        ax.set_xlabel("day of month")
        bar = fig.colorbar(mesh, ax=ax, format=PercentFormatter(1.0), pad=0.02)
        if bar.solids is not None:
            bar.solids.set_rasterized(False)
        fig.tight_layout()
        return _svg(fig)


def _grid(
    cells: Sequence[dict[str, Any]], hosts: list[str], dates: list[str]
) -> np.ndarray:
    grid = np.full((len(hosts), len(dates)), np.nan)
    row = {h: i for i, h in enumerate(hosts)}
    col = {d: j for j, d in enumerate(dates)}
    for cell in cells:
        value = cell.get("utilization")
        if value is not None:
            grid[row[cell["host"]], col[cell["date"]]] = float(value)
    return grid


def _bars(names: list[str], amounts: list[float], currency: str) -> str:
    if not any(amounts):  # nothing to compare: the table says it all
        return ""
    height = min(0.6 + 0.24 * len(names), 6.0)
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(WIDTH_INCHES, height))
        ax = fig.add_subplot()
        colors = [NEGATIVE_COLOR if a < 0 else BAR_COLOR for a in amounts]
        ax.barh(range(len(names)), amounts, color=colors, height=0.7)
        ax.set_yticks(range(len(names)), [_short(n) for n in names])
        ax.invert_yaxis()
        ax.axvline(0, color="#444444", linewidth=0.6)
        ax.xaxis.set_major_formatter(_money_ticks())
        ax.set_xlabel(currency)
        fig.tight_layout()
        return _svg(fig)


def _short(name: str, limit: int = 28) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _money_ticks() -> FuncFormatter:
    """Whole units on most axes; cents when the whole axis spans less than 10."""

    def label(value: float, _pos: int) -> str:
        axis_span = abs(value)
        return f"{value:,.2f}" if 0 < axis_span < 10 else f"{value:,.0f}"

    return FuncFormatter(label)


def _svg(fig: Figure) -> str:
    """The figure as an inline <svg> element: no XML declaration, no doctype."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    start = text.index("<svg")
    return re.sub(r"\s+$", "", text[start:])
