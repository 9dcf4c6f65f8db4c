"""The month and team reports: their data, their HTML, and the PDF text read back."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from reports import charts
from reports.context import build_context, complete_summary, team_table
from reports.formatting import hours, kpi_change, money, percent
from reports.render import (
    TEMPLATES,
    TemplateFolderFetcher,
    render_month_html,
    render_month_page,
    render_month_pdf,
    render_team_pdf,
    slugify,
    write_pdf,
)
from reports.team import team_view
from tests.report_fixtures import CATEGORIES, make_extras, make_summary

HOSTILE = '<img src="file:///etc/passwd">'


def context(**summary_args):
    summary = make_summary(**summary_args)
    return build_context(summary, **make_extras(summary))


def pdf_text(path: Path) -> tuple[int, str]:
    reader = PdfReader(path)
    return len(reader.pages), "\n".join(p.extract_text() for p in reader.pages)


def squeeze(text: str) -> str:
    """Text without whitespace, so a value wrapped over two lines still matches."""
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def month_pdf(tmp_path_factory) -> tuple[int, str]:
    path = tmp_path_factory.mktemp("report") / "report.pdf"
    render_month_pdf(context(), path)
    return pdf_text(path)


# --- formatting -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1234567.891, "1,234,567.89 USD"),  # thousands and two decimals
        (-2500, "-2,500.00 USD"),  # credits stay negative
        (0.005, "0.00 USD"),  # half-even on the decimal form
        (-0.001, "0.00 USD"),  # no "-0.00"
        (None, "n/a"),  # undefined is never shown as zero
    ],
)
def test_money_reads_with_separators_two_decimals_and_currency(value, expected):
    assert money(value, "USD") == expected


def test_hours_have_one_decimal_and_shares_read_as_percent():
    assert hours(7488.04) == "7,488.0"
    assert percent(0.6123) == "61.2 %"
    assert kpi_change(0.024, "gpu_utilization") == "+2.4 pp"


# --- the context ----------------------------------------------------------------


def test_context_fills_every_key_the_templates_read():
    full = complete_summary({"month": "2026-10", "totals": {"total_cost": 5.0}})

    assert full["totals"]["total_cost"] == 5.0
    assert full["totals"]["billed_cost"] == 0.0
    assert full["by_category"]["energy"] == 0.0
    assert full["data_quality"]["rows_rejected"] == 0


def test_change_from_last_month_is_total_minus_previous_total():
    ctx = context()
    expected = round(sum(CATEGORIES.values()) - 301_254.90, 2)

    assert ctx.change == pytest.approx(expected, abs=0.001)
    assert ctx.change == pytest.approx(19_010.70, abs=0.001)


def test_page_one_shows_the_five_categories_then_tax_credits_other():
    ctx = context()

    assert [r["name"] for r in ctx.main_categories] == [
        "hardware", "software", "people", "energy", "maintenance",
    ]  # fmt: skip
    assert [r["name"] for r in ctx.side_categories] == ["tax", "credits", "other"]


def test_top_recommendations_are_the_three_first_ranks_with_a_saving():
    ranks = [r["rank"] for r in context().top_recommendations]
    assert ranks == [1, 2, 3]


def test_long_team_tail_is_summed_into_other_teams_and_the_total_holds():
    by_team = {f"team-{i:02d}": 100.0 + i for i in range(20)}
    by_team.update({"unallocated": 7.5, "idle": 12.25, "people_pooled": 3.0})
    total = round(sum(by_team.values()), 2)

    rows = team_table(by_team, total, limit=12)

    names = [r["name"] for r in rows]
    assert names[-1] == "other teams (8)"
    assert {"unallocated", "idle", "people_pooled"} <= set(names)
    # the eight smallest teams are team-00 .. team-07: 8 x 100 + (0 + ... + 7)
    assert rows[-1]["amount"] == 828.0
    assert round(sum(r["amount"] for r in rows), 2) == total
    shown = [r["amount"] for r in rows[:-1]]
    assert shown == sorted(shown, reverse=True)


def test_team_view_holds_its_amount_budget_people_and_recommendations():
    view = team_view(context(), "research")
    summary = make_summary()

    assert view.amount == summary["by_team"]["research"]
    assert round(sum(view.by_category.values()), 2) == view.amount
    assert view.budget == 120_000.0
    assert view.budget_left == round(120_000.0 - view.amount, 2)
    assert view.people is not None
    assert [r["rank"] for r in view.recommendations] == [2]  # "research: gpu-a1..."
    assert [j["job"] for j in view.jobs] == ["llama-ft-7b"]


def test_a_team_name_must_stand_as_a_word_in_a_recommendation_target():
    ctx = context()
    ctx.summary["recommendations"][0]["target"] = "database replicas"

    assert team_view(ctx, "data").recommendations == []


# --- HTML -----------------------------------------------------------------------


def test_html_escapes_a_hostile_team_name():
    summary = make_summary(extra_teams={HOSTILE: 2})
    html = render_month_html(build_context(summary, **make_extras(summary)))

    assert HOSTILE not in html
    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in html


def test_html_cuts_team_list_and_keeps_page_one_order():
    teams = {f"t{i}": 1.0 for i in range(15)}
    summary = make_summary(extra_teams=teams)
    html = render_month_html(build_context(summary, **make_extras(summary)))

    assert "other teams (" in html
    assert html.index("Total cost") < html.index("Top recommendations")
    assert html.index("Top recommendations") < html.index("Cost by team")


# --- charts ---------------------------------------------------------------------


def test_charts_are_deterministic_png_images_without_dates():
    ctx = context()
    first = charts.heatmap_chart(ctx.gpu_heatmap)
    second = charts.heatmap_chart(ctx.gpu_heatmap)

    assert first == second
    assert first.startswith(b"\x89PNG\r\n\x1a\n")
    assert b"Software" not in first and b"Date" not in first


def test_month_page_links_each_chart_it_carries_and_no_other():
    page = render_month_page(context())

    linked = set(re.findall(r'src="(chart:[^"]+)"', page.html))
    assert (
        linked
        == set(page.images)
        == {
            "chart:category.png",
            "chart:team.png",
            "chart:daily.png",
            "chart:heatmap.png",
        }
    )


# --- PDF ------------------------------------------------------------------------


def test_month_pdf_holds_the_key_figures_on_at_least_two_pages(month_pdf):
    pages, text = month_pdf
    total = money(sum(CATEGORIES.values()), "USD")

    assert pages >= 2
    assert "2026-10" in text
    assert total == "320,265.60 USD"
    assert total in text
    assert "PROVISIONAL" in text
    for name in ("Hardware", "Software", "People", "Energy", "Maintenance"):
        assert name in text
    assert f"Page 1 of {pages}" in text
    # the running header (title, month, status) is on every page
    assert text.count("2026-10 · PROVISIONAL") >= pages


def test_final_month_says_final(tmp_path):
    path = tmp_path / "final.pdf"
    render_team_pdf(context(provisional=False), "inference", path)

    _, text = pdf_text(path)
    assert "FINAL" in text
    assert "PROVISIONAL" not in text


def test_team_pdf_holds_the_team_amount_and_budget(tmp_path):
    path = tmp_path / "teams" / f"{slugify('research')}.pdf"
    render_team_pdf(context(), "research", path)

    _, text = pdf_text(path)
    amount = make_summary()["by_team"]["research"]
    assert money(amount, "USD") in text
    assert "120,000.00 USD" in text
    assert "llama-ft-7b" in text


def test_hostile_value_prints_as_text_and_fetches_nothing(tmp_path):
    summary = make_summary(extra_teams={HOSTILE: 30})
    extras = make_extras(summary)
    extras["hosts"][0]["host"] = '<link rel="stylesheet" href="file:///etc/passwd">'
    ctx = build_context(summary, **extras)
    page = render_month_page(ctx)
    fetcher = TemplateFolderFetcher(images=page.images)

    write_pdf(page.html, tmp_path / "r.pdf", fetcher)

    _, text = pdf_text(tmp_path / "r.pdf")
    assert squeeze(HOSTILE) in squeeze(text)
    assert not any("passwd" in url for url in fetcher.requested)
    css = (TEMPLATES / "print.css").as_uri()
    assert sorted(fetcher.requested) == sorted([css, *page.images])
    assert fetcher.refused == []


# --- the URL fetcher ------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",  # outside the folder
        (TEMPLATES / ".." / ".." / "etc" / "passwd").as_uri(),  # a .. escape
        (TEMPLATES / "%2e%2e" / "pyproject.toml").as_uri(),  # an encoded escape
        "http://127.0.0.1:9/print.css",  # the network
        "data:text/css,body{}",  # inline data
        "file://otherhost" + str(TEMPLATES / "print.css"),  # a remote file host
    ],
)
def test_fetcher_refuses_everything_outside_templates(url):
    fetcher = TemplateFolderFetcher()

    with pytest.raises(ValueError, match=r"refused|disallowed"):
        fetcher.fetch(url)


def test_fetcher_refuses_a_chart_it_was_not_given():
    fetcher = TemplateFolderFetcher(images={"chart:team.png": b"\x89PNG"})

    assert fetcher.fetch("chart:team.png").content_type == "image/png"
    with pytest.raises(ValueError, match="refused"):
        fetcher.fetch("chart:heatmap.png")


def test_fetcher_serves_the_print_css():
    response = TemplateFolderFetcher().fetch((TEMPLATES / "print.css").as_uri())

    assert b"@page" in response.read()
    assert response.content_type == "text/css"


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("research", "research"),
        ("Research / ML", "research-ml"),  # spaces and slashes
        ("../../etc", "etc"),  # no way out of teams/
        ("Équipe Données", "equipe-donnees"),  # accents folded
        ("???", "team"),  # nothing left: a fallback name
    ],
)
def test_slugify_makes_safe_file_names(name, slug):
    assert slugify(name) == slug


def test_a_month_with_only_its_totals_still_renders_and_says_what_is_missing():
    ctx = build_context(
        {"month": "2026-11", "currency": "EUR", "totals": {"total_cost": 0}}
    )

    html = render_month_html(ctx)

    assert "No recommendation this month." in html
    assert "No GPU telemetry this month." in html
    assert "no cost-benefit comparison" in html
    assert charts.category_chart(ctx.main_categories, "EUR") == b""


def test_a_team_without_people_rows_shows_no_people_amount():
    ctx = context()
    ctx.team_rows = [r for r in ctx.team_rows if r["category"] != "people"]

    view = team_view(ctx, "speech")

    assert view.people is None
    assert view.budget is None and view.budget_left is None


def test_nested_evidence_reads_as_words_not_python():
    from reports.formatting import plain

    assert (
        plain({"2024-09-24": {"cost": 3.0, "z": 3.59}}) == "2024-09-24 cost 3; z 3.59"
    )
    assert plain(["a", 1.5]) == "a, 1.5"
