"""A worker process for `reports.parallel`: `python -m reports.pdf_worker JOB`.

JOB is a pickle of (ReportContext, [(team, path), ...]) that the parent process wrote;
the worker renders those team PDFs one after another and exits 0, or exits non-zero
with the error on stderr, and the parent renders what is missing itself.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

from reports.render import render_team_pdf


def main(job: str) -> None:
    ctx, teams = pickle.loads(Path(job).read_bytes())
    for team, path in teams:
        render_team_pdf(ctx, team, Path(path))


if __name__ == "__main__":
    main(sys.argv[1])
