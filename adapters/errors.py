"""Errors an adapter raises. Each carries a message fit to show the partner or
operator as is; the hub maps them to HTTP answers and CLI lines in one place."""

from __future__ import annotations


class AdapterError(ValueError):
    """Input from a platform that the adapter cannot use."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line is not None else self.message


class UnknownPlatform(AdapterError):
    """No adapter is registered under that name."""


class SignatureInvalid(AdapterError):
    """A webhook's signature is missing or does not verify (HTTP 401)."""


class TimestampStale(AdapterError):
    """A webhook's signing time is outside the 5-minute tolerance (HTTP 400)."""


class MalformedDelivery(AdapterError):
    """A verified webhook whose body does not have the platform's outer shape (HTTP 400)."""


class MalformedPayload(AdapterError):
    """A catalogue page or orders page that cannot be parsed."""


class SettlementRefused(AdapterError):
    """A settlement file refused whole: unparseable, a bad line, or control totals that disagree."""


class FetchError(AdapterError):
    """A platform's API could not be reached or kept failing after every retry."""
