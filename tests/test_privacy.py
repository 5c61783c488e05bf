"""Sealing and keyed hashing of email addresses (redaction: tests/test_redaction.py)."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.exceptions import InvalidTag

from service.core.sealing import EmailVault

SECRET = "s" * 40


def test_seal_round_trip_and_not_plain() -> None:
    vault = EmailVault(SECRET)
    sealed = vault.seal("ann@example.com", "c1")
    assert "ann" not in sealed
    assert "example" not in sealed
    assert vault.open(sealed, "c1") == "ann@example.com"
    assert vault.seal("ann@example.com", "c1") != sealed  # fresh nonce every time


def test_seal_is_bound_to_comment_and_key() -> None:
    sealed = EmailVault(SECRET).seal("ann@example.com", "c1")
    with pytest.raises(InvalidTag):
        EmailVault(SECRET).open(sealed, "c2")
    with pytest.raises(InvalidTag):
        EmailVault("t" * 40).open(sealed, "c1")


def test_tampered_seal_does_not_open() -> None:
    vault = EmailVault(SECRET)
    raw = bytearray(vault.seal("ann@example.com", "c1").encode())
    raw[-5] = ord("A") if raw[-5] != ord("A") else ord("B")
    with pytest.raises((InvalidTag, ValueError)):
        vault.open(raw.decode(), "c1")


def test_email_hash_is_keyed_and_case_insensitive() -> None:
    vault = EmailVault(SECRET)
    digest = vault.email_hash("Ann@Example.com")
    assert digest == vault.email_hash("ann@example.com")
    assert digest != EmailVault("t" * 40).email_hash("ann@example.com")
    # Not a dictionary-reversible plain hash of the address.
    for plain in (hashlib.sha256, hashlib.md5, hashlib.sha1):
        assert digest != plain(b"ann@example.com").hexdigest()
