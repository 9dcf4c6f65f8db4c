"""Billing from S3 in a SeaweedFS bucket on loopback: the real CUR delivery, and a
large FOCUS file rolled up by day."""

from __future__ import annotations

import pandas as pd
import pytest

from ingest.billing import read_billing
from tests.s3_server import s3_server  # noqa: F401  (the fixture)


@pytest.mark.slow
@pytest.mark.real_data
def test_s3_delivery_gives_the_same_month_as_the_folder(real_data, s3_server):  # noqa: F811
    folder = real_data / "aws_cur_bucket"
    client = s3_server.client()
    client.create_bucket(Bucket="cur-bucket")
    assert s3_server.upload_folder(folder, "cur-bucket") == 3
    endpoint = s3_server.endpoint_url

    from_s3 = read_billing(["s3://cur-bucket/"], "2018-08", endpoint_url=endpoint)
    from_folder = read_billing([str(folder)], "2018-08")

    assert len(from_s3.frame) == len(from_folder.frame) == 776
    for column in ("BilledCost", "EffectiveCost"):
        assert round(from_s3.frame[column].sum(), 2) == round(
            from_folder.frame[column].sum(), 2
        )
    assert from_s3.out_of_period["rows"] == from_folder.out_of_period["rows"]
    assert [i.sha256 for i in from_s3.inputs] == [i.sha256 for i in from_folder.inputs]
    assert from_s3.inputs[0].uri.startswith("s3://cur-bucket/koku-local/")


@pytest.mark.slow
def test_unreachable_bucket_raises_an_ingest_error(s3_server):  # noqa: F811
    from transforms.errors import IngestError

    with pytest.raises(IngestError, match="cannot list objects"):
        read_billing(
            ["s3://no-such-bucket/"], "2018-08", endpoint_url=s3_server.endpoint_url
        )


@pytest.mark.slow
@pytest.mark.parametrize("name", ["bill.csv.gz", "bill.parquet"])
def test_a_large_bill_on_s3_is_rolled_up_like_the_same_file_on_disk(
    name,
    s3_server,  # noqa: F811
    tmp_path,
    monkeypatch,
):
    from ingest import billing_rollup
    from tests.test_billing_rollup import MONTH, hourly_lines, per_day, write

    folder = tmp_path / "bills"
    folder.mkdir()
    write(hourly_lines(), folder / name)
    bucket = f"large-{name.split('.')[-1]}"
    s3_server.client().create_bucket(Bucket=bucket)
    s3_server.upload_folder(folder, bucket)
    monkeypatch.setattr(billing_rollup, "ROLLUP_MIN_LINES", 1_000)

    from_s3 = read_billing(
        [f"s3://{bucket}/"], MONTH, endpoint_url=s3_server.endpoint_url
    )
    from_disk = read_billing([str(folder)], MONTH)

    assert from_s3.frame["x_LineCount"].gt(1).any()  # rolled up, not read by line
    assert len(from_s3.frame) == len(from_disk.frame)
    assert from_s3.lines == from_disk.lines == len(hourly_lines())
    pd.testing.assert_frame_equal(per_day(from_s3.frame), per_day(from_disk.frame))
    assert from_s3.inputs[0].uri == f"s3://{bucket}/{name}"
