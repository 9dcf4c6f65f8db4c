"""Findings: what validation and the readers noticed, blocking or not.

DESIGN §7 fixes the severity: a short blocking list stops the run; everything else is a
warning shown on the data-quality page and in the report. A finding never carries raw
rows, names or pay: only counts, row numbers, hashed ids and the values a check
expected.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    BLOCKING = "blocking"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    severity: Severity
    source: str  # "billing" | "telemetry" | "hr" | "cross-source" | "config"
    check: str  # short machine name, e.g. "required_column", "out_of_period"
    message: str  # one sentence for people: where, expected, found, what to do
    file: str = ""
    column: str = ""
    count: int = 0
    examples: list[int | str] = field(default_factory=list)  # row numbers or hashed ids

    def to_dict(self) -> dict:
        data = asdict(self)
        data["severity"] = str(self.severity)
        return data


def blocking(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == Severity.BLOCKING]


def warnings(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == Severity.WARNING]
