"""Writing a month's folder all at once, keeping the last good one, and a per-month
lock.

DESIGN §5: outputs go to a staging folder beside the month; when everything is written
the previous month folder moves to `history/<YYYY-MM>/<run id>/` and the new one takes
its place. A run that fails before `commit` leaves the last good output untouched.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from transforms.errors import FinOpsError


class RunLocked(FinOpsError):
    """Another run of the same month holds the lock."""

    exit_code = 3


class MonthFolder:
    """A staging folder for one run of one month."""

    def __init__(self, out_root: str | Path, month: str, run_id: str) -> None:
        self.root = Path(out_root)
        self.month = month
        self.run_id = run_id
        self.final = self.root / month
        self.staging = self.root / f".staging-{month}-{run_id}"

    def path(self, relative: str) -> Path:
        target = self.staging / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def write_json(self, relative: str, data: Any) -> Path:
        target = self.path(relative)
        text = json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False)
        target.write_text(text + "\n", encoding="utf-8")
        return target

    def write_text(self, relative: str, text: str) -> Path:
        target = self.path(relative)
        target.write_text(text, encoding="utf-8")
        return target

    def commit(self) -> Path:
        """Swap the staging folder in; the previous folder goes to history."""
        if self.final.exists():
            previous_id = previous_run_id(self.final) or "unknown"
            keep = self.root / "history" / self.month / previous_id
            if keep.exists():
                shutil.rmtree(keep)
            keep.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.final, keep)
        os.replace(self.staging, self.final)
        return self.final

    def abort(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


def previous_run_id(folder: Path) -> str | None:
    run = read_json(folder / "run.json")
    return str(run["run_id"]) if run and "run_id" in run else None


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def month_lock(out_root: str | Path, month: str) -> Iterator[None]:
    """Hold an exclusive lock on one month; a second run of it fails at once.

    The lock is an OS file lock, so a killed run releases it with its process.
    """
    root = Path(out_root)
    root.mkdir(parents=True, exist_ok=True)
    handle = open(root / f".lock-{month}", "w")  # noqa: SIM115 - held for the block
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise RunLocked(
                f"another run of {month} is in progress on {root} (lock file "
                f".lock-{month}); wait for it to finish, then run again"
            ) from exc
        yield
    finally:
        handle.close()


def clean_stale_staging(out_root: str | Path, month: str) -> None:
    """Remove staging folders that a killed run of this month left behind."""
    for stale in Path(out_root).glob(f".staging-{month}-*"):
        shutil.rmtree(stale, ignore_errors=True)
