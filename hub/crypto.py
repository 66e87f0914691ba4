"""Keys derived from ``HUB_SECRET_KEY``: encryption of stored partner secrets
and the keyed hash under which NIKs are kept.

Each purpose gets its own key through HKDF, so the NIK hash key, the
encryption key and the session key are independent even though the operator
manages a single secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SecretDecryptionError(RuntimeError):
    """A stored secret cannot be decrypted with the configured key."""


def derive_key(secret_key: str, purpose: str, length: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=b"prakerja-hub", info=purpose.encode()).derive(
        secret_key.encode()
    )


class SecretBox:
    """Authenticated encryption (Fernet: AES-128-CBC + HMAC-SHA256) of JSON values."""

    def __init__(self, secret_key: str) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(derive_key(secret_key, "platform-secrets")))

    def seal(self, value: Any) -> str:
        return self._fernet.encrypt(json.dumps(value, sort_keys=True).encode()).decode()

    def open(self, token: str) -> Any:
        try:
            return json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken as exc:
            raise SecretDecryptionError(
                "stored platform secrets cannot be decrypted: HUB_SECRET_KEY differs from the one they were stored with"
            ) from exc


class NikHasher:
    """Keyed hash (HMAC-SHA256) of a NIK: comparable, not reversible without the key."""

    def __init__(self, secret_key: str) -> None:
        self._key = derive_key(secret_key, "nik-hash")

    def __call__(self, nik: str) -> str:
        return hmac.new(self._key, nik.encode(), hashlib.sha256).hexdigest()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
