"""Which files of a configured billing entry to read for a month: CUR deliveries.

Only listing and manifests here (DESIGN §4, "What a month contains"):
- Legacy CUR: `<report>/<YYYYMMDD-YYYYMMDD>/<report>-Manifest.json` names the current
  assembly and its `reportKeys`; only those keys are read, older assemblies in the same
  period folder are left alone. The copy of the manifest inside the assembly folder is
  not a second delivery.
- CUR 2.0: `<export>/data/BILLING_PERIOD=YYYY-MM/` with manifests under
  `<export>/metadata/BILLING_PERIOD=YYYY-MM/`; a manifest's `dataFiles` are read when it
  lists them, else every data file of the period folder.
- A delivery is read for month M when its billing period is M or one of the next
  `lookahead_months` (late rows of M arrive there). Other files are read as they are.
A report key resolves against the bucket root (S3) or the configured folder; when no
file is there, its leading folders are dropped one by one until one is.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from ingest.billing_common import add_month
from ingest.storage import SourceObject, exists, list_sources, read_bytes, split_s3
from transforms.errors import IngestError
from transforms.findings import Finding, Severity

log = logging.getLogger(__name__)

LEGACY_PERIOD = re.compile(r"^(\d{4})(\d{2})01-\d{8}$")
CUR2_PERIOD = re.compile(r"BILLING_PERIOD=(\d{4}-\d{2})")
DATA_SUFFIXES = (".csv", ".csv.gz", ".gz", ".parquet")


@dataclass(frozen=True)
class PlannedFile:
    """One file to read, with the billing period of its delivery ('' for none)."""

    uri: str
    period: str = ""
    manifest: str = ""


@dataclass
class Delivery:
    folder: str  # every object under it belongs to the delivery
    period: str  # 'YYYY-MM'
    manifest: str = ""
    keys: tuple[str, ...] = ()  # files the manifest names; () means all data files


def plan_entry(
    entry: str, month: str, lookahead_months: int, *, endpoint_url: str = ""
) -> tuple[list[PlannedFile], list[Finding]]:
    """The files of one configured entry to read for `month`, and what was skipped."""
    objects = list_sources(entry, endpoint_url=endpoint_url)
    if len(objects) == 1 and objects[0].uri.rstrip("/") == entry.rstrip("/"):
        return [PlannedFile(objects[0].uri)], []
    window = {add_month(month, n) for n in range(lookahead_months + 1)}
    deliveries = find_deliveries(objects, endpoint_url)
    planned: list[PlannedFile] = []
    findings: list[Finding] = []
    claimed = set()
    for delivery in deliveries:
        members = [o.uri for o in objects if _under(o.uri, delivery.folder)]
        claimed.update(members)
        if delivery.period in window:
            planned += _delivery_files(delivery, members, entry, objects, endpoint_url)
            findings += _stale(delivery, members, planned)
    for obj in objects:
        if obj.uri in claimed or obj.name.endswith("Manifest.json"):
            continue
        planned += _plain_file(obj, window, findings)
    return planned, findings


def find_deliveries(objects: list[SourceObject], endpoint_url: str) -> list[Delivery]:
    """One Delivery per legacy period folder or CUR 2.0 billing period."""
    found: dict[str, Delivery] = {}
    for obj in objects:
        delivery = _delivery_of(obj, endpoint_url)
        if delivery is None:
            continue
        if delivery.folder not in found or delivery.manifest.endswith(
            _period_manifest_suffix(delivery)
        ):
            found[delivery.folder] = delivery
    return sorted(found.values(), key=lambda d: (d.period, d.folder))


def _period_manifest_suffix(delivery: Delivery) -> str:
    return delivery.folder.rstrip("/") + "/" + delivery.manifest.rsplit("/", 1)[-1]


def _delivery_of(obj: SourceObject, endpoint_url: str) -> Delivery | None:
    path = PurePosixPath(obj.uri)
    cur2 = CUR2_PERIOD.search(obj.uri)
    if cur2 and "/metadata/" in obj.uri and obj.name.endswith("Manifest.json"):
        root = obj.uri.split("/metadata/")[0]
        manifest = _load_manifest(obj.uri, endpoint_url)
        keys = tuple(manifest.get("dataFiles") or ())
        return Delivery(f"{root}/data/BILLING_PERIOD={cur2[1]}", cur2[1], obj.uri, keys)
    if not obj.name.endswith("-Manifest.json"):
        return None
    for folder in (path.parent, path.parent.parent):
        period = LEGACY_PERIOD.match(folder.name)
        if period:
            manifest = _load_manifest(obj.uri, endpoint_url)
            keys = tuple(manifest.get("reportKeys") or ())
            bucket = manifest.get("bucket") or ""
            keys = tuple(_with_bucket(k, bucket) for k in keys)
            folder_uri = _as_uri(obj.uri, folder)
            return Delivery(folder_uri, f"{period[1]}-{period[2]}", obj.uri, keys)
    return None


def _as_uri(uri: str, folder: PurePosixPath) -> str:
    text = str(folder)
    return text.replace("s3:/", "s3://", 1) if uri.startswith("s3://") else text


def _with_bucket(key: str, bucket: str) -> str:
    return f"s3://{bucket}/{key.lstrip('/')}" if bucket else key


def _load_manifest(uri: str, endpoint_url: str) -> dict:
    try:
        data = json.loads(read_bytes(uri, endpoint_url=endpoint_url))
    except ValueError as exc:
        raise IngestError(
            f"the CUR manifest is not JSON ({exc}); re-deliver the report", file=uri
        ) from exc
    if not isinstance(data, dict):
        raise IngestError("the CUR manifest is not a JSON object", file=uri)
    return data


def _under(uri: str, folder: str) -> bool:
    return uri.startswith(folder.rstrip("/") + "/")


def _delivery_files(
    delivery: Delivery,
    members: list[str],
    entry: str,
    objects: list[SourceObject],
    endpoint_url: str,
) -> list[PlannedFile]:
    if not delivery.keys:
        data = [u for u in members if u.endswith(DATA_SUFFIXES)]
        return [PlannedFile(u, delivery.period, delivery.manifest) for u in data]
    known = {o.uri for o in objects}
    return [
        PlannedFile(
            resolve_key(key, entry, known, endpoint_url),
            delivery.period,
            delivery.manifest,
        )
        for key in delivery.keys
    ]


def resolve_key(key: str, entry: str, known: set[str], endpoint_url: str = "") -> str:
    """Where a manifest's report key is: bucket root, then the entry folder, dropping
    the key's leading folders one by one until a file is there."""
    candidates = []
    if key.startswith("s3://"):
        candidates.append(key)
        key = split_s3(key)[1]
    parts = key.lstrip("/").split("/")
    if entry.startswith("s3://"):
        candidates.append(f"s3://{split_s3(entry)[0]}/{'/'.join(parts)}")
    root = entry.rstrip("/")
    candidates += [f"{root}/{'/'.join(parts[i:])}" for i in range(len(parts))]
    for candidate in candidates:
        if candidate in known or exists(candidate, endpoint_url=endpoint_url):
            return candidate
    raise IngestError(
        f"the manifest names report key {key!r}, but no file was found for it "
        f"under {entry} (tried {len(candidates)} places); check the delivery",
        file=entry,
    )


def _stale(
    delivery: Delivery, members: list[str], planned: list[PlannedFile]
) -> list[Finding]:
    read = {p.uri for p in planned}
    left = [
        u
        for u in members
        if u.endswith(DATA_SUFFIXES) and u not in read and delivery.keys
    ]
    if not left:
        return []
    message = (
        f"{delivery.folder}: {len(left)} data file(s) of older assemblies were not "
        "read; the manifest names the current one"
    )
    return [
        Finding(
            Severity.INFO,
            "billing",
            "stale_assembly",
            message,
            file=delivery.manifest,
            count=len(left),
        )
    ]


def _plain_file(
    obj: SourceObject, window: set[str], findings: list[Finding]
) -> list[PlannedFile]:
    if not obj.name.lower().endswith(DATA_SUFFIXES):
        message = f"{obj.uri}: not a CSV or Parquet file name; skipped"
        findings.append(
            Finding(Severity.INFO, "billing", "skipped_file", message, file=obj.uri)
        )
        return []
    period = CUR2_PERIOD.search(obj.uri)
    if period and period[1] not in window:
        return []
    return [PlannedFile(obj.uri, period[1] if period else "")]
