"""The platform's Ed25519 signing key: signs export manifests (and, later, audit checkpoints).

The private key lives in `<data_dir>/signing_key.pem` (PKCS#8, mode 0600), created on first use; the public
key travels with what it signs, and its fingerprint (SHA-256 of the raw public key, hex) names it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

logger = logging.getLogger(__name__)


class SigningKeyError(Exception):
    """The key file exists but is not an Ed25519 private key."""


@dataclass(frozen=True, slots=True)
class SigningKey:
    private_key: Ed25519PrivateKey

    @property
    def public_bytes(self) -> bytes:
        return self.private_key.public_key().public_bytes(serialization.Encoding.Raw,
                                                           serialization.PublicFormat.Raw)

    @property
    def fingerprint(self) -> str:
        return public_key_fingerprint(self.public_bytes)

    def sign(self, data: bytes) -> bytes:
        return self.private_key.sign(data)


def public_key_fingerprint(public_bytes: bytes) -> str:
    return hashlib.sha256(public_bytes).hexdigest()


def verify_signature(public_bytes: bytes, signature: bytes, data: bytes) -> bool:
    """Whether `signature` over `data` was made by the Ed25519 key whose raw public key is `public_bytes`."""
    try:
        Ed25519PublicKey.from_public_bytes(public_bytes).verify(signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True


def load_or_create_signing_key(path: Path) -> SigningKey:
    """Read the key file, or create it exclusively with mode 0600 (concurrent starts agree on one key)."""
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption())
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as stream:
        stream.write(pem)
    try:
        os.link(temporary, path)
    except FileExistsError:
        return _read(path)
    finally:
        temporary.unlink()
    key = _read(path)
    logger.info("generated the platform's Ed25519 signing key in %s (fingerprint %s)", path, key.fingerprint)
    return key


def _read(path: Path) -> SigningKey:
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} holds a {type(loaded).__name__}, not an Ed25519 private key")
    return SigningKey(loaded)
