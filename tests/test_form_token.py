"""Signed form tokens: valid, expired, forged, missing."""

from __future__ import annotations

import pytest

from service import form_token as tokens

KEY = b"k" * 32
NOW = 1_800_000_000.0


def test_valid_token_reports_its_age() -> None:
    token = tokens.issue(KEY, "story", NOW)
    check = tokens.check(KEY, token, "story", NOW + 42, max_age_s=3600)
    assert check.verdict == tokens.VALID
    assert check.age_s == pytest.approx(42, abs=1)
    assert check.nonce
    assert tokens.issue(KEY, "story", NOW) != token  # fresh nonce each time


@pytest.mark.parametrize(
    ("mutate", "verdict"),
    [
        (lambda t: None, tokens.MISSING),
        (lambda t: "", tokens.MISSING),
        (lambda t: "garbage", tokens.FORGED),
        (lambda t: t[:-2] + "AA", tokens.FORGED),
        (lambda t: str(int(t.split(".")[0]) - 100) + t[t.index(".") :], tokens.FORGED),
        (lambda t: t.replace(".", "..", 1), tokens.FORGED),
    ],
)
def test_bad_tokens(mutate: object, verdict: str) -> None:
    token = tokens.issue(KEY, "story", NOW)
    assert tokens.check(KEY, mutate(token), "story", NOW, 3600).verdict == verdict  # type: ignore[operator]


def test_token_is_bound_to_article_and_key() -> None:
    token = tokens.issue(KEY, "story", NOW)
    assert tokens.check(KEY, token, "other-story", NOW, 3600).verdict == tokens.FORGED
    assert tokens.check(b"x" * 32, token, "story", NOW, 3600).verdict == tokens.FORGED


def test_expired_and_future_tokens() -> None:
    token = tokens.issue(KEY, "story", NOW)
    assert tokens.check(KEY, token, "story", NOW + 3601, 3600).verdict == tokens.EXPIRED
    assert tokens.check(KEY, token, "story", NOW - 600, 3600).verdict == tokens.FORGED
