"""Moving a comment between statuses: the one place that writes what a status means.

Each status has its index (the pending list the sweep reads, the moderators' held list, the
spam folder, the article's public thread) and some statuses carry reputation. `move` queues,
on the caller's MULTI pipeline, the writes that leave the old status and enter the new one, so
the status, its indexes and its follow-up jobs change together or not at all.
"""

from __future__ import annotations

import redis
from redis.client import Pipeline

from service.core import keys
from service.core.settings import Settings
from service.core.statuses import Status, TransitionError, can_move, parse
from service.queueing import jobs
from service.store.reputation import record_spam

# Which sorted set lists the comments in a status, site-wide (scored by creation time).
FOLDERS = {
    Status.HELD: keys.held,
    Status.SPAM: keys.spam_folder,
    Status.APPROVED: keys.approved_folder,
    Status.REJECTED: keys.rejected_folder,
}


def move(
    conn: redis.Redis,
    pipe: Pipeline,
    settings: Settings,
    record: dict[str, str],
    to: Status,
    *,
    by: str,
    now: float,
) -> Status:
    """Queue the writes that move a comment to `to`; returns the status it left.

    `record` is the comment as read under WATCH; the caller executes the pipeline.
    """
    before = parse(record.get("status"))
    if not can_move(before, to):
        raise TransitionError(f"{before} -> {to}")
    comment_id = record["id"]
    _leave(pipe, record, before)
    _enter(conn, pipe, settings, record, to, now)
    pipe.hset(
        keys.comment(comment_id),
        mapping={"status": to.value, "decided_at": f"{now:.6f}", "decided_by": by},
    )
    return before


def _leave(pipe: Pipeline, record: dict[str, str], before: Status) -> None:
    comment_id = record["id"]
    if before is Status.PENDING:
        pipe.zrem(keys.pending(), comment_id)
    elif before in FOLDERS:
        pipe.zrem(FOLDERS[before](), comment_id)
    if before is Status.APPROVED:
        hide(pipe, comment_id, record["article"])
        pipe.hincrby(keys.email_reputation(record["email_hash"]), "approved", -1)


def _enter(
    conn: redis.Redis,
    pipe: Pipeline,
    settings: Settings,
    record: dict[str, str],
    to: Status,
    now: float,
) -> None:
    comment_id, created = record["id"], float(record.get("created_at") or 0)
    if to is Status.HELD:
        pipe.zadd(keys.held(), {comment_id: created})
    elif to is Status.SPAM:
        record_spam(pipe, comment_id, record, created)
        if record.get("browser"):  # a browser that posts spam proves nothing any more
            pipe.srem(keys.trusted_browsers(record["email_hash"]), record["browser"])
    elif to is Status.REJECTED:
        pipe.zadd(keys.rejected_folder(), {comment_id: created})
    elif to is Status.APPROVED:
        pipe.zadd(keys.approved_folder(), {comment_id: created})
        show(pipe, comment_id, record["article"], created)
        # The commenter is now known; their next comment from this browser (or confirmed by
        # email) may skip the first-time hold.
        pipe.hincrby(keys.email_reputation(record["email_hash"]), "approved", 1)
        if record.get("browser"):
            pipe.sadd(keys.trusted_browsers(record["email_hash"]), record["browser"])
        if record.get("parent_id"):
            # The job itself checks whether the parent's author asked for it.
            jobs.enqueue(conn, settings, jobs.NOTIFY_REPLY, [comment_id], pipeline=pipe)
    elif to is Status.PENDING:  # decided again: listed for the sweep, and the job queued
        pipe.zadd(keys.pending(), {comment_id: now})
        jobs.enqueue(conn, settings, jobs.PROCESS_COMMENT, [comment_id], pipeline=pipe)


def show(pipe: Pipeline, comment_id: str, article: str, created_at: float) -> None:
    """Queue the commands that put a comment into its article's public thread."""
    pipe.zadd(keys.thread(article), {comment_id: created_at})
    refresh(pipe, article)


def hide(pipe: Pipeline, comment_id: str, article: str) -> None:
    """Queue the commands that take a comment out of its article's public thread."""
    pipe.zrem(keys.thread(article), comment_id)
    refresh(pipe, article)


def refresh(pipe: Pipeline, article: str) -> None:
    """The article's public thread changed (membership or text): readers' caches and ETags
    follow this counter."""
    pipe.incr(keys.thread_version(article))
