"""Making a comment public: the one place that changes an article's thread."""

from __future__ import annotations

import time

import redis
from redis.client import Pipeline

from service import keys
from service.intake import notification_job, notification_queue
from service.records import STATUS_APPROVED
from service.settings import Settings


def show(pipe: Pipeline, comment_id: str, article: str, created_at: float) -> None:
    """Queue the commands that put a comment into its article's public thread."""
    pipe.zadd(keys.thread(article), {comment_id: created_at})
    # Readers' caches and ETags follow this counter.
    pipe.incr(keys.thread_version(article))


def announce_reply(conn: redis.Redis, pipe: Pipeline, settings: Settings, comment_id: str) -> None:
    """Queue, in the publishing transaction, the job that may tell the parent's author.

    The job itself checks whether they asked for it, unsubscribed, or replied to themselves.
    """
    job = notification_job("workers.jobs.notify_reply", comment_id, f"reply-{comment_id}", settings)
    notification_queue(conn, settings).enqueue_many([job], pipeline=pipe)


def hide(pipe: Pipeline, comment_id: str, article: str) -> None:
    """Queue the commands that take a comment out of its article's public thread."""
    pipe.zrem(keys.thread(article), comment_id)
    pipe.incr(keys.thread_version(article))


def publish(conn: redis.Redis, comment_id: str) -> bool:
    """Approve and show a comment; returns False if it does not exist. Idempotent."""
    key = keys.comment(comment_id)
    raw_article, created = conn.hmget(key, ["article", "created_at"])
    if raw_article is None:
        return False
    article = raw_article.decode() if isinstance(raw_article, bytes) else raw_article
    with conn.pipeline(transaction=True) as pipe:
        pipe.hset(key, mapping={"status": STATUS_APPROVED, "decided_at": f"{time.time():.6f}"})
        show(pipe, comment_id, article, float(created or 0))
        pipe.execute()
    return True
