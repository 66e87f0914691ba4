"""One adapter per platform over a shared base (see adapters/base.py).

What more than one platform needs lives outside any one platform's module:
value and claim-file readers in adapters/fields.py, signature schemes and key
rotation in webhooks/signatures.py. A platform's module imports from those,
never from another platform's module.
"""

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
