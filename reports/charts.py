"""The report's charts as PNG images at print resolution (200 dpi), drawn with Agg.

Raster, not vector: as SVG the GPU heat map holds one path per host and day (3,875
cells for 125 hosts) and every letter of every label is a path too; WeasyPrint spent
most of a large month's report drawing them. A PNG costs about the same for 5 hosts or
500. A chart's text is pixels, never markup; the tables beside each chart hold the same
names and numbers as text. The renderer embeds each chart as an image that it serves
itself (see `reports.render`).

Deterministic output: the same data gives the same bytes (no date or software name in
the metadata), so re-runs of a month do not change the report for nothing. Empty bytes
mean "no chart".
"""

from __future__ import annotations

import io
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
DPI = 200  # print resolution: sharp on paper, some 20-90 KB per chart
STYLE: dict[Any, Any] = {
    "font.size": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def category_chart(rows: Sequence[dict[str, Any]], currency: str) -> bytes:
    """Horizontal bars, one per category, credits (negative) in another colour."""
    names = [r["name"] for r in rows]
    amounts = [float(r["amount"]) for r in rows]
    return _bars(names, amounts, currency)


def team_chart(rows: Sequence[dict[str, Any]], currency: str) -> bytes:
    """Horizontal bars, one per row of the team table (largest at the top)."""
    return _bars(
        [r["name"] for r in rows], [float(r["amount"]) for r in rows], currency
    )


def daily_chart(daily: Sequence[tuple[str, float]], currency: str) -> bytes:
    if not daily:
        return b""
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
        return _png(fig)


HEATMAP_HOST_LABELS = 40  # past this many hosts, every second (third...) is named


def heatmap_chart(cells: Sequence[dict[str, Any]]) -> bytes:
    """GPU utilization per host (rows) and day (columns); grey where unknown."""
    if not cells:
        return b""
    hosts = sorted({c["host"] for c in cells})
    dates = sorted({c["date"] for c in cells})
    grid = _grid(cells, hosts, dates)
    height = min(1.0 + 0.22 * len(hosts), 9.0)
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(WIDTH_INCHES, height))
        ax = fig.add_subplot()
        cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#d9d9d9")
        mesh = ax.pcolormesh(np.ma.masked_invalid(grid), cmap=cmap, vmin=0, vmax=1)
        step = -(-len(hosts) // HEATMAP_HOST_LABELS)  # ceiling: labels stay legible
        ax.set_yticks(np.arange(0, len(hosts), step) + 0.5, hosts[::step])
        ax.set_xticks(np.arange(len(dates)) + 0.5, [d[-2:] for d in dates])
        ax.tick_params(axis="both", labelsize=6, length=0)
        ax.invert_yaxis()
        ax.set_xlabel("day of month")
        fig.colorbar(mesh, ax=ax, format=PercentFormatter(1.0), pad=0.02)
        fig.tight_layout()
        return _png(fig)


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


def _bars(names: list[str], amounts: list[float], currency: str) -> bytes:
    if not any(amounts):  # nothing to compare: the table says it all
        return b""
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
        return _png(fig)


def _short(name: str, limit: int = 28) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _money_ticks() -> FuncFormatter:
    """Whole units on most axes; cents when the whole axis spans less than 10."""

    def label(value: float, _pos: int) -> str:
        axis_span = abs(value)
        return f"{value:,.2f}" if 0 < axis_span < 10 else f"{value:,.0f}"

    return FuncFormatter(label)


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()
