"""The webhook half of an adapter whose platform signs its deliveries the
Standard Webhooks way (ruangguru, pijarmahir): ``whsec_`` secrets that may
rotate, the ``webhook-id``/``webhook-timestamp``/``webhook-signature``
headers, one event a delivery. A platform's module still maps its own event
fields (``normalize_event``)."""

from __future__ import annotations

import datetime as dt

from webhooks.signatures import (
    sign_standard_webhook,
    standard_envelope,
    standard_headers,
    standard_webhook_secrets,
    verify_standard_webhooks,
)

from .base import Adapter, Envelope, WebhookRequest


class StandardWebhooksAdapter(Adapter):
    def webhook_secrets(self) -> list[str]:
        """``webhook_secret`` as a list: one secret, or several while keys rotate."""
        return standard_webhook_secrets(self.setting("webhook_secret"), self.name)

    def verify_webhook(self, request: WebhookRequest, now: dt.datetime) -> bytes:
        verify_standard_webhooks(self.webhook_secrets(), standard_headers(request), request.body, now)
        return request.body

    def parse_envelope(self, request: WebhookRequest, verified: bytes) -> Envelope:
        return standard_envelope(request, verified)

    def sign_webhook(self, body: bytes, now: dt.datetime, delivery_id: str | None = None) -> WebhookRequest:
        return sign_standard_webhook(self.webhook_secrets(), body, now, delivery_id)
