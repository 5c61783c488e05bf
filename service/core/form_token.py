"""Form tokens: proof that a submission came from a form we rendered, and when.

The widget fetches one when the form is first shown (the no-JavaScript page embeds one). It is
bound to the article and carries its issue time and a nonce; the intake checks the signature
and age, and the worker checks the nonce was not used by another comment (replay).
"""

from __future__ import annotations

from typing import NamedTuple

from service.core.signing import BadToken, ExpiredToken, Purpose, Signer

VALID, EXPIRED, FORGED, MISSING, REPLAYED = "valid", "expired", "forged", "missing", "replayed"


class TokenCheck(NamedTuple):  # made per submission: a NamedTuple is made fastest
    verdict: str
    age_s: float | None = None
    nonce: str | None = None


def issue(signer: Signer, article: str, now: float, max_age_s: int) -> str:
    return signer.sign(Purpose.FORM, now=now, max_age_s=max_age_s, bind=article)


def check(signer: Signer, token: str | None, article: str, now: float) -> TokenCheck:
    if not token:
        return TokenCheck(MISSING)
    try:
        claims = signer.verify(Purpose.FORM, token, now, bind=article)
    except ExpiredToken as expired:
        return TokenCheck(EXPIRED, now - expired.claims.issued, expired.claims.nonce)
    except BadToken:
        return TokenCheck(FORGED)
    return TokenCheck(VALID, max(now - claims.issued, 0.0), claims.nonce)
