"""Signed one-click moderation links: one comment, one action, an expiry, single use.

`v1.<key id>.<comment id>.<action>.<expires>.<nonce>.<mac>`. The key id names which secret
signed it, so after a rotation links signed with the previous secret keep working until they
expire (the old secret stays in COMMENTS_OLD_SECRET_KEYS for that grace period).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from service.keys import is_comment_id
from service.privacy import derive_key

ACTIONS = ("approve", "reject", "spam", "ham")
VALID, EXPIRED, INVALID = "valid", "expired", "invalid"


@dataclass(frozen=True, slots=True)
class Link:
    comment_id: str
    action: str
    expires: int
    nonce: str


@dataclass(frozen=True, slots=True)
class LinkCheck:
    verdict: str
    link: Link | None = None


class LinkSigner:
    def __init__(self, secret: str, old_secrets: Sequence[str] = ()) -> None:
        keys = [derive_key(s, "moderation-link") for s in (secret, *old_secrets)]
        self._current = keys[0]
        self._by_id = {_key_id(k): k for k in keys}

    def issue(self, comment_id: str, action: str, now: float, max_age_s: int) -> str:
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        expires, nonce = int(now) + max_age_s, secrets.token_urlsafe(12)
        body = f"v1.{_key_id(self._current)}.{comment_id}.{action}.{expires}.{nonce}"
        return f"{body}.{_mac(self._current, body)}"

    def check(self, token: str, now: float) -> LinkCheck:
        parts = token.split(".")
        if len(parts) != 7 or parts[0] != "v1":
            return LinkCheck(INVALID)
        _, key_id, comment_id, action, expires, nonce, mac = parts
        key = self._by_id.get(key_id)
        body = token.rsplit(".", 1)[0]
        if key is None or not hmac.compare_digest(mac, _mac(key, body)):
            return LinkCheck(INVALID)
        if action not in ACTIONS or not is_comment_id(comment_id) or not expires.isdigit():
            return LinkCheck(INVALID)
        link = Link(comment_id, action, int(expires), nonce)
        return LinkCheck(EXPIRED if now > link.expires else VALID, link)

    def csrf(self, token: str) -> str:
        """The value the confirmation form must post back: only our page can know it."""
        return _mac(self._current, f"csrf\x00{token}")


def _key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def _mac(key: bytes, body: str) -> str:
    digest = hmac.new(key, body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()
