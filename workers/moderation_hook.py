"""The external moderation hook: a site's own model gets a say in each decision.

The idea of Coral's external moderation phase: COMMENTS_MODERATION_HOOK_URL receives each
comment the worker decides (a signed JSON POST; the comment as readers would see it, never
the address, anything derived from it, or the IP) and may answer

    {"verdict": "approve" | "hold" | "spam", "reasons": ["...", ...]}

within COMMENTS_MODERATION_HOOK_TIMEOUT (2 s). No answer in time, an error status, or an
answer that is not that shape is "unavailable", and the scorer holds the comment. The
request is signed like the notification webhook: `X-Comments-Timestamp` and
`X-Comments-Signature: sha256=HMAC(secret, "<timestamp>.<body>")`.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

from service.core.settings import Settings
from workers.bounded_http import Unavailable, post
from workers.messages import webhook_signature

VERDICTS = frozenset({"approve", "hold", "spam"})
UNAVAILABLE = "unavailable"
EVENT = "comment.moderate"
MAX_ANSWER_BYTES = 64 * 1024
MAX_REASONS = 5
MAX_REASON_CHARS = 200
# What a reason may not carry into moderators' mail and pages: controls, bidi overrides.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HookVerdict:
    verdict: str  # approve | hold | spam | unavailable
    reasons: tuple[str, ...] = ()


def enabled(settings: Settings) -> bool:
    return bool(settings.moderation_hook_url)


def body(record: Mapping[str, str], known_commenter: bool) -> bytes:
    """What the hook receives: an allow-list of the record, as the notifications use."""
    payload = {
        "event": EVENT,
        "comment": {
            "id": record["id"],
            "article": record["article"],
            "article_url": record.get("article_url") or None,
            "title": record.get("title") or None,
            "parent_id": record.get("parent_id") or None,
            "author_name": record["name"],
            "website": record.get("website") or None,
            "text": record["comment"],
            "created_at": float(record.get("created_at") or 0),
        },
        "commenter": {"known": known_commenter},
    }
    return json.dumps(payload, ensure_ascii=False).encode()


def ask(settings: Settings, record: Mapping[str, str], known_commenter: bool) -> HookVerdict:
    """The hook's verdict on a comment, or "unavailable"."""
    assert settings.moderation_hook_url
    data = body(record, known_commenter)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "comments-service",
        "X-Comments-Event": EVENT,
        "X-Comments-Delivery": record["id"],
        "X-Comments-Timestamp": str(timestamp),
        "X-Comments-Signature": webhook_signature(settings.moderation_hook_secret, timestamp, data),
    }
    try:
        answer = post(
            settings.moderation_hook_url,
            data,
            headers,
            deadline_s=settings.moderation_hook_timeout_s,
            max_bytes=MAX_ANSWER_BYTES,
        )
    except Unavailable as exc:
        log.warning("moderation hook unavailable: %s", exc)
        return HookVerdict(UNAVAILABLE)
    if not 200 <= answer.status < 300:
        log.warning("moderation hook answered HTTP %d", answer.status)
        return HookVerdict(UNAVAILABLE)
    verdict = parse(answer.body)
    if verdict is None:
        log.warning("moderation hook answered something other than {verdict, reasons}")
        return HookVerdict(UNAVAILABLE)
    return verdict


def parse(raw: bytes) -> HookVerdict | None:
    """`{"verdict": ..., "reasons": [...]}`, or None for anything else. Reasons are shown to
    moderators: a few short lines of plain text, whatever the hook sent."""
    try:
        answer = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(answer, dict):
        return None
    verdict = answer.get("verdict")
    if not isinstance(verdict, str) or verdict not in VERDICTS:
        return None
    reasons = answer.get("reasons", [])
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        return None
    cleaned = (" ".join(_UNPRINTABLE.sub(" ", r).split())[:MAX_REASON_CHARS] for r in reasons)
    return HookVerdict(verdict, tuple(r for r in cleaned if r)[:MAX_REASONS])
