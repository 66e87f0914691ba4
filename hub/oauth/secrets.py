"""Making and keeping the OAuth server's secrets.

Client secrets, authorization codes, access and refresh tokens are 256
random bits each (``secrets.token_urlsafe(32)``) behind a short prefix that
says what they are (``hubcs_``, ``hubat_``, ``hubrt_``), so a leaked one is
recognised by secret scanners and in logs. Only their SHA-256 is stored: with
that much entropy a digest cannot be reversed by trying values, so a slow
password hash would add nothing but latency to every API request, and a
plain digest (unlike a keyed one) keeps working if ``HUB_SECRET_KEY`` changes.

Sign-in codes are six digits, which could be tried exhaustively against a
plain digest: they are kept as an HMAC under a key derived from
``HUB_SECRET_KEY``, and live minutes with a few attempts.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from ..crypto import derive_key

CLIENT_SECRET_PREFIX = "hubcs_"  # noqa: S105 - a prefix, not a secret
ACCESS_TOKEN_PREFIX = "hubat_"  # noqa: S105
REFRESH_TOKEN_PREFIX = "hubrt_"  # noqa: S105


def new_secret(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def digest(value: str) -> str:
    """The stored form of a client secret, code or token: its SHA-256, in hex."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def same_digest(value: str, stored: str) -> bool:
    return hmac.compare_digest(digest(value), stored)


def new_sign_in_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


class SignInCodeHasher:
    """Keyed hash (HMAC-SHA256) of a sign-in code and the participant it was sent to."""

    def __init__(self, secret_key: str) -> None:
        self._key = derive_key(secret_key, "sign-in-code")

    def __call__(self, participant_id: int, code: str) -> str:
        return hmac.new(self._key, f"{participant_id}:{code}".encode(), hashlib.sha256).hexdigest()
