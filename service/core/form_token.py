"""Signed form tokens: proof that a submission came from a form we rendered, and when.

The widget fetches one when the form is first shown (the no-JavaScript page embeds one). It
binds the article, the issue time and a nonce; the intake checks the signature and age, and
the worker checks the nonce was not used by another comment (replay).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

VALID, EXPIRED, FORGED, MISSING, REPLAYED = "valid", "expired", "forged", "missing", "replayed"
# Clocks differ a little between API replicas; a token "from the future" beyond this is forged.
CLOCK_SKEW_S = 60


@dataclass(frozen=True, slots=True)
class TokenCheck:
    verdict: str
    age_s: float | None = None
    nonce: str | None = None


def issue(key: bytes, article: str, now: float) -> str:
    issued, nonce = int(now), secrets.token_urlsafe(12)
    return f"{issued}.{nonce}.{_mac(key, article, issued, nonce)}"


def check(key: bytes, token: str | None, article: str, now: float, max_age_s: int) -> TokenCheck:
    if not token:
        return TokenCheck(MISSING)
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit():
        return TokenCheck(FORGED)
    issued, nonce, mac = int(parts[0]), parts[1], parts[2]
    if not hmac.compare_digest(mac, _mac(key, article, issued, nonce)):
        return TokenCheck(FORGED)
    age = now - issued
    if age < -CLOCK_SKEW_S:
        return TokenCheck(FORGED)
    return TokenCheck(EXPIRED if age > max_age_s else VALID, max(age, 0.0), nonce)


def _mac(key: bytes, article: str, issued: int, nonce: str) -> str:
    digest = hmac.new(key, f"{article}\x00{issued}\x00{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()
