"""Billing from S3: the real CUR delivery in a SeaweedFS bucket on loopback."""

from __future__ import annotations

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
