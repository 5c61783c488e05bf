"""Signed form tokens: valid, expired, forged, missing."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest

from service.core import form_token as tokens
from service.core.signing import Signer

SIGNER = Signer("k" * 40)
NOW = 1_800_000_000.0
MAX_AGE = 3600


def flip(text: str, at: int) -> str:
    """`text` with the character at `at` changed to another one."""
    return text[:at] + ("B" if text[at] == "A" else "A") + text[at + 1 :]


def part(token: str, index: int, change: Callable[[str], str]) -> str:
    """The token (`v1.<kid>.<payload>.<mac>`) with one of its parts changed."""
    parts = token.split(".")
    parts[index] = change(parts[index])
    return ".".join(parts)


def backdated(payload: str) -> str:
    """The payload re-encoded with its issue time 100 s earlier (and the MAC left as it was)."""
    issued, expires, *rest = json.loads(base64.urlsafe_b64decode(payload + "=" * 4))
    raw = json.dumps([issued - 100, expires, *rest]).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_valid_token_reports_its_age() -> None:
    token = tokens.issue(SIGNER, "story", NOW, MAX_AGE)
    check = tokens.check(SIGNER, token, "story", NOW + 42)
    assert check.verdict == tokens.VALID
    assert check.age_s == pytest.approx(42, abs=1)
    assert check.nonce
    assert tokens.issue(SIGNER, "story", NOW, MAX_AGE) != token  # fresh nonce each time


@pytest.mark.parametrize(
    ("mutate", "verdict"),
    [
        (lambda t: None, tokens.MISSING),
        (lambda t: "", tokens.MISSING),
        (lambda t: "garbage", tokens.FORGED),
        (lambda t: part(t, 3, lambda mac: flip(mac, -1)), tokens.FORGED),  # the MAC
        (lambda t: part(t, 2, lambda payload: flip(payload, 0)), tokens.FORGED),  # the payload
        (lambda t: part(t, 2, backdated), tokens.FORGED),  # an earlier issue time
        (lambda t: part(t, 0, lambda version: "v2"), tokens.FORGED),  # another version
        (lambda t: part(t, 1, lambda kid: flip(kid, 0)), tokens.FORGED),  # an unknown key id
        (lambda t: t.rsplit(".", 1)[0], tokens.FORGED),  # the MAC dropped
        (lambda t: t.replace(".", "..", 1), tokens.FORGED),  # an extra, empty part
    ],
)
def test_bad_tokens(mutate: Callable[[str], str | None], verdict: str) -> None:
    token = tokens.issue(SIGNER, "story", NOW, MAX_AGE)
    assert tokens.check(SIGNER, mutate(token), "story", NOW).verdict == verdict


def test_token_is_bound_to_article_and_key() -> None:
    token = tokens.issue(SIGNER, "story", NOW, MAX_AGE)
    assert tokens.check(SIGNER, token, "other-story", NOW).verdict == tokens.FORGED
    assert tokens.check(Signer("x" * 40), token, "story", NOW).verdict == tokens.FORGED


def test_expired_and_future_tokens() -> None:
    token = tokens.issue(SIGNER, "story", NOW, MAX_AGE)
    assert tokens.check(SIGNER, token, "story", NOW + MAX_AGE + 1).verdict == tokens.EXPIRED
    assert tokens.check(SIGNER, token, "story", NOW - 600).verdict == tokens.FORGED
