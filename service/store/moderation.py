"""Moderators' actions, shared by one-click links and the moderator API.

Each action is one WATCH/MULTI transaction on the comment: status, thread membership,
reputation, link use, audit entry and training label change together or not at all.
Synchronous (it runs in a worker thread from the API): actions are rare, and this keeps one
implementation of the status rules beside the worker's decisions.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from redis.client import Pipeline
from redis.exceptions import WatchError

from service.core import keys
from service.core.records import decode_record
from service.core.settings import Settings
from service.core.signing import Purpose
from service.core.statuses import MODERATOR_ACTIONS, Status, parse
from service.queueing import jobs
from service.store import transitions

ACTIONS = MODERATOR_ACTIONS
AUDIT_MAX = 100_000

DONE, ALREADY, NOT_ALLOWED, MISSING, USED = "done", "already", "not_allowed", "missing", "used"


@dataclass(frozen=True, slots=True)
class Outcome:
    comment_id: str
    action: str
    result: str
    before: str | None = None
    after: str | None = None


def apply(
    conn: redis.Redis,
    settings: Settings,
    comment_id: str,
    action: str,
    actor: str,
    *,
    link_nonce: str | None = None,
    link_ttl_s: int = 0,
    grounds: str = "",
) -> Outcome:
    """Apply a moderator's decision. With link_nonce, the link is spent in the same write;
    `grounds` (why, for a report of illegal content) go into the audit entry."""
    used_key = keys.token_used(Purpose.MODERATION, link_nonce) if link_nonce else None
    rule = ACTIONS[action]

    def attempt(pipe: Pipeline, record: dict[str, str]) -> Outcome:
        if used_key and pipe.exists(used_key):
            return Outcome(comment_id, action, USED)
        if not record:
            return Outcome(comment_id, action, MISSING)
        before, after = parse(record.get("status")), rule.target
        if before == after:
            # Approving a published comment that readers reported keeps it as it is: the
            # decision dismisses their reports, and the audit says so.
            if conn.zrem(keys.reported(), comment_id):
                _audit(conn, record, actor, "dismiss", before, before, time.time(), grounds)
            return Outcome(comment_id, action, ALREADY, before, before)
        if not rule.allowed_from(before):
            return Outcome(comment_id, action, NOT_ALLOWED, before, before)
        now = time.time()
        pipe.multi()
        transitions.move(conn, pipe, settings, record, after, by=f"moderator:{actor}", now=now)
        _audit(pipe, record, actor, action, before, after, now, grounds)
        pipe.hincrby(keys.stats(), f"moderation_{action}", 1)
        # What the text model learns from: a verdict a moderator made or corrected.
        if action in ("spam", "ham") or (action == "approve" and before in _CORRECTED):
            label = "spam" if after is Status.SPAM else "ham"
            pipe.xadd(keys.labels(), {"comment_id": comment_id, "label": label}, maxlen=AUDIT_MAX)
            if settings.akismet_key:  # Akismet learns from its mistakes too
                kind = jobs.AKISMET_BY_LABEL[label]
                jobs.enqueue(conn, settings, kind, [comment_id], pipeline=pipe)
        if used_key:
            pipe.set(used_key, actor, ex=max(link_ttl_s, 1))
        return Outcome(comment_id, action, DONE, before, after)

    return _on_comment(conn, comment_id, attempt, *([used_key] if used_key else []))


# Approving these corrects (or confirms a doubt of) the scorer: worth learning from.
_CORRECTED = frozenset({Status.HELD, Status.SPAM})


def _on_comment(
    conn: redis.Redis,
    comment_id: str,
    attempt: Callable[[Pipeline, dict[str, str]], Outcome],
    *also_watched: str,
) -> Outcome:
    """One WATCH/read/MULTI transaction on a comment, for every action here: `attempt` gets
    the record as read under WATCH (empty if there is none) and either answers without
    writing, or calls pipe.multi() and queues its writes, executed here. If a watched key
    changed before they were (someone acted meanwhile), all of it runs again on a fresh read."""
    key = keys.comment(comment_id)
    with conn.pipeline(transaction=True) as pipe:
        while True:
            try:
                pipe.watch(key, *also_watched)  # type: ignore[no-untyped-call]
                outcome = attempt(pipe, decode_record(pipe.hgetall(key)))
                if pipe.explicit_transaction:
                    pipe.execute()
                return outcome
            except WatchError:
                continue


def edit_text(conn: redis.Redis, comment_id: str, text: str, actor: str) -> Outcome:
    """Fix a comment's published text (typos), keeping the commenter's original."""
    key = keys.comment(comment_id)

    def attempt(pipe: Pipeline, record: dict[str, str]) -> Outcome:
        if not record:
            return Outcome(comment_id, "edit", MISSING)
        status = parse(record.get("status"))
        now = time.time()
        pipe.multi()
        pipe.hsetnx(key, "original_comment", record["comment"])
        pipe.hset(key, mapping={"comment": text, "edited_by": actor, "edited_at": f"{now:.6f}"})
        if status is Status.APPROVED:
            transitions.refresh(pipe, record["article"], comment_id)  # readers see the fix
        _audit(pipe, record, actor, "edit", status, status, now)
        return Outcome(comment_id, "edit", DONE, status, status)

    return _on_comment(conn, comment_id, attempt)


def feature(conn: redis.Redis, comment_id: str, actor: str, *, on: bool) -> Outcome:
    """Feature a published comment (readers see it first, with a badge), or stop featuring."""
    key = keys.comment(comment_id)
    action = "feature" if on else "unfeature"

    def attempt(pipe: Pipeline, record: dict[str, str]) -> Outcome:
        if not record:
            return Outcome(comment_id, action, MISSING)
        status = parse(record.get("status"))
        if on and status is not Status.APPROVED:
            return Outcome(comment_id, action, NOT_ALLOWED, status, status)
        if (record.get("featured") == "1") == on:
            return Outcome(comment_id, action, ALREADY, status, status)
        now = time.time()
        article = record["article"]
        pipe.multi()
        if on:
            pipe.hset(key, "featured", "1")
            pipe.zadd(keys.featured(article), {comment_id: float(record["created_at"])})
        else:
            pipe.hdel(key, "featured")
            pipe.zrem(keys.featured(article), comment_id)
        transitions.refresh(pipe, article)
        _audit(pipe, record, actor, action, status, status, now)
        return Outcome(comment_id, action, DONE, status, status)

    return _on_comment(conn, comment_id, attempt)


# The commenter every staff reply is filed under (not an address's HMAC: 64 hex it is not).
STAFF = "staff"


def staff_reply(
    conn: redis.Redis, settings: Settings, parent_id: str, name: str, text: str, actor: str
) -> Outcome:
    """Publish a reply to a published comment as the site's staff (marked so in the thread)."""

    def attempt(pipe: Pipeline, parent: dict[str, str]) -> Outcome:
        if not parent:
            return Outcome(parent_id, "staff-reply", MISSING)
        status = parse(parent.get("status"))
        if status is not Status.APPROVED:
            return Outcome(parent_id, "staff-reply", NOT_ALLOWED, status, status)
        now = time.time()
        article = parent["article"]
        reply_id = keys.new_comment_id(article)
        record = {
            "id": reply_id,
            "article": article,
            "title": parent.get("title", ""),
            "article_url": parent.get("article_url", ""),
            "parent_id": parent_id,
            "name": name,
            "comment": text,
            "created_at": f"{now:.6f}",
            "email_hash": STAFF,
            "staff": "1",
            "staff_by": actor,
            "status": Status.PENDING.value,
        }
        stored: dict[Any, Any] = dict(record)  # hset's Mapping is invariant in its types
        pipe.multi()
        pipe.hset(keys.comment(reply_id), mapping=stored)
        transitions.move(
            conn, pipe, settings, record, Status.APPROVED, by=f"moderator:{actor}", now=now
        )
        _audit(pipe, record, actor, "staff-reply", Status.PENDING, Status.APPROVED, now)
        return Outcome(reply_id, "staff-reply", DONE, Status.PENDING, Status.APPROVED)

    return _on_comment(conn, parent_id, attempt)


def _audit(
    pipe: redis.client.Pipeline | redis.Redis,
    record: dict[str, str],
    actor: str,
    action: str,
    before: Status,
    after: Status,
    now: float,
    grounds: str = "",
) -> None:
    entry = {
        "ts": f"{now:.3f}",
        "actor": actor,
        "action": action,
        "comment_id": record["id"],
        "article": record["article"],
        "from": before.value,
        "to": after.value,
        **({"grounds": grounds} if grounds else {}),
    }
    pipe.xadd(keys.audit_log(), entry, maxlen=AUDIT_MAX, approximate=True)  # type: ignore[arg-type]
