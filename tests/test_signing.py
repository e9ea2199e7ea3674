"""The platform's Ed25519 key: created once with mode 0600, signs, and refuses other keys' signatures."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key

from clearsight.signing import SigningKeyError, load_or_create_signing_key, verify_signature


def test_key_is_created_once_private_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "signing_key.pem"
    first = load_or_create_signing_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_or_create_signing_key(path)
    assert again.public_bytes == first.public_bytes and len(first.fingerprint) == 64


def test_signatures_verify_only_for_the_same_key_and_data(tmp_path: Path) -> None:
    key = load_or_create_signing_key(tmp_path / "a.pem")
    other = load_or_create_signing_key(tmp_path / "b.pem")
    signature = key.sign(b"manifest")
    assert verify_signature(key.public_bytes, signature, b"manifest")
    assert not verify_signature(key.public_bytes, signature, b"manifesT")
    assert not verify_signature(other.public_bytes, signature, b"manifest")
    assert not verify_signature(b"short", signature, b"manifest")


def test_a_key_file_of_another_kind_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ec.pem"
    path.write_bytes(generate_private_key(SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with pytest.raises(SigningKeyError, match="not an Ed25519"):
        load_or_create_signing_key(path)
