"""The one error the domain raises for input that breaks the adherence rules."""

from __future__ import annotations


class InvalidInput(ValueError):
    """Input that cannot be accepted; `field` says where it is (e.g. ``events[3].kind``)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def at(self, field: str) -> InvalidInput:
        """The same error located under `field` (outer location first)."""
        located = f"{field}.{self.field}" if self.field else field
        return InvalidInput(self.message, located)

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message
