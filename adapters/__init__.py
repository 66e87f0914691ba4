"""One adapter per platform over a shared base (see adapters/base.py)."""

from .base import Adapter, CataloguePage, Envelope, SettlementFile, WebhookRequest
from .errors import (
    AdapterError,
    FetchError,
    MalformedDelivery,
    MalformedPayload,
    SettlementRefused,
    SignatureInvalid,
    TimestampStale,
    UnknownPlatform,
)
from .registry import adapter_class, get_adapter, platform_names

__all__ = [
    "Adapter",
    "AdapterError",
    "CataloguePage",
    "Envelope",
    "FetchError",
    "MalformedDelivery",
    "MalformedPayload",
    "SettlementFile",
    "SettlementRefused",
    "SignatureInvalid",
    "TimestampStale",
    "UnknownPlatform",
    "WebhookRequest",
    "adapter_class",
    "get_adapter",
    "platform_names",
]
