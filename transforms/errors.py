"""The project's errors: one base class, then one branch per stage.

Every message names where the problem is (file, row, column, key or account), what was
expected, what was found, and what to do next.
"""

from __future__ import annotations


class FinOpsError(Exception):
    """Base of every error this project raises on purpose."""

    exit_code = 2


class ConfigError(FinOpsError):
    """The configuration file is missing, unreadable or holds a wrong key or value."""


class IngestError(FinOpsError):
    """A source could not be read or does not match its data contract."""

    def __init__(
        self,
        message: str,
        *,
        file: str = "",
        row: int | None = None,
        column: str = "",
    ) -> None:
        self.file = file
        self.row = row
        self.column = column
        where = ", ".join(
            part
            for part in (
                file,
                f"row {row}" if row is not None else "",
                f"column {column!r}" if column else "",
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)


class DataValidationError(FinOpsError):
    """Validation found blocking problems; `findings` holds every one of them."""

    exit_code = 1

    def __init__(self, message: str, findings: list | None = None) -> None:
        self.findings = list(findings or [])
        super().__init__(message)


class CurrencyError(FinOpsError):
    """Amounts in a currency without a rate in `[fx]`."""

    exit_code = 1


class DeliveryError(FinOpsError):
    """The report was written but could not be delivered (email)."""
