"""The monthly flow reads a CUR delivery from S3 and gets the folder's summary."""

from __future__ import annotations

import json

import pytest

from flows.monthly import monthly_report
from tests.s3_server import s3_server  # noqa: F401  (the fixture)

pytestmark = pytest.mark.slow

RUN_SPECIFIC = ("changes_since_last_run",)


def summary_of(tmp_path, name: str, billing: str, endpoint: str = "") -> dict:
    config = tmp_path / f"{name}.toml"
    config.write_text(
        f"""
[report]
out = "{tmp_path / name}"
[sources]
billing = ["{billing}"]
[s3]
endpoint_url = "{endpoint}"
""",
        encoding="utf-8",
    )
    monthly_report(month="2018-08", config_path=str(config), send=False)
    summary = json.loads((tmp_path / name / "2018-08" / "summary.json").read_text())
    return {k: v for k, v in summary.items() if k not in RUN_SPECIFIC}


def test_the_real_cur_bucket_from_s3_gives_the_same_summary(
    prefect_server,
    real_data,
    s3_server,  # noqa: F811
    tmp_path,
):
    folder = real_data / "aws_cur_bucket"
    s3_server.upload_folder(folder, "cur-e2e")
    from_folder = summary_of(tmp_path, "folder", str(folder))
    from_s3 = summary_of(tmp_path, "s3", "s3://cur-e2e/", s3_server.endpoint_url)
    assert from_s3 == from_folder
    # August 2018 counts only its August rows; the rest are listed, not added.
    assert from_folder["out_of_period"]["rows"] > 0
    assert from_folder["totals"]["billed_cost"] > 0
