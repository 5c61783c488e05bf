"""One signer for every token the service hands out.

Form tokens, one-click moderation links, privacy links, unsubscribe links and the CSRF values
of server-rendered forms are all `v1.<key id>.<payload>.<mac>`:

- payload: base64url of a JSON list `[issued, expires, nonce, *fields]` (expires 0: never);
- mac: HMAC-SHA256 under a key derived from the secret *for that purpose*, over the token's
  first three parts and an optional bound value that the token itself does not carry (a form
  token is bound to its article; a CSRF value to the link of its page). A token made for one
  purpose never verifies for another.
- key id: names the secret that signed it, so after a rotation tokens signed with a previous
  secret (COMMENTS_OLD_SECRET_KEYS) keep working until they expire.

Single use is the caller's business: the nonce is what it spends (`keys.token_used`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from enum import StrEnum
from typing import NamedTuple

import orjson

from service.core.sealing import Hmac, derive_key

VERSION = "v1"
# Clocks differ a little between API replicas; a token issued further in the future is forged.
CLOCK_SKEW_S = 60
MAC_BYTES = 18  # 144 bits: forging one takes 2^143 guesses on average


class Purpose(StrEnum):
    FORM = "form"  # the widget's form was shown: when, for which article
    MODERATION = "moderation"  # a one-click action on one comment
    PRIVACY = "privacy"  # a commenter's export/erase request
    UNSUBSCRIBE = "unsubscribe"  # stop reply notifications to one comment's author
    CONFIRM = "confirm"  # "yes, I wrote this": proves a comment's address is its author's
    CSRF = "csrf"  # the hidden value of a form the service rendered
    POW = "pow"  # an ALTCHA proof-of-work challenge (service/core/pow.py signs those)
    CURSOR = "cursor"  # where the next page of a thread starts (service/core/pages.py)
    EDIT = "edit"  # the author may edit or delete one comment, within the edit window
    SIGNIN = "signin"  # a moderator's one-time sign-in link to the workspace


class BadToken(ValueError):
    """Not a token this service signed for this purpose: altered, foreign or malformed."""


class ExpiredToken(BadToken):
    """A genuine token past its expiry."""

    def __init__(self, claims: Claims) -> None:
        super().__init__("expired")
        self.claims = claims


class Claims(NamedTuple):  # made per verified token: a NamedTuple is made fastest
    fields: tuple[str, ...]
    issued: int
    expires: int  # 0: never
    nonce: str

    def seconds_left(self, now: float) -> int:
        """How long a spent-token marker must be kept: until the token expires anyway."""
        return max(int(self.expires - now), 1) if self.expires else 365 * 24 * 3600


class Signer:
    def __init__(self, secret: str, old_secrets: Sequence[str] = ()) -> None:
        self._secrets = {_key_id(s): s for s in (secret, *old_secrets)}
        self._current = _key_id(secret)
        self._macs: dict[tuple[str, str], Hmac] = {}

    def sign(
        self,
        purpose: Purpose,
        *fields: str,
        now: float,
        max_age_s: int | None,
        bind: str = "",
        nonce: str | None = None,
    ) -> str:
        """A token for `purpose`; with `nonce`, the same arguments give the same token (for
        tokens that are not spent, so an answer repeated for a retry is the same answer)."""
        issued = int(now)
        expires = issued + max_age_s if max_age_s is not None else 0
        nonce = secrets.token_urlsafe(9) if nonce is None else nonce
        payload = _b64encode(_payload(issued, expires, nonce, fields))
        body = f"{VERSION}.{self._current}.{payload}"
        return f"{body}.{self._mac(self._current, purpose, body, bind)}"

    def verify(self, purpose: Purpose, token: str, now: float, bind: str = "") -> Claims:
        """The token's claims; BadToken if it is not ours for this purpose, ExpiredToken if
        it is ours but too old."""
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != VERSION or parts[1] not in self._secrets:
            raise BadToken("malformed")
        body, mac = token.rsplit(".", 1)
        if not hmac.compare_digest(mac, self._mac(parts[1], purpose, body, bind)):
            raise BadToken("signature")
        claims = _claims(parts[2])
        if claims.issued > now + CLOCK_SKEW_S:
            raise BadToken("from the future")
        if claims.expires and now > claims.expires:
            raise ExpiredToken(claims)
        return claims

    def _mac(self, key_id: str, purpose: Purpose, body: str, bind: str) -> str:
        # Keyed by the purpose's plain string: an Enum member hashes in Python, slowly.
        mac = self._macs.get((key_id, purpose._value_))
        if mac is None:
            key = derive_key(self._secrets[key_id], f"sign:{purpose}")
            mac = self._macs[key_id, purpose._value_] = Hmac(key)
        digest = mac.digest(f"{body}\x00{bind}".encode())
        return _b64encode(digest[:MAC_BYTES])


def _key_id(secret: str) -> str:
    return hashlib.sha256(derive_key(secret, "key-id")).hexdigest()[:8]


def _payload(issued: int, expires: int, nonce: str, fields: tuple[str, ...]) -> bytes:
    """The JSON list [issued, expires, nonce, *fields]. orjson: a tenth of the json module's
    cost, which was a third of signing (the MAC covers the text as sent, so tokens made either
    way verify alike). A lone surrogate, which orjson refuses, takes the json module's path."""
    claims = [issued, expires, nonce, *fields]
    try:
        return orjson.dumps(claims)
    except orjson.JSONEncodeError:
        return json.dumps(claims).encode()


# base64url without padding: b2a_base64 and one translate, as base64.urlsafe_b64encode does
# with two more Python calls.
_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _b64encode(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=").decode()


def _claims(payload: str) -> Claims:
    """Only reached for a payload whose MAC verified, so a failure here is our own bug or a
    leaked key; it still answers BadToken, never a crash."""
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        issued, expires, nonce, *fields = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        raise BadToken("payload") from None
    if not (isinstance(issued, int) and isinstance(expires, int) and isinstance(nonce, str)):
        raise BadToken("payload")
    if not all(isinstance(f, str) for f in fields):
        raise BadToken("payload")
    return Claims(tuple(fields), issued, expires, nonce)
