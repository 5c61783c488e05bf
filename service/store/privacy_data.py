"""A commenter's own data: export it, erase it, and forget request metadata after a while.

Erasure either anonymises (default: the words stay in the conversation, nothing links them to
the person) or removes the comments. Either way the sealed address, its HMAC, the IP and the
user agent are deleted, with the commenter's reputation and index, the workspace's name for
them, and a ban: a ban keyed by an address that no longer exists here would be the one trace
left of it, and an address ban is evaded by a new address anyway.
"""

from __future__ import annotations

import secrets
import time

import redis

from service.core import keys
from service.core.records import as_text, decode_record
from service.core.sealing import EmailVault
from service.core.settings import Settings
from service.core.statuses import Status, parse
from service.queueing import jobs
from service.store import transitions

ANONYMOUS = "Anonymous"
PRIVATE_FIELDS = (
    "email_sealed",
    "email_hash",
    "ip",
    "user_agent",
    "referrer",
    # The page they commented from: only the page is stored, but it is still where they were.
    "article_url",
    "browser",
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


def open_request(conn: redis.Redis, settings: Settings, email_hash: str) -> str:
    """A short-lived export/erase request and the job that mails its link, written together.
    The job learns only the request id; it finds the sealed address itself."""
    request_id, ttl = secrets.token_urlsafe(16), settings.privacy_link_max_age_s
    with conn.pipeline(transaction=True) as pipe:
        pipe.set(keys.privacy_request(request_id), email_hash, ex=ttl)
        pipe.sadd(keys.privacy_requests_of(email_hash), request_id)
        pipe.expire(keys.privacy_requests_of(email_hash), ttl)
        jobs.enqueue(conn, settings, jobs.SEND_PRIVACY_LINK, [request_id], pipeline=pipe)
        pipe.execute()
    return request_id


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


def erase(conn: redis.Redis, settings: Settings, email_hash: str) -> int:
    """Erase every trace of one commenter; returns how many comments were affected."""
    ids = comment_ids(conn, email_hash)
    now = time.time()
    with conn.pipeline(transaction=True) as pipe:
        for cid in ids:
            record = decode_record(conn.hgetall(keys.comment(cid)))
            if not record:
                continue
            if settings.erase_mode == "remove":
                transitions.move(
                    conn, pipe, settings, record, Status.DELETED, by="erasure", now=now
                )
                # Readers' votes and reports went with the words they were about.
                pipe.delete(keys.comment(cid), keys.votes(cid), keys.reports(cid))
            else:
                pipe.hdel(keys.comment(cid), *PRIVATE_FIELDS, "website", "original_comment")
                pipe.hset(keys.comment(cid), mapping={"name": ANONYMOUS, "erased_at": f"{now:.0f}"})
                if parse(record.get("status")) is Status.APPROVED:
                    transitions.refresh(pipe, record["article"], cid)  # readers' caches
            pipe.zrem(keys.retention(), cid)
        requests = [as_text(r) for r in conn.smembers(keys.privacy_requests_of(email_hash))]
        # Rate counters of any kind and window keyed by this commenter (erasure is rare,
        # so a keyspace scan is affordable).
        counters = list(conn.scan_iter(match=keys.rate("*", email_hash, "*"), count=1000))
        pipe.delete(
            keys.by_email(email_hash),
            keys.email_reputation(email_hash),
            keys.trusted_browsers(email_hash),
            keys.confirmation_asked(email_hash),
            keys.flood("email", email_hash),
            keys.privacy_requests_of(email_hash),
            keys.commenter_notes(email_hash),  # what moderators wrote about them
            keys.ban(email_hash),
            *(keys.privacy_request(r) for r in requests),
            *counters,
        )
        pipe.hdel(keys.commenter_ids(), EmailVault(settings.secret_key).commenter_id(email_hash))
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
