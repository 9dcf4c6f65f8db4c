"""HTML with Jinja2, PDF with WeasyPrint, and nothing fetched from outside templates/.

Templates are escaped everywhere (autoescape on for `.j2` and `.html`, and by default):
a team name or tag value is text, never markup, and nothing is inserted as is.

Charts are images the renderer serves itself: a page is its HTML plus the chart bytes
(`Page`), linked as `chart:NAME` URLs. An image keeps a chart's SVG nodes out of the
page's own styling and layout, which is where WeasyPrint spent most of its time.

The renderer's URL fetcher serves files inside the project's `templates/` folder (the
print CSS) and the page's own charts, and refuses every other URL: other files, `..`
escapes, http, data URLs, charts it was not given.
"""

from __future__ import annotations

import logging
import mimetypes
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import jinja2
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from reports import charts
from reports.context import ReportContext
from reports.formatting import FILTERS
from reports.team import team_view

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
CHART_SCHEME = "chart"


@dataclass(frozen=True)
class Page:
    """One report ready for WeasyPrint: its HTML and the chart images it links to.

    images: `chart:NAME.png` URL -> PNG bytes.
    """

    html: str
    images: dict[str, bytes] = field(default_factory=dict)


class TemplateFolderFetcher(URLFetcher):
    """Serves `file:` URLs inside one folder and the given chart images; refuses
    everything else.

    `requested` keeps every URL asked for and `refused` those turned down, so tests can
    prove that a hostile value in the data fetched nothing.
    """

    def __init__(
        self, folder: Path = TEMPLATES, images: Mapping[str, bytes] | None = None
    ) -> None:
        super().__init__(allowed_protocols=("file",))
        self.folder = folder.resolve()
        self.images = dict(images or {})
        self.requested: list[str] = []
        self.refused: list[str] = []

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        self.requested.append(url)
        if url in self.images:
            mime = mimetypes.guess_type(url)[0] or "application/octet-stream"
            return URLFetcherResponse(url, self.images[url], {"Content-Type": mime})
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


def render_month_page(ctx: ReportContext) -> Page:
    urls, images = _linked(_month_charts(ctx))
    html = environment().get_template("report.html.j2").render(ctx=ctx, charts=urls)
    return Page(html, images)


def render_team_page(ctx: ReportContext, team: str) -> Page:
    view = team_view(ctx, team)
    rows = [{"name": k, "amount": v} for k, v in view.by_category.items()]
    drawn = {"category.png": charts.category_chart(rows, ctx.currency)}
    urls, images = _linked(drawn)
    page = environment().get_template("team.html.j2")
    return Page(page.render(ctx=ctx, team=view, charts=urls), images)


def render_month_html(ctx: ReportContext) -> str:
    return render_month_page(ctx).html


def render_team_html(ctx: ReportContext, team: str) -> str:
    return render_team_page(ctx, team).html


def render_month_pdf(ctx: ReportContext, path: Path) -> None:
    _write_pdf(render_month_page(ctx), Path(path))
    log.info("wrote the %s report to %s", ctx.month, path)


def render_team_pdf(ctx: ReportContext, team: str, path: Path) -> None:
    _write_pdf(render_team_page(ctx, team), Path(path))
    log.info("wrote the %s report of one team to %s", ctx.month, path)


def write_pdf(html: str, path: Path, fetcher: TemplateFolderFetcher) -> None:
    """Render HTML to a PDF at `path`, resolving relative URLs in templates/."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = HTML(string=html, base_url=str(TEMPLATES) + "/", url_fetcher=fetcher)
    document.write_pdf(path)


def _write_pdf(page: Page, path: Path) -> None:
    write_pdf(page.html, path, TemplateFolderFetcher(images=page.images))


def _month_charts(ctx: ReportContext) -> dict[str, bytes]:
    rows = ctx.main_categories + ctx.side_categories
    return {
        "category.png": charts.category_chart(rows, ctx.currency),
        "team.png": charts.team_chart(ctx.team_table, ctx.currency),
        "daily.png": charts.daily_chart(ctx.daily_cost, ctx.currency),
        "heatmap.png": charts.heatmap_chart(ctx.gpu_heatmap),
    }


def _linked(drawn: Mapping[str, bytes]) -> tuple[dict[str, str], dict[str, bytes]]:
    """Template names -> `chart:` URLs ("" when not drawn), and URL -> bytes.

    "heatmap.png" is named `heatmap` in the templates.
    """
    urls: dict[str, str] = {}
    images: dict[str, bytes] = {}
    for name, data in drawn.items():
        key = name.rsplit(".", 1)[0]
        urls[key] = f"{CHART_SCHEME}:{name}" if data else ""
        if data:
            images[urls[key]] = data
    return urls, images


def slugify(name: str) -> str:
    """A safe file name for a team: "Research / ML" -> "research-ml"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug or "team"
