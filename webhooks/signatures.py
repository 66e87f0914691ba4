"""The webhook signature schemes the platforms use, each with a verifier
(constant-time comparison, 5-minute tolerance where the scheme carries a
timestamp) and a signer for tests and the sandbox.

Verifiers raise :class:`SignatureInvalid` or :class:`TimestampStale` and
return nothing; they never look inside the body beyond what the scheme
signs. A connection may hold several webhook secrets while a key rotates:
:func:`webhook_secret_list` reads them and :func:`verify_with_any_secret`
accepts a delivery signed under any one.

Beside the schemes, what platforms sharing one need alike: the envelope of a
single-event delivery whose id is a header (Standard Webhooks) or a member of
the signed body, and the sandbox's way of writing that id before signing.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from secrets import token_hex
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from adapters.base import Envelope, WebhookRequest, expect_dict, iso_instant, load_json_object
from adapters.errors import AdapterError, MalformedDelivery, SignatureInvalid, TimestampStale
from adapters.fields import choice

TOLERANCE = dt.timedelta(minutes=5)


def check_tolerance(signed_at: dt.datetime, now: dt.datetime, tolerance: dt.timedelta = TOLERANCE) -> None:
    """Refuse a signing time more than ``tolerance`` before or after ``now``."""
    if abs(now - signed_at) > tolerance:
        raise TimestampStale(
            f"signed at {signed_at.isoformat()}, more than {int(tolerance.total_seconds() // 60)} minutes "
            f"from the hub's time {now.isoformat()}"
        )


def unix_timestamp(text: str | None, header: str) -> dt.datetime:
    if text is None or not text.strip():
        raise SignatureInvalid(f"missing {header} header")
    text = text.strip()
    if not text.isdigit() or len(text) > 12:
        raise SignatureInvalid(f"{header} is not a Unix time: {text[:40]!r}")
    return dt.datetime.fromtimestamp(int(text), dt.UTC)


def _equal(expected: bytes | str, given: bytes | str) -> bool:
    if isinstance(expected, str):
        expected = expected.encode()
    if isinstance(given, str):
        given = given.encode("utf-8", "replace")
    return hmac.compare_digest(expected, given)


# -- key rotation: several secrets at once --------------------------------


def webhook_secret_list(value: Any, platform: str) -> list[str]:
    """A connection's ``webhook_secret``: one secret, or a list of them while a key
    rotates (the current one first: it signs the sandbox's deliveries)."""
    given = [value] if isinstance(value, str) else value
    if not isinstance(given, list) or not given or not all(isinstance(s, str) and s for s in given):
        raise AdapterError(f"{platform}: webhook_secret must be a string or a non-empty list of strings")
    return list(given)


def verify_with_any_secret(secrets: Sequence[str], verify: Callable[[str], None]) -> None:
    """Accept a delivery that ``verify`` passes under any one of ``secrets``.

    Every secret is tried, each comparison in constant time, so timing does not
    tell which one matched. When none passes, a stale signing time found under a
    matching secret wins over a signature mismatch (the sender's clock, not its
    key, is at fault); otherwise the last mismatch is raised.
    """
    verified = False
    stale: TimestampStale | None = None
    invalid: SignatureInvalid | None = None
    for secret in secrets:
        try:
            verify(secret)
        except TimestampStale as exc:
            stale = exc
        except SignatureInvalid as exc:
            invalid = exc
        else:
            verified = True
    if not verified:
        raise stale or invalid or SignatureInvalid("signature does not match the body")


# -- deliveries that carry their id in the signed body (bukalapak, pintaria) --


def body_id_envelope(verified: bytes, key: str) -> Envelope:
    """A single-event delivery: the body is the event, its ``key`` the delivery id."""
    body = load_json_object(verified, "delivery body", MalformedDelivery)
    delivery_id = body.get(key)
    if not isinstance(delivery_id, str) or not delivery_id.strip():
        raise MalformedDelivery(f"delivery body has no {key!r} (its delivery id)")
    return Envelope(delivery_id=delivery_id, events=[body])


def with_body_id(body: bytes, key: str, delivery_id: str | None) -> bytes:
    """A body to sign whose ``key`` carries ``delivery_id``, for platforms whose
    delivery id lives in the signed body. Rewritten as compact JSON, as the
    platforms send it; unchanged when no id is given, the body already carries
    it, or it is not a JSON object."""
    if delivery_id is None:
        return body
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return body
    if not isinstance(document, dict) or document.get(key) == delivery_id:
        return body
    document[key] = delivery_id
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


# -- HMAC-SHA256 hex of the raw body (tokopedia, sekolahmu) ---------------


def hmac_sha256_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_hmac_sha256_hex(secret: str, body: bytes, signature: str | None, *, prefix: str = "") -> None:
    if not signature:
        raise SignatureInvalid("missing signature header")
    signature = signature.strip()
    if prefix:
        if not signature.startswith(prefix):
            raise SignatureInvalid(f"signature must start with {prefix!r}")
        signature = signature[len(prefix) :]
    if not _equal(hmac_sha256_hex(secret, body), signature.lower()):
        raise SignatureInvalid("signature does not match the body")


# -- Standard Webhooks (ruangguru, pijarmahir) ----------------------------


def _standard_key(secret: str) -> bytes:
    encoded = secret.removeprefix("whsec_")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("a Standard Webhooks secret is whsec_ followed by base64") from exc


def standard_webhooks_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_standard_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def standard_webhook_secrets(value: Any, platform: str) -> list[str]:
    """A connection's ``whsec_…`` secrets: one string, or a list while keys rotate
    (a delivery signed under any of them verifies)."""
    given = [value] if isinstance(value, str) else value
    if not isinstance(given, list | tuple) or not given or not all(isinstance(s, str) for s in given):
        raise AdapterError(f"{platform}: webhook_secret must be a string or a list of strings")
    for secret in given:
        try:
            _standard_key(secret)
        except ValueError:
            raise AdapterError(f"{platform}: a webhook_secret is not whsec_ followed by base64") from None
    return list(given)


def standard_headers(request: WebhookRequest) -> dict[str, str | None]:
    """The three headers :func:`verify_standard_webhooks` reads, from a delivery."""
    return {name: request.header(name) for name in ("webhook-id", "webhook-timestamp", "webhook-signature")}


def standard_envelope(request: WebhookRequest, verified: bytes) -> Envelope:
    """A single-event delivery: the id is the ``webhook-id`` header, the body the event."""
    delivery_id = (request.header("webhook-id") or "").strip()
    if not delivery_id:
        raise MalformedDelivery("missing webhook-id header")
    return Envelope(delivery_id=delivery_id, events=[load_json_object(verified, "delivery body", MalformedDelivery)])


def standard_event(
    raw_event: Any, envelope: Envelope, kinds: Mapping[str, str]
) -> tuple[str, dt.datetime, dict[str, Any]]:
    """The unified kind (``type`` looked up in ``kinds``), the time (``timestamp``)
    and the ``data`` object of an event in the Standard Webhooks payload shape.
    Its id is the delivery's ``webhook-id``, which must be there."""
    event = expect_dict(raw_event, "event", AdapterError)
    kind = choice(kinds, event.get("type"), "event type")
    occurred_at = iso_instant(event.get("timestamp"), "timestamp")
    data = expect_dict(event.get("data"), "data", AdapterError)
    if not envelope.delivery_id:
        raise AdapterError("the delivery has no webhook-id to identify its event")
    return kind, occurred_at, data


def sign_standard_webhook(
    secrets: Sequence[str], body: bytes, now: dt.datetime, delivery_id: str | None
) -> WebhookRequest:
    """A delivery as the platform sends it: one ``v1,`` entry per current secret."""
    msg_id = delivery_id or "msg_" + token_hex(13)
    timestamp = int(now.timestamp())
    signature = " ".join(standard_webhooks_signature(s, msg_id, timestamp, body) for s in secrets)
    headers = {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
        "Content-Length": str(len(body)),
    }
    return WebhookRequest(headers=headers, body=body, content_type="application/json")


def verify_standard_webhooks(
    secrets: Sequence[str], headers: Mapping[str, str | None], body: bytes, now: dt.datetime
) -> None:
    """``webhook-id``, ``webhook-timestamp``, ``webhook-signature`` (space-separated
    ``v1,<base64>``; any one valid entry under any one of ``secrets`` suffices)."""
    msg_id = headers.get("webhook-id")
    if not msg_id:
        raise SignatureInvalid("missing webhook-id header")
    signed_at = unix_timestamp(headers.get("webhook-timestamp"), "webhook-timestamp")
    given = (headers.get("webhook-signature") or "").split()
    if not given:
        raise SignatureInvalid("missing webhook-signature header")
    timestamp = int(signed_at.timestamp())
    expected = [standard_webhooks_signature(secret, msg_id, timestamp, body) for secret in secrets]
    # Compare every pair in constant time; never stop at the first mismatch.
    matched = False
    for entry in given:
        if not entry.startswith("v1,"):
            continue
        for candidate in expected:
            matched |= _equal(candidate, entry)
    if not matched:
        raise SignatureInvalid("no webhook-signature entry matches the body")
    check_tolerance(signed_at, now)


# -- t=<ts>,v1=<hex> over "<ts>.<body>" (bukalapak) -----------------------


def timestamped_signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_timestamped(secret: str, header: str | None, body: bytes, now: dt.datetime) -> None:
    if not header:
        raise SignatureInvalid("missing signature header")
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    stamps = parts.get("t") or []
    if len(stamps) != 1:
        raise SignatureInvalid("signature header must carry one t=<timestamp>")
    signed_at = unix_timestamp(stamps[0], "t")
    expected = timestamped_signature(secret, int(stamps[0]), body).split("v1=", 1)[1]
    matched = False
    for candidate in parts.get("v1") or []:
        matched |= _equal(expected, candidate.lower())
    if not matched:
        raise SignatureInvalid("signature does not match the body")
    check_tolerance(signed_at, now)


# -- base64 HMAC-SHA512 over "<ISO timestamp>\n<body>" (pintaria) ---------


def hmac_sha512_b64(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"\n" + body, hashlib.sha512).digest()
    return base64.b64encode(digest).decode()


def verify_hmac_sha512_b64(
    secret: str, timestamp: str | None, signature: str | None, body: bytes, now: dt.datetime
) -> None:
    if not timestamp:
        raise SignatureInvalid("missing timestamp header")
    if not signature:
        raise SignatureInvalid("missing signature header")
    if not _equal(hmac_sha512_b64(secret, timestamp, body), signature.strip()):
        raise SignatureInvalid("signature does not match the body")
    try:
        signed_at = dt.datetime.fromisoformat(timestamp.strip().replace("Z", "+00:00"))
    except ValueError:
        raise SignatureInvalid(f"timestamp header is not ISO 8601: {timestamp[:40]!r}") from None
    if signed_at.tzinfo is None:
        raise SignatureInvalid("timestamp header has no offset")
    check_tolerance(signed_at, now)


# -- RS256 compact JWS against a JWK set, chosen by kid (sisnaker) --------


def _b64url_decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise SignatureInvalid("JWS part is not base64url") from exc


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_int(value: Any, name: str) -> int:
    if not isinstance(value, str):
        raise ValueError(f"JWK member {name} must be a base64url string")
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


def rsa_public_key(jwk: Mapping[str, Any]) -> rsa.RSAPublicKey:
    if jwk.get("kty") != "RSA":
        raise ValueError("only RSA keys are supported")
    return rsa.RSAPublicNumbers(_b64url_int(jwk.get("e"), "e"), _b64url_int(jwk.get("n"), "n")).public_key()


def rsa_private_key(jwk: Mapping[str, Any]) -> rsa.RSAPrivateKey:
    public = rsa.RSAPublicNumbers(_b64url_int(jwk.get("e"), "e"), _b64url_int(jwk.get("n"), "n"))
    numbers = rsa.RSAPrivateNumbers(
        p=_b64url_int(jwk.get("p"), "p"),
        q=_b64url_int(jwk.get("q"), "q"),
        d=_b64url_int(jwk.get("d"), "d"),
        dmp1=_b64url_int(jwk.get("dp"), "dp"),
        dmq1=_b64url_int(jwk.get("dq"), "dq"),
        iqmp=_b64url_int(jwk.get("qi"), "qi"),
        public_numbers=public,
    )
    return numbers.private_key()


def verify_jws_rs256(token: bytes, jwks: Mapping[str, Any]) -> bytes:
    """Verify a compact JWS and return its payload bytes. Only RS256 is accepted
    (never ``none`` or an HMAC algorithm chosen by the sender)."""
    try:
        text = token.decode("ascii")
    except UnicodeDecodeError:
        raise SignatureInvalid("body is not a compact JWS") from None
    parts = text.split(".")
    if len(parts) != 3 or not all(parts):
        raise SignatureInvalid("body is not a compact JWS (header.payload.signature)")
    try:
        header = json.loads(_b64url_decode(parts[0]))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise SignatureInvalid("JWS header is not JSON") from None
    if not isinstance(header, dict) or header.get("alg") != "RS256":
        raise SignatureInvalid("JWS algorithm must be RS256")
    kid = header.get("kid")
    keys = [k for k in jwks.get("keys", []) if isinstance(k, dict) and k.get("kid") == kid]
    if not keys:
        raise SignatureInvalid(f"no key with kid {str(kid)[:60]!r} in the platform's key set")
    signature = _b64url_decode(parts[2])
    signed = f"{parts[0]}.{parts[1]}".encode()
    for jwk in keys:
        try:
            rsa_public_key(jwk).verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            continue
        return _b64url_decode(parts[1])
    raise SignatureInvalid("JWS signature does not verify")


def sign_jws_rs256(payload: bytes, private_jwk: Mapping[str, Any]) -> bytes:
    header = {"alg": "RS256", "kid": private_jwk.get("kid")}
    head = _b64url_encode(json.dumps(header, separators=(",", ":")).encode())
    body = _b64url_encode(payload)
    signature = rsa_private_key(private_jwk).sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{body}.{_b64url_encode(signature)}".encode()
