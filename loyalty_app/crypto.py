"""Encryption of Shopify access tokens at rest (Fernet: AES-128-CBC with HMAC-SHA256)."""
from __future__ import annotations

from cryptography.fernet import Fernet


class TokenBox:
    """Seals and opens secrets with the key from ``TOKEN_ENCRYPTION_KEY``."""

    def __init__(self, key: str) -> None:
        self._fernet = Fernet(key.encode())

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        return self._fernet.decrypt(sealed.encode()).decode()
