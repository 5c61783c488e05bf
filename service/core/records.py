"""The stored comment record and the public view of it: explicit allow-lists, both ways."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from service.core.form_token import TokenCheck
from service.core.pow import NOT_CLAIMED, PowCheck
from service.core.sealing import EmailVault
from service.core.statuses import Status
from service.core.validation import Submission

# The only fields a reader ever sees. Anything else on the record (sealed email, its HMAC,
# IP, user agent, token, honeypot) stays internal.
PUBLIC_FIELDS = ("id", "parent_id", "name", "website", "comment", "created_at", "featured", "staff")
# Read once: an Enum member's .value is a Python-level property.
PENDING = Status.PENDING.value


class RequestMeta(NamedTuple):  # made per submission: see Submission
    """What the request itself tells the spam scorer."""

    ip: str
    user_agent: str
    referrer: str
    received_at: float
    token: TokenCheck
    pow: PowCheck = NOT_CLAIMED  # the widget's proof of work


def as_text(value: object) -> str:
    """A Redis value as text, whichever client (bytes or decoded) read it."""
    return value.decode() if isinstance(value, bytes) else str(value)


def decode_record(raw: Mapping[Any, Any]) -> dict[str, str]:
    return {as_text(k): as_text(v) for k, v in raw.items()}


def fingerprint(sub: Submission) -> str:
    """Identifies the content of a submission, to spot an Idempotency-Key reused for new content."""
    parts = (sub.article, sub.name, sub.comment, sub.website or "", sub.parent_id or "")
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


def new_record(
    comment_id: str, sub: Submission, meta: RequestMeta, vault: EmailVault
) -> dict[str, str]:
    """The Redis hash for a freshly accepted comment. The address only ever leaves sealed."""
    email_hash = vault.email_hash(sub.email)
    record = {
        "id": comment_id,
        "article": sub.article,
        "name": sub.name,
        "comment": sub.comment,
        "website": sub.website or "",
        "parent_id": sub.parent_id or "",
        # Stored only when asked for: readers test for "1" (a field costs ~70 bytes a comment).
        "notify_replies": "1" if sub.notify_replies else "",
        "status": PENDING,
        "created_at": f"{meta.received_at:.6f}",
        "email_sealed": vault.seal(sub.email, comment_id),
        "email_hash": email_hash,
        "ip": meta.ip,
        "user_agent": storable(meta.user_agent)[:512],
        "referrer": storable(page_url(meta.referrer))[:2048],
        "token_verdict": meta.token.verdict,
        "token_age": "" if meta.token.age_s is None else f"{meta.token.age_s:.1f}",
        "token_nonce": meta.token.nonce or "",
        "pow": meta.pow.verdict or "",
        "pow_nonce": meta.pow.nonce or "",
        "pow_expires": str(meta.pow.expires_at or ""),
        "honeypot": sub.honeypot or "",
        "browser": (
            vault.browser_fingerprint(email_hash, sub.commenter_key) if sub.commenter_key else ""
        ),
        "article_url": page_url(sub.article_url or ""),
        "title": sub.title or "",
        "fingerprint": fingerprint(sub),
    }
    return {k: v for k, v in record.items() if v}


def public_view(values: Mapping[str, str | None]) -> dict[str, object]:
    """A reader's view of a record fetched with HMGET(PUBLIC_FIELDS)."""
    created = float(values.get("created_at") or 0)
    return {
        "id": values.get("id"),
        "parent_id": values.get("parent_id") or None,
        "name": values.get("name"),
        "website": values.get("website") or None,
        "text": values.get("comment"),
        "created_at": datetime.fromtimestamp(created, UTC).isoformat(timespec="seconds"),
        # A moderator's pick, shown first with a badge; absent on other comments.
        **({"featured": True} if values.get("featured") == "1" else {}),
        # Written by the site's staff from the moderators' workspace.
        **({"staff": True} if values.get("staff") == "1" else {}),
    }


def build_thread(comments: list[dict[str, object]]) -> list[dict[str, object]]:
    """Nest replies under their parents, oldest first at every level.

    A reply whose parent is not public (removed, or not approved) is shown at the top level,
    so a moderation decision on the parent never hides other people's words.
    """
    by_id = {c["id"]: {**c, "replies": []} for c in comments}
    roots: list[dict[str, object]] = []
    for c in by_id.values():
        parent = by_id.get(c["parent_id"]) if c["parent_id"] else None
        siblings = parent["replies"] if parent is not None else roots
        assert isinstance(siblings, list)
        siblings.append(c)
    # Moderators' picks first among the top-level comments (a stable sort keeps the rest).
    roots.sort(key=lambda c: not c.get("featured"))
    return roots


def storable(header_text: str) -> str:
    """Header text as UTF-8 can store it. aiohttp keeps bytes that are not UTF-8 as lone
    surrogates, which cannot be written to Redis: each becomes "?"."""
    return header_text.encode("utf-8", "replace").decode("utf-8")


# The only query parameters kept: they name the page itself on sites without pretty URLs
# (WordPress's default ?p=123 and ?page_id=7). Everything else in a reader's URL (campaign
# tags, addresses, login tokens) is theirs, not the page's.
PAGE_PARAMS = frozenset({"p", "page_id"})


def page_url(url: str) -> str:
    """The page a URL names: scheme, host, port and path, no credentials, no fragment, and
    only the query parameters in PAGE_PARAMS; "" for anything that is not an http(s) URL."""
    if not url:  # no Referer, no article_url: nothing to parse
        return ""
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname, parts.port
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not host:
        return ""
    netloc = f"[{host}]" if ":" in host else host
    netloc += f":{port}" if port else ""
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k in PAGE_PARAMS])
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", query, ""))
