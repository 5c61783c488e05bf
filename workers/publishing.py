"""Making a comment public (or not): the one place that changes an article's thread."""

from __future__ import annotations

import time

import redis

from service import keys
from service.records import STATUS_APPROVED


def publish(conn: redis.Redis, comment_id: str) -> bool:
    """Approve and show a comment; returns False if it does not exist. Idempotent."""
    key = keys.comment(comment_id)
    raw_article, created = conn.hmget(key, ["article", "created_at"])
    if raw_article is None:
        return False
    article = raw_article.decode() if isinstance(raw_article, bytes) else raw_article
    with conn.pipeline(transaction=True) as pipe:
        pipe.hset(key, mapping={"status": STATUS_APPROVED, "decided_at": f"{time.time():.6f}"})
        pipe.zadd(keys.thread(article), {comment_id: float(created or 0)})
        # Readers' caches and ETags follow this counter.
        pipe.incr(keys.thread_version(article))
        pipe.execute()
    return True
