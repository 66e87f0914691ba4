"""The webhook signature schemes the platforms use, each with a verifier
(constant-time comparison, 5-minute tolerance where the scheme carries a
timestamp) and a signer for tests and the sandbox.

Verifiers raise :class:`SignatureInvalid` or :class:`TimestampStale` and
return nothing; they never look inside the body beyond what the scheme
signs.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from adapters.errors import SignatureInvalid, TimestampStale

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
