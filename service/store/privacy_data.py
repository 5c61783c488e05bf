"""A commenter's own data: export it, erase it, and forget request metadata after a while.

Erasure either anonymises (default: the words stay in the conversation, nothing links them to
the person) or removes the comments. Either way the sealed address, its HMAC, the IP and the
user agent are deleted, with the commenter's reputation and index.
"""

from __future__ import annotations

import time

import redis

from service import keys
from service.publishing import hide
from service.records import as_text, decode_record

ANONYMOUS = "Anonymous"
PRIVATE_FIELDS = (
    "email_sealed",
    "email_hash",
    "ip",
    "user_agent",
    "referrer",
    "form_token",
    "token_nonce",
    "honeypot",
    "fingerprint",
)
EXPORT_FIELDS = (
    "id",
    "article",
    "article_url",
    "title",
    "name",
    "website",
    "comment",
    "parent_id",
    "status",
    "created_at",
    "notify_replies",
)
RETENTION_FIELDS = ("ip", "user_agent", "referrer")
# Privacy requests are limited per address per window; erasure deletes those counters too.
REQUEST_WINDOW_S = 3600


def comment_ids(conn: redis.Redis, email_hash: str) -> list[str]:
    return sorted(as_text(v) for v in conn.smembers(keys.by_email(email_hash)))


def export(conn: redis.Redis, email_hash: str) -> list[dict[str, str]]:
    """The commenter's comments as they wrote them; never the address itself."""
    out = []
    for cid in comment_ids(conn, email_hash):
        values = conn.hmget(keys.comment(cid), EXPORT_FIELDS)
        record = {f: as_text(v) for f, v in zip(EXPORT_FIELDS, values, strict=True) if v}
        if record:
            out.append(record)
    return out


def erase(conn: redis.Redis, email_hash: str, mode: str = "anonymise") -> int:
    """Erase every trace of one commenter; returns how many comments were affected."""
    ids = comment_ids(conn, email_hash)
    with conn.pipeline(transaction=True) as pipe:
        for cid in ids:
            record = decode_record(conn.hgetall(keys.comment(cid)))
            if not record:
                continue
            if mode == "remove":
                if record.get("status") == "approved":
                    hide(pipe, cid, record["article"])
                pipe.delete(keys.comment(cid))
                for index in (keys.held(), keys.spam_folder(), keys.pending()):
                    pipe.zrem(index, cid)
            else:
                pipe.hdel(keys.comment(cid), *PRIVATE_FIELDS, "website", "original_comment")
                pipe.hset(
                    keys.comment(cid),
                    mapping={"name": ANONYMOUS, "erased_at": f"{time.time():.0f}"},
                )
                if record.get("status") == "approved":
                    pipe.incr(keys.thread_version(record["article"]))  # readers' caches
            pipe.zrem(keys.retention(), cid)
        requests = [as_text(r) for r in conn.smembers(keys.privacy_requests_of(email_hash))]
        # Rate counters of any kind and window keyed by this commenter (erasure is rare,
        # so a keyspace scan is affordable).
        counters = list(conn.scan_iter(match=keys.rate("*", email_hash, "*"), count=1000))
        pipe.delete(
            keys.by_email(email_hash),
            keys.email_reputation(email_hash),
            keys.flood("email", email_hash),
            keys.privacy_requests_of(email_hash),
            *(keys.privacy_request(r) for r in requests),
            *counters,
        )
        pipe.execute()
    return len(ids)


def forget_request_metadata(conn: redis.Redis, older_than: float, batch: int = 500) -> int:
    """Delete IPs and user agents from comments older than the retention period."""
    ids = [as_text(v) for v in conn.zrangebyscore(keys.retention(), "-inf", older_than, 0, batch)]
    if ids:
        with conn.pipeline(transaction=True) as pipe:
            for cid in ids:
                pipe.hdel(keys.comment(cid), *RETENTION_FIELDS)
            pipe.zrem(keys.retention(), *ids)
            pipe.execute()
    return len(ids)
