"""Where inputs live: local files and folders, or `s3://bucket/prefix` through boto3.

Only I/O here. `list_sources` expands a configured entry into objects; `read_bytes`
fetches one. S3 uses the standard credential chain and `[s3] endpoint_url` for
S3-compatible stores; every call has a timeout.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from transforms.errors import IngestError


@dataclass(frozen=True)
class SourceObject:
    uri: str  # a local path or s3://bucket/key
    size: int

    @property
    def name(self) -> str:
        return self.uri.rstrip("/").rsplit("/", 1)[-1]

    @property
    def is_s3(self) -> bool:
        return self.uri.startswith("s3://")


@dataclass
class InputRecord:
    """One input file as run.json lists it."""

    uri: str
    format: str
    sha256: str
    rows: int
    bytes: int

    def to_dict(self) -> dict:
        return dict(vars(self))


def split_s3(uri: str) -> tuple[str, str]:
    rest = uri[len("s3://") :]
    bucket, _, key = rest.partition("/")
    return bucket, key


@lru_cache(maxsize=8)
def s3_client(endpoint_url: str = ""):
    import boto3
    from botocore.config import Config as BotoConfig

    config = BotoConfig(
        connect_timeout=10,
        read_timeout=60,
        retries={"max_attempts": 3, "mode": "standard"},
        s3={"addressing_style": "path"},
    )
    return boto3.client("s3", endpoint_url=endpoint_url or None, config=config)


def list_sources(entry: str, *, endpoint_url: str = "") -> list[SourceObject]:
    """Every file under a configured entry, sorted by uri; hidden files are skipped."""
    if entry.startswith("s3://"):
        return _list_s3(entry, endpoint_url)
    path = Path(entry)
    if path.is_file():
        return [SourceObject(str(path), path.stat().st_size)]
    if path.is_dir():
        files = [
            p
            for p in sorted(path.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.parts)
        ]
        return [SourceObject(str(p), p.stat().st_size) for p in files]
    raise IngestError(
        "source not found; check [sources] in the configuration", file=entry
    )


def _list_s3(entry: str, endpoint_url: str) -> list[SourceObject]:
    bucket, prefix = split_s3(entry)
    client = s3_client(endpoint_url)
    objects = []
    try:
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                objects.append(
                    SourceObject(f"s3://{bucket}/{item['Key']}", item["Size"])
                )
    except Exception as exc:  # botocore raises many unrelated types
        raise IngestError(
            f"cannot list objects: {exc}; check the bucket, credentials and "
            "[s3] endpoint_url",
            file=entry,
        ) from exc
    return sorted(objects, key=lambda o: o.uri)


def read_bytes(uri: str, *, endpoint_url: str = "") -> bytes:
    if not uri.startswith("s3://"):
        try:
            return Path(uri).read_bytes()
        except OSError as exc:
            raise IngestError(f"cannot read: {exc.strerror}", file=uri) from exc
    bucket, key = split_s3(uri)
    try:
        body = s3_client(endpoint_url).get_object(Bucket=bucket, Key=key)["Body"]
        return body.read()
    except Exception as exc:  # botocore raises many unrelated types
        raise IngestError(f"cannot fetch from S3: {exc}", file=uri) from exc


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
