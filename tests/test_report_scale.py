"""A large month's report: long tables cut in the PDF, PDFs rendered side by side."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import pytest

from flows.publish import _write_hosts
from reports import parallel
from reports.context import (
    FINDING_LIMIT,
    HOST_LIMIT,
    RECOMMENDATION_LIMIT,
    build_context,
)
from reports.render import render_month_html
from tests.conftest import pdf_text
from tests.report_fixtures import make_extras, make_summary


def large_context(hosts: int = 60, recommendations: int = 30, findings: int = 40):
    summary = make_summary()
    extras = make_extras(summary)
    host = extras["hosts"][0]
    # costs rise with the number, so the costliest hosts are the last ones
    extras["hosts"] = [
        dict(host, host=f"node-{i:03d}", cost=1_000.0 + i) for i in range(hosts)
    ]
    extras["findings"] = [
        dict(extras["findings"][0], message=f"finding number {i}")
        for i in range(findings)
    ]
    rec = summary["recommendations"][0]
    summary["recommendations"] = [
        dict(rec, rank=i + 1, target=f"target-{i:03d}") for i in range(recommendations)
    ]
    return build_context(summary, **extras)


def test_past_the_limit_the_pdf_lists_the_costliest_hosts_and_counts_the_rest():
    ctx = large_context(hosts=HOST_LIMIT + 20)

    shown = [h["host"] for h in ctx.hosts_shown]

    assert len(shown) == HOST_LIMIT
    assert shown[0] == f"node-{HOST_LIMIT + 19:03d}"  # the costliest first
    assert "node-000" not in shown  # the cheapest is only in hosts.csv
    assert ctx.hosts_more == 20
    assert "20 more are in hosts.csv" in render_month_html(ctx)


def test_past_the_limit_recommendations_and_findings_are_counted_not_listed():
    ctx = large_context(recommendations=RECOMMENDATION_LIMIT + 7)
    html = render_month_html(ctx)

    assert [r["rank"] for r in ctx.recommendations_shown] == list(
        range(1, RECOMMENDATION_LIMIT + 1)
    )
    assert "7 more recommendations, ranked lower, are in recommendations.csv" in html
    assert f"target-{RECOMMENDATION_LIMIT + 6:03d}" not in html
    more = 40 - FINDING_LIMIT
    assert f"{more} more findings are in run.json" in html
    assert f"finding number {FINDING_LIMIT}<" not in html


def test_a_small_month_shows_every_row_and_no_count_line():
    summary = make_summary()
    ctx = build_context(summary, **make_extras(summary))

    assert ctx.hosts_shown == ctx.hosts
    assert ctx.hosts_more == ctx.recommendations_more == ctx.findings_more == 0
    assert "more are in hosts.csv" not in render_month_html(ctx)


@pytest.mark.slow  # starts two Python processes that render PDFs
def test_worker_processes_write_the_month_and_every_team_pdf(tmp_path):
    ctx = large_context()
    teams = [(t, tmp_path / "teams" / f"{t}.pdf") for t in ("research", "inference")]

    parallel.render_pdfs(ctx, tmp_path / "report.pdf", teams, workers=2)

    text = pdf_text(tmp_path / "teams" / "research.pdf")
    assert "research" in text and "120,000.00 USD" in text
    assert (tmp_path / "report.pdf").stat().st_size > 0
    assert (tmp_path / "teams" / "inference.pdf").stat().st_size > 0


@pytest.mark.slow  # renders four PDFs in this process
def test_a_worker_that_fails_leaves_its_pdfs_to_this_process(
    tmp_path, monkeypatch, caplog
):
    monkeypatch.setattr(parallel, "WORKER_MODULE", "reports.no_such_worker")
    ctx = large_context()
    teams = [(t, tmp_path / f"{t}.pdf") for t in ("research", "inference", "data")]

    with caplog.at_level(logging.WARNING, logger="reports.parallel"):
        parallel.render_pdfs(ctx, tmp_path / "report.pdf", teams, workers=2)

    assert all(path.stat().st_size > 0 for _, path in teams)
    failed = [r for r in caplog.records if "worker failed" in r.getMessage()]
    assert len(failed) == 2  # one line per worker, naming the error
    assert "no_such_worker" in failed[0].getMessage()


class _Folder:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, rel: str) -> Path:
        return self.root / rel


def test_hosts_csv_holds_every_host_with_cents_and_the_currency(tmp_path):
    ctx = large_context(hosts=HOST_LIMIT + 5)
    ctx.hosts[0]["cost"] = 1_234.5678

    _write_hosts(_Folder(tmp_path), "2026-10", ctx.hosts, "USD")

    with (tmp_path / "hosts.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == HOST_LIMIT + 5
    assert rows[0]["host"] == "node-000" and rows[0]["cost"] == "1234.57"
    assert {r["currency"] for r in rows} == {"USD"}
    assert {r["month"] for r in rows} == {"2026-10"}
