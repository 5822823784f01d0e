"""Encryption of the registry's personal identifiers (个人身份信息加密存储).

Names, ID numbers, addresses and guardians' names and phones are stored encrypted with an AEAD
cipher chosen by configuration: AES-256-GCM (HKDF-SHA256 key derivation) or SM4-GCM (国密 SM4
with HKDF-SM3 key derivation, for 信创 deployments), both from ``cryptography``. A value is
``A5 | cipher (1 byte: 1 AES-GCM, 2 SM4-GCM) | key version (2 bytes) | 12-byte nonce |
ciphertext and tag``; the column name is the associated data, so a value moved to another
column does not decrypt. A value written before key versions existed (no header: nonce first)
is AES-GCM under version 1. ID numbers also get a keyed HMAC-SHA256 (``id_hmac``) for duplicate
detection and lookup without decrypting anything.

Keys (``from_env``):

* ``SHIDIAN_DATA_KEY``: the current secret (at least 32 characters; keep it apart from the
  database backups), else the session secret ``SHIDIAN_SECRET_KEY``;
* ``SHIDIAN_DATA_CIPHER``: ``aes-gcm`` (default) or ``sm4-gcm``, the cipher of new values;
* ``SHIDIAN_DATA_KEY_VERSION``: the current key's version (default 1);
* ``SHIDIAN_DATA_KEYS_OLD``: earlier keys still readable, ``version:cipher:secret`` separated by
  spaces (e.g. ``1:aes-gcm:…``).

Rotation without downtime: configure the new key as current (a higher version, any cipher) and
the old one in ``SHIDIAN_DATA_KEYS_OLD``, restart: new values use the new key, old ones still
decrypt; then ``shidian registry reencrypt`` rewrites every value under the current key, after
which the old key may be removed. The lookup HMAC's key comes from the lowest version's secret
(version 1 by default), so keep that secret configured as long as the registry exists.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12
TAG_BYTES = 16
MAGIC = 0xA5
HEADER_BYTES = 4
CIPHERS = {"aes-gcm": 1, "sm4-gcm": 2}
_CIPHER_NAMES = {number: name for name, number in CIPHERS.items()}


def _derive(
    secret: str, label: bytes, algorithm: hashes.HashAlgorithm | None = None, length: int = 32
) -> bytes:
    return HKDF(
        algorithm=algorithm or hashes.SHA256(), length=length, salt=b"shidian-registry", info=label
    ).derive(secret.encode("utf-8"))


@dataclass(frozen=True)
class Key:
    """One data key: its version, cipher and key bytes (32 for AES-256, 16 for SM4)."""

    version: int
    cipher: str
    key: bytes

    @classmethod
    def derive(cls, secret: str, version: int = 1, cipher: str = "aes-gcm") -> Key:
        if len(secret) < 32:
            raise ValueError("SHIDIAN_DATA_KEY / SHIDIAN_SECRET_KEY must have at least 32 characters")
        if cipher not in CIPHERS:
            raise ValueError(f"SHIDIAN_DATA_CIPHER must be one of {', '.join(CIPHERS)}, not {cipher!r}")
        if not 1 <= version <= 65535:
            raise ValueError("a data key version is between 1 and 65535")
        if cipher == "sm4-gcm":  # 国密: SM4 key from an SM3-based HKDF
            return cls(
                version, cipher, _derive(secret, f"registry sm4-gcm v{version}".encode(), hashes.SM3(), 16)
            )
        return cls(version, cipher, _derive(secret, f"registry aes-gcm v{version}".encode()))

    def seal(self, nonce: bytes, data: bytes, aad: bytes) -> bytes:
        if self.cipher == "aes-gcm":
            return AESGCM(self.key).encrypt(nonce, data, aad)
        encryptor = Cipher(algorithms.SM4(self.key), modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(aad)
        body = encryptor.update(data) + encryptor.finalize()
        return body + encryptor.tag

    def open(self, nonce: bytes, sealed: bytes, aad: bytes) -> bytes:
        if self.cipher == "aes-gcm":
            return AESGCM(self.key).decrypt(nonce, sealed, aad)
        if len(sealed) < TAG_BYTES:
            raise InvalidTag()
        decryptor = Cipher(algorithms.SM4(self.key), modes.GCM(nonce, sealed[-TAG_BYTES:])).decryptor()
        decryptor.authenticate_additional_data(aad)
        return decryptor.update(sealed[:-TAG_BYTES]) + decryptor.finalize()


@dataclass(frozen=True)
class DataKeys:
    """The current data key, the older ones still readable, and the lookup HMAC's key."""

    current: Key
    hmac_key: bytes
    older: Mapping[int, Key] = field(default_factory=dict)

    @classmethod
    def from_secret(cls, secret: str, cipher: str = "aes-gcm", version: int = 1) -> DataKeys:
        key = Key.derive(secret, version, cipher)
        return cls(key, _derive(secret, b"registry hmac v1"))

    @classmethod
    def from_env(cls, secret_key: str, environ: Mapping[str, str] | None = None) -> DataKeys:
        env = os.environ if environ is None else environ
        try:
            version = int(env.get("SHIDIAN_DATA_KEY_VERSION", "1"))
            current = Key.derive(
                env.get("SHIDIAN_DATA_KEY") or secret_key, version, env.get("SHIDIAN_DATA_CIPHER", "aes-gcm")
            )
            secrets_by_version = {version: env.get("SHIDIAN_DATA_KEY") or secret_key}
            older: dict[int, Key] = {}
            for item in env.get("SHIDIAN_DATA_KEYS_OLD", "").split():
                old_version, old_cipher, old_secret = item.split(":", 2)
                older[int(old_version)] = Key.derive(old_secret, int(old_version), old_cipher)
                secrets_by_version[int(old_version)] = old_secret
        except ValueError as exc:
            raise ValueError(f"bad SHIDIAN_DATA_* setting: {exc}") from exc
        first = secrets_by_version[min(secrets_by_version)]
        return cls(current, _derive(first, b"registry hmac v1"), older)

    def _key(self, version: int) -> Key | None:
        return self.current if version == self.current.version else self.older.get(version)

    def encrypt(self, text: str, column: str) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        header = bytes([MAGIC, CIPHERS[self.current.cipher]]) + self.current.version.to_bytes(2, "big")
        return header + nonce + self.current.seal(nonce, text.encode("utf-8"), column.encode())

    def decrypt(self, blob: bytes, column: str) -> str:
        data = bytes(blob)
        if len(data) >= HEADER_BYTES + NONCE_BYTES + TAG_BYTES and data[0] == MAGIC:
            key = self._key(int.from_bytes(data[2:4], "big"))
            if key is not None and CIPHERS[key.cipher] == data[1]:
                body = data[HEADER_BYTES:]
                try:
                    return key.open(body[:NONCE_BYTES], body[NONCE_BYTES:], column.encode()).decode()
                except InvalidTag:
                    pass  # a value without a header whose nonce happens to start like one
        legacy = self._key(1)
        if legacy is None or legacy.cipher != "aes-gcm":
            raise InvalidTag()
        return legacy.open(data[:NONCE_BYTES], data[NONCE_BYTES:], column.encode()).decode()

    def is_current(self, blob: bytes) -> bool:
        """Whether a value is under the current key (``reencrypt`` skips it)."""
        data = bytes(blob)
        return (
            len(data) >= HEADER_BYTES
            and data[0] == MAGIC
            and data[1] == CIPHERS[self.current.cipher]
            and int.from_bytes(data[2:4], "big") == self.current.version
        )

    def id_hmac(self, id_number: str) -> str:
        return hmac.new(self.hmac_key, id_number.encode("ascii"), hashlib.sha256).hexdigest()
