"""Shared test fixtures: where the real public exports live, and a tidy Prefect home."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = REPO.parent / "shared" / "data" / "real"

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The folder of real exports beside the checkout; skips when it is absent."""
    if not REAL_DATA.is_dir():
        pytest.skip(
            f"real exports not found at {REAL_DATA}: clone the project beside a "
            "`shared/data/real` folder to run the tests on real files"
        )
    return REAL_DATA


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory):
    """Prefect's own test harness, started once per session with a private home."""
    home = tmp_path_factory.mktemp("prefect-home")
    os.environ["PREFECT_HOME"] = str(home)
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def pdf_text(path: Path) -> str:
    """The text of a PDF, read back the way a person's viewer would see it."""
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)
