"""Moderation actions, shared by one-click links and the moderator API.

Each action is one WATCH/MULTI transaction on the comment: status, thread membership,
reputation, link use, audit entry and training label change together or not at all.
Synchronous (it runs in a worker thread from the API): actions are rare, and this keeps one
implementation of the thread and reputation rules beside the worker's decisions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis
from redis.exceptions import WatchError

from service import keys
from service.publishing import announce_reply, hide, show
from service.records import decode_record
from service.reputation import record_spam
from service.settings import Settings

TARGET = {"approve": "approved", "reject": "rejected", "spam": "spam", "ham": "approved"}
ALLOWED_FROM = {
    "approve": {"pending", "held", "spam", "rejected"},
    "reject": {"pending", "held", "approved", "spam"},
    "spam": {"pending", "held", "approved", "rejected"},
    "ham": {"spam"},  # "not spam": restore from the spam folder
}
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
) -> Outcome:
    """Apply a moderator's decision. With link_nonce, the link is spent in the same write."""
    key = keys.comment(comment_id)
    used_key = keys.link_used(link_nonce) if link_nonce else None
    with conn.pipeline(transaction=True) as pipe:
        while True:
            try:
                pipe.watch(key, *([used_key] if used_key else []))  # type: ignore[no-untyped-call]
                if used_key and pipe.exists(used_key):
                    return Outcome(comment_id, action, USED)
                record = decode_record(pipe.hgetall(key))
                if not record:
                    return Outcome(comment_id, action, MISSING)
                before, after = record.get("status", "pending"), TARGET[action]
                if before == after:
                    return Outcome(comment_id, action, ALREADY, before, before)
                if before not in ALLOWED_FROM[action]:
                    return Outcome(comment_id, action, NOT_ALLOWED, before, before)
                pipe.multi()
                _write(pipe, comment_id, record, action, before, after, actor)
                if after == "approved" and record.get("parent_id"):
                    announce_reply(conn, pipe, settings, comment_id)
                if used_key:
                    pipe.set(used_key, actor, ex=max(link_ttl_s, 1))
                pipe.execute()
                return Outcome(comment_id, action, DONE, before, after)
            except WatchError:
                continue  # someone changed it meanwhile: look again


def _write(
    pipe: redis.client.Pipeline,
    comment_id: str,
    record: dict[str, str],
    action: str,
    before: str,
    after: str,
    actor: str,
) -> None:
    now = time.time()
    article = record["article"]
    rep = keys.email_reputation(record["email_hash"])
    pipe.hset(
        keys.comment(comment_id),
        mapping={"status": after, "decided_at": f"{now:.6f}", "decided_by": f"moderator:{actor}"},
    )
    pipe.zrem(keys.pending(), comment_id)
    pipe.zrem(keys.held(), comment_id)
    if before == "approved":
        hide(pipe, comment_id, article)
        pipe.hincrby(rep, "approved", -1)
    if after == "approved":
        show(pipe, comment_id, article, float(record.get("created_at") or now))
        pipe.hincrby(rep, "approved", 1)  # the commenter is now trusted
    if before == "spam":
        pipe.zrem(keys.spam_folder(), comment_id)
    if after == "spam":
        record_spam(pipe, comment_id, record, float(record.get("created_at") or now))
    entry = {
        "ts": f"{now:.3f}",
        "actor": actor,
        "action": action,
        "comment_id": comment_id,
        "article": article,
        "from": before,
        "to": after,
    }
    pipe.xadd(keys.audit_log(), entry, maxlen=AUDIT_MAX, approximate=True)  # type: ignore[arg-type]
    pipe.hincrby(keys.stats(), f"moderation_{action}", 1)
    if action in ("spam", "ham") or (action == "approve" and before in ("held", "spam")):
        label = "spam" if after == "spam" else "ham"
        pipe.xadd(keys.labels(), {"comment_id": comment_id, "label": label}, maxlen=AUDIT_MAX)


def edit_text(conn: redis.Redis, comment_id: str, text: str, actor: str) -> Outcome:
    """Fix a comment's published text (typos), keeping the commenter's original."""
    key = keys.comment(comment_id)
    with conn.pipeline(transaction=True) as pipe:
        while True:
            try:
                pipe.watch(key)  # type: ignore[no-untyped-call]
                record = decode_record(pipe.hgetall(key))
                if not record:
                    return Outcome(comment_id, "edit", MISSING)
                pipe.multi()
                pipe.hsetnx(key, "original_comment", record["comment"])
                pipe.hset(
                    key,
                    mapping={
                        "comment": text,
                        "edited_by": actor,
                        "edited_at": f"{time.time():.6f}",
                    },
                )
                if record.get("status") == "approved":
                    pipe.incr(keys.thread_version(record["article"]))  # readers see the fix
                status = record.get("status", "pending")
                entry = {
                    "ts": f"{time.time():.3f}",
                    "actor": actor,
                    "action": "edit",
                    "comment_id": comment_id,
                    "article": record["article"],
                    "from": status,
                    "to": status,
                }
                pipe.xadd(keys.audit_log(), entry, maxlen=AUDIT_MAX, approximate=True)  # type: ignore[arg-type]
                pipe.execute()
                return Outcome(comment_id, "edit", DONE, status, status)
            except WatchError:
                continue
