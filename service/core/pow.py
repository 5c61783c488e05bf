"""Proof of work instead of a captcha: ALTCHA challenges (protocol v2), issued and checked.

The challenge comes with the form token. The widget solves it in the reader's browser while
they type: PBKDF2-SHA-256 (WebCrypto) over the challenge's nonce and a counter, until the
derived key starts with the challenge's prefix. The server picked the counter at random
below `max_number` and signed the derived key, so checking a solution is two HMACs, and
finding one costs on average `max_number / 2 * cost` PBKDF2 iterations: about half a second
in a browser, and as much for every comment a bot posts.

Each challenge is bound to its article, expires, and carries a nonce that the worker spends
(`keys.token_used(Purpose.POW, nonce)`) when it decides the first comment that used it, so a
solution counts once. The verdicts are what the scorer weighs (see workers/scoring.py):

- None: the form never claimed to be the widget's (a reader without JavaScript, an API client,
  a browser without WebCrypto);
- "missing": it claimed to be (it sent the `altcha` field) without a solution;
- "invalid": altered, forged, for another article, or not a solution;
- "expired": a genuine solution, too old;
- "valid": checked here; the worker may still find it "replayed".
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import altcha

from service.core.keys import article_tag
from service.core.sealing import derive_key
from service.core.signing import Purpose
from service.core.validation import MAX_POW

VALID, MISSING, INVALID, EXPIRED, REPLAYED = "valid", "missing", "invalid", "expired", "replayed"
ALGORITHM = "PBKDF2/SHA-256"


@dataclass(frozen=True, slots=True)
class PowCheck:
    verdict: str | None
    nonce: str | None = None  # what the worker spends: set for valid solutions
    expires_at: int | None = None


NOT_CLAIMED = PowCheck(None)


@dataclass(frozen=True, slots=True)
class _Keys:
    challenge: bytes  # signs the challenge's parameters
    solution: bytes  # signs the derived key the solver must find


class ProofOfWork:
    """Issues and checks challenges under the service's secret (and its previous ones, so a
    key rotation does not turn readers' solutions invalid)."""

    def __init__(self, secret: str, old_secrets: Sequence[str] = ()) -> None:
        self._keys = [_keys_of(s) for s in (secret, *old_secrets)]

    def issue(
        self, article: str, now: float, *, cost: int, max_number: int, max_age_s: int
    ) -> dict[str, Any]:
        """A challenge for the widget, as JSON. Costs the server one derivation (`cost`
        PBKDF2 iterations, ~0.6 ms at 1,000): hashlib releases the GIL, so callers on an
        event loop run it in a thread."""
        keys = self._keys[0]
        challenge = altcha.create_challenge(
            ALGORITHM,
            cost,
            counter=_random_below(max_number),
            expires_at=int(now) + max_age_s,
            data={"article": article_tag(article)},
            hmac_secret=keys.challenge,
            hmac_key_secret=keys.solution,
        )
        return challenge.to_dict()

    def check(self, payload: str | None, claimed: bool, article: str, now: float) -> PowCheck:
        """The verdict on what a submission sent in the `altcha` field."""
        if not claimed:
            return NOT_CLAIMED
        if not payload:
            return PowCheck(MISSING)
        parsed = _parse(payload)
        if parsed is None:
            return PowCheck(INVALID)
        params = parsed.challenge.parameters
        expires_at = params.expires_at
        if type(expires_at) is not int or params.algorithm != ALGORITHM:
            return PowCheck(INVALID)
        if (params.data or {}).get("article") != article_tag(article):
            return PowCheck(INVALID)
        if not any(self._verified(parsed, keys) for keys in self._keys):
            return PowCheck(INVALID)
        # Judged after the signature, so a forged expiry time is "invalid", not "expired".
        verdict = EXPIRED if expires_at < now else VALID
        return PowCheck(verdict, params.nonce, expires_at)

    @staticmethod
    def _verified(payload: altcha.Payload, keys: _Keys) -> bool:
        params = payload.challenge.parameters
        # The library compares the expiry with its own clock before it checks the signature;
        # expiry is judged by the caller (with its `now`), after the signature, so that a
        # forged expiry is "invalid" rather than "expired".
        params.expires_at = _NotYetExpired(params.expires_at or 0)
        result = altcha.verify_solution(payload, keys.challenge, hmac_key_secret=keys.solution)
        return bool(result.verified)


class _NotYetExpired(int):
    """An expiry time that signs as the same number but that the library's clock check (`<`)
    passes over."""

    def __lt__(self, other: object) -> bool:
        return False


@functools.lru_cache(maxsize=8)
def for_secrets(secret: str, old_secrets: tuple[str, ...] = ()) -> ProofOfWork:
    """One instance per set of secrets (deriving its keys costs HKDF runs)."""
    return ProofOfWork(secret, old_secrets)


def _keys_of(secret: str) -> _Keys:
    return _Keys(
        derive_key(secret, f"sign:{Purpose.POW}:challenge"),
        derive_key(secret, f"sign:{Purpose.POW}:solution"),
    )


def _parse(payload: str) -> altcha.Payload | None:
    """The payload's challenge and solution, or None for anything malformed (any type in any
    field: it is the client's JSON)."""
    if len(payload) > MAX_POW:
        return None
    try:
        data = json.loads(base64.b64decode(payload, validate=True))
        parsed = altcha.Payload.from_dict(data)
    except (binascii.Error, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None
    params, solution = parsed.challenge.parameters, parsed.solution
    typed = (
        isinstance(params.nonce, str)
        and isinstance(params.salt, str)
        and isinstance(params.algorithm, str)
        and isinstance(params.key_prefix, str)
        # Ours always carry it: without it the library would re-derive the key at whatever
        # cost the payload names.
        and isinstance(params.key_signature, str)
        and type(params.cost) is int
        and type(params.key_length) is int
        and isinstance(params.data, dict | None)
        and isinstance(parsed.challenge.signature, str)
        and type(solution.counter) is int
        and isinstance(solution.derived_key, str)
    )
    return parsed if typed else None


def _random_below(limit: int) -> int:
    return secrets.randbelow(max(limit, 1))
