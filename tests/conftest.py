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
