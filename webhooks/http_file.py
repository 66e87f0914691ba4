"""Saved deliveries (``.http`` files: request line, headers, blank line, body)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from adapters.base import WebhookRequest
from adapters.errors import MalformedDelivery


@dataclass(frozen=True)
class SavedDelivery:
    method: str
    path: str
    request: WebhookRequest


def parse_http_file(data: bytes, name: str = "") -> SavedDelivery:
    """Parse a raw HTTP/1.1 request. The body is taken as ``Content-Length``
    bytes after the blank line when the header is there, else everything after it."""
    for separator in (b"\r\n\r\n", b"\n\n"):
        head, found, body = data.partition(separator)
        if found:
            break
    else:
        raise MalformedDelivery(f"{name or 'request'}: no blank line between headers and body")
    lines = head.decode("latin-1").splitlines()
    if not lines or len(lines[0].split()) < 2:
        raise MalformedDelivery(f"{name or 'request'}: no request line")
    method, path = lines[0].split()[:2]
    headers: dict[str, str] = {}
    for line in lines[1:]:
        key, colon, value = line.partition(":")
        if not colon:
            raise MalformedDelivery(f"{name or 'request'}: header line without a colon: {line[:60]!r}")
        headers[key.strip()] = value.strip()
    length = next((v for k, v in headers.items() if k.lower() == "content-length"), None)
    if length is not None and length.isdigit() and int(length) <= len(body):
        body = body[: int(length)]
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    return SavedDelivery(method, path, WebhookRequest(headers=headers, body=body, content_type=content_type))


def read_http_file(path: Path) -> SavedDelivery:
    return parse_http_file(path.read_bytes(), path.name)
