"""HTML with Jinja2, PDF with WeasyPrint, and nothing fetched from outside templates/.

Templates are escaped everywhere (autoescape on for `.j2` and `.html`, and by default):
a team name or tag value is text, never markup. The only markup inserted as is comes
from `reports.charts` (SVG that matplotlib writes, with text drawn as paths).

The renderer's URL fetcher serves files inside the project's `templates/` folder (the
print CSS) and refuses every other URL: other files, `..` escapes, http, data URLs.
"""

from __future__ import annotations

import logging
import mimetypes
import re
import unicodedata
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import jinja2
from markupsafe import Markup
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from reports import charts
from reports.context import ReportContext
from reports.formatting import FILTERS
from reports.team import team_view

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


class TemplateFolderFetcher(URLFetcher):
    """Serves `file:` URLs inside one folder; refuses everything else.

    `requested` keeps every URL asked for and `refused` those turned down, so tests can
    prove that a hostile value in the data fetched nothing.
    """

    def __init__(self, folder: Path = TEMPLATES) -> None:
        super().__init__(allowed_protocols=("file",))
        self.folder = folder.resolve()
        self.requested: list[str] = []
        self.refused: list[str] = []

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        self.requested.append(url)
        path = self._inside(url)
        if path is None:
            self.refused.append(url)
            log.warning("refused to fetch %s: only files in %s", url, self.folder)
            raise ValueError(f"refused {url}: only files in {self.folder} are read")
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(
            path.as_uri(), path.read_bytes(), {"Content-Type": mime}
        )

    def _inside(self, url: str) -> Path | None:
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            return None
        path = Path(unquote(parts.path)).resolve()
        if not path.is_relative_to(self.folder) or not path.is_file():
            return None
        return path


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("j2", "html"), default_for_string=True, default=True
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    return env


def render_month_html(ctx: ReportContext) -> str:
    page = environment().get_template("report.html.j2")
    return page.render(ctx=ctx, charts=_month_charts(ctx))


def render_team_html(ctx: ReportContext, team: str) -> str:
    view = team_view(ctx, team)
    rows = [{"name": k, "amount": v} for k, v in view.by_category.items()]
    chart = Markup(charts.category_chart(rows, ctx.currency))
    page = environment().get_template("team.html.j2")
    return page.render(ctx=ctx, team=view, category_chart=chart)


def render_month_pdf(ctx: ReportContext, path: Path) -> None:
    _write_pdf(render_month_html(ctx), Path(path))
    log.info("wrote the %s report to %s", ctx.month, path)


def render_team_pdf(ctx: ReportContext, team: str, path: Path) -> None:
    _write_pdf(render_team_html(ctx, team), Path(path))
    log.info("wrote the %s report of one team to %s", ctx.month, path)


def write_pdf(html: str, path: Path, fetcher: TemplateFolderFetcher) -> None:
    """Render HTML to a PDF at `path`, resolving relative URLs in templates/."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = HTML(string=html, base_url=str(TEMPLATES) + "/", url_fetcher=fetcher)
    document.write_pdf(path)


def _write_pdf(html: str, path: Path) -> None:
    write_pdf(html, path, TemplateFolderFetcher())


def _month_charts(ctx: ReportContext) -> dict[str, Markup]:
    rows = ctx.main_categories + ctx.side_categories
    drawn = {
        "category": charts.category_chart(rows, ctx.currency),
        "team": charts.team_chart(ctx.team_table, ctx.currency),
        "daily": charts.daily_chart(ctx.daily_cost, ctx.currency),
        "heatmap": charts.heatmap_chart(ctx.gpu_heatmap),
    }
    # Markup: matplotlib's own SVG, whose text is drawn as paths (see reports.charts).
    return {name: Markup(svg) for name, svg in drawn.items()}


def slugify(name: str) -> str:
    """A safe file name for a team: "Research / ML" -> "research-ml"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug or "team"
