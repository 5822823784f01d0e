"""Encryption of the registry's personal identifiers (个人身份信息加密存储).

Names, ID numbers, addresses and guardians' names and phones are stored as AES-256-GCM
ciphertext (``cryptography``): 12 random nonce bytes followed by the ciphertext and tag; the
column name is the associated data, so a value moved to another column does not decrypt.
ID numbers also get a keyed HMAC-SHA256 (``id_hmac``) for duplicate detection and lookup
without decrypting anything.

Keys: from ``SHIDIAN_DATA_KEY`` when set (any string of at least 32 characters; keep it apart
from the database backups), else derived from ``SHIDIAN_SECRET_KEY`` (the session key). Both
keys come from the one secret through HKDF-SHA256 with distinct ``info`` labels. Changing the
key makes stored identifiers unreadable: rotate by re-encrypting (not provided yet).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12


def _derive(secret: str, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"shidian-registry", info=label).derive(
        secret.encode("utf-8")
    )


@dataclass(frozen=True)
class DataKeys:
    """The encryption key and the HMAC key of the registry's identifiers."""

    aead_key: bytes
    hmac_key: bytes

    @classmethod
    def from_secret(cls, secret: str) -> DataKeys:
        if len(secret) < 32:
            raise ValueError("SHIDIAN_DATA_KEY / SHIDIAN_SECRET_KEY must have at least 32 characters")
        return cls(_derive(secret, b"registry aes-gcm v1"), _derive(secret, b"registry hmac v1"))

    @classmethod
    def from_env(cls, secret_key: str, environ: Mapping[str, str] | None = None) -> DataKeys:
        env = os.environ if environ is None else environ
        return cls.from_secret(env.get("SHIDIAN_DATA_KEY") or secret_key)

    def encrypt(self, text: str, column: str) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + AESGCM(self.aead_key).encrypt(nonce, text.encode("utf-8"), column.encode())

    def decrypt(self, blob: bytes, column: str) -> str:
        data = bytes(blob)
        return AESGCM(self.aead_key).decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], column.encode()).decode()

    def id_hmac(self, id_number: str) -> str:
        return hmac.new(self.hmac_key, id_number.encode("ascii"), hashlib.sha256).hexdigest()
