"""Caching of the extract tasks by input checksums, and which failures to retry.

Cache: an extract task's key is a SHA-256 over the month, the configuration that shapes
the read, the code of `ingest/`, and a fingerprint of every listed source object (local
file: path, size, modification time in ns; S3 object: key, size, ETag). The same key on
a re-run means the same bytes would be parsed the same way, so Prefect returns the
result persisted under `<out>/.cache/` instead of parsing again. Any changed, added or
removed file, a new setting or a code change gives a new key. Listing the sources is
cheap next to parsing them; reading every byte to hash it is what the run itself does.

Payroll is never cached: its result holds one row of pay per person, and a pickle of it
beside the reports would outlive the run (DESIGN §4, People: privacy).

Retries: I/O tasks retry only failures that can heal (a dropped connection, a timeout,
an S3 5xx or throttling, an SMTP 4xx). A file that does not parse, a missing file or a
refused login fails at once instead of three times.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import smtplib
from pathlib import Path
from typing import Any

from prefect.cache_policies import CachePolicy

from ingest.config import Config
from ingest.storage import list_sources, s3_client, split_s3

CACHE_FOLDER = ".cache"
_INGEST = Path(__file__).resolve().parents[1] / "ingest"
_S3_TRANSIENT = {
    "InternalError",
    "ServiceUnavailable",
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestTimeout",
    "RequestTimeTooSkewed",
}
_PERMANENT_OS = (FileNotFoundError, PermissionError, IsADirectoryError)


@dataclasses.dataclass
class SourceFingerprint(CachePolicy):
    """Cache key of an extract task: month + settings + code + listed sources.

    `kind` names the `[sources]` list the task reads (billing or telemetry).
    """

    kind: str = "billing"

    def compute_key(
        self,
        task_ctx: Any,
        inputs: dict[str, Any],
        flow_parameters: dict[str, Any],
        **kwargs: Any,
    ) -> str | None:
        return source_key(inputs["config"], inputs["month"], self.kind)


def source_key(config: Config, month: str, kind: str) -> str:
    """The cache key of reading `[sources] <kind>` for `month` (hex SHA-256)."""
    entries = getattr(config.sources, kind)
    material = {
        "kind": kind,
        "month": month,
        "settings": _settings(config, kind),
        "code": code_version(),
        "objects": [
            stamp
            for entry in entries
            for stamp in fingerprint(entry, config.s3.endpoint_url)
        ],
    }
    text = json.dumps(material, sort_keys=True, default=str)
    return f"{kind}-{month}-{hashlib.sha256(text.encode()).hexdigest()}"


def fingerprint(entry: str, endpoint_url: str = "") -> list[list[Any]]:
    """(uri, size, mtime_ns or ETag) of every object under a configured entry."""
    if entry.startswith("s3://"):
        return _s3_stamps(entry, endpoint_url)
    stamps = []
    for obj in list_sources(entry, endpoint_url=endpoint_url):
        stat = os.stat(obj.uri)
        stamps.append([obj.uri, stat.st_size, stat.st_mtime_ns])
    return stamps


def _s3_stamps(entry: str, endpoint_url: str) -> list[list[Any]]:
    bucket, prefix = split_s3(entry)
    pages = (
        s3_client(endpoint_url)
        .get_paginator("list_objects_v2")
        .paginate(Bucket=bucket, Prefix=prefix)
    )
    stamps = [
        [f"s3://{bucket}/{item['Key']}", item["Size"], item.get("ETag", "")]
        for page in pages
        for item in page.get("Contents", [])
    ]
    return sorted(stamps)


def _settings(config: Config, kind: str) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "lookahead_months": config.sources.lookahead_months,
        "endpoint_url": config.s3.endpoint_url,
    }
    if kind == "billing":
        settings["team_tag"] = config.allocation.team_tag
    if kind == "telemetry":
        # Telemetry is checked and rolled up to GPU-hours as it is read: the roll-up
        # uses the inventory (owners, power caps) and the telemetry settings.
        settings["telemetry"] = dataclasses.asdict(config.telemetry)
        settings["inventory"] = [dataclasses.asdict(h) for h in config.inventory]
    return settings


def code_version() -> str:
    """A digest of `ingest/` and the GPU roll-up: editing either invalidates a cache."""
    digest = hashlib.sha256()
    rollup = sorted(_INGEST.parent.glob("transforms/gpu*.py"))
    for path in [*sorted(_INGEST.rglob("*.py")), *rollup]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cache_folder(out: str | Path) -> Path:
    return Path(out) / CACHE_FOLDER


def is_transient(exc: BaseException | None) -> bool:
    """True when a failure (or the error it was raised from) may heal on retry."""
    seen = 0
    while exc is not None and seen < 10:
        if _transient_one(exc):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def _transient_one(exc: BaseException) -> bool:
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPException):
        # Disconnects and refused connections; a refused login or recipient is not.
        return isinstance(exc, smtplib.SMTPServerDisconnected)
    if isinstance(exc, _PERMANENT_OS):
        return False
    if isinstance(exc, OSError):
        return True
    return _botocore_transient(exc)


def _botocore_transient(exc: BaseException) -> bool:
    try:
        from botocore.exceptions import (
            ClientError,
            ReadTimeoutError,
        )
        from botocore.exceptions import (
            ConnectionError as BotoConnectionError,
        )
    except ImportError:  # boto3 is a dependency; this only guards odd installs
        return False
    if isinstance(exc, (BotoConnectionError, ReadTimeoutError)):
        return True
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error.get("Code") in _S3_TRANSIENT or status >= 500
    return False


def retry_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect `retry_condition_fn`: retry only failures that `is_transient`."""
    failure = state.data if isinstance(state.data, BaseException) else None
    if failure is None:
        try:
            state.result(raise_on_failure=True)
        except BaseException as exc:  # classified below, whatever it was
            failure = exc
    return is_transient(failure)


def cached(task: Any, config: Config) -> Any:
    """The task with its results persisted under `<out>/.cache/` (local pickles)."""
    folder = cache_folder(config.report.out)
    folder.mkdir(parents=True, exist_ok=True)
    # A Path is a local result storage that needs no saved block on the server.
    return task.with_options(result_storage=folder)
