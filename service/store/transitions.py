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
from service.store import articles, live, votes
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
    pipe.zrem(keys.reported(), comment_id)  # a decision answers readers' reports
    _enter(conn, pipe, settings, record, to, now)
    articles.seen(pipe, record["article"], float(record.get("created_at") or now))
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
        pipe.zrem(keys.article_folder(record["article"], before.value), comment_id)
    if before is Status.APPROVED:
        hide(pipe, record)
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
    if to in FOLDERS:  # the article's own folder too: queues filtered by article read it
        pipe.zadd(keys.article_folder(record["article"], to.value), {comment_id: created})
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
        show(pipe, record, created)
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


# The thread's page indexes (keys.thread_roots, keys.thread_top, keys.thread_replies) change
# with it, in one script so that they never disagree with the thread. While
# keys.thread_indexed is unset (an import wrote the thread directly) they are left alone: the
# next read builds them whole. KEYS: thread, roots, indexed, version, replies of the parent
# (or of the comment itself if it has none: then unused), replies of the comment, the comment,
# top. ARGV: id, created_at, parent id or "", the prefix of the article's comment keys.
SHOW = (
    votes.WILSON_LUA
    + """
local thread, roots, indexed, version, siblings, children, comment, top = unpack(KEYS)
local id, created, parent = ARGV[1], ARGV[2], ARGV[3]
if redis.call('EXISTS', indexed) == 0 and redis.call('ZCARD', thread) == 0 then
  redis.call('SET', indexed, '1')  -- a new thread: empty indexes are whole
end
redis.call('ZADD', thread, created, id)
redis.call('INCR', version)
if redis.call('EXISTS', indexed) == 0 then return 0 end
if parent ~= '' then redis.call('ZADD', siblings, created, id) end
if parent == '' or not redis.call('ZSCORE', thread, parent) then
  redis.call('ZADD', roots, created, id)
  redis.call('ZADD', top, score_of(comment), id)
end
for _, child in ipairs(redis.call('ZRANGE', children, 0, -1)) do
  redis.call('ZREM', roots, child)  -- replies shown at the top level return under it
  redis.call('ZREM', top, child)
end
return 1
"""
)
HIDE = (
    votes.WILSON_LUA
    + """
local thread, roots, indexed, version, siblings, children, comment, top = unpack(KEYS)
local id, parent, prefix = ARGV[1], ARGV[3], ARGV[4]
redis.call('ZREM', thread, id)
redis.call('INCR', version)
if redis.call('EXISTS', indexed) == 0 then return 0 end
redis.call('ZREM', roots, id)
redis.call('ZREM', top, id)
if parent ~= '' then redis.call('ZREM', siblings, id) end
local orphans = redis.call('ZRANGE', children, 0, -1, 'WITHSCORES')
for i = 1, #orphans, 2 do
  local child = orphans[i]
  redis.call('ZADD', roots, orphans[i + 1], child)  -- its replies stay readable
  -- The reply's record: same article, same hash tag, so the same slot as KEYS.
  local record = prefix .. string.sub(child, string.find(child, '-', 1, true) + 1)
  redis.call('ZADD', top, score_of(record), child)
end
return 1
"""
)


def _indexed(pipe: Pipeline, script: str, record: dict[str, str], created_at: float) -> None:
    comment_id, article = record["id"], record["article"]
    parent = record.get("parent_id") or ""
    names = (
        keys.thread(article),
        keys.thread_roots(article),
        keys.thread_indexed(article),
        keys.thread_version(article),
        keys.thread_replies(parent or comment_id),
        keys.thread_replies(comment_id),
        keys.comment(comment_id),
        keys.thread_top(article),
    )
    prefix = keys.comment_prefix(comment_id)
    pipe.eval(script, len(names), *names, comment_id, f"{created_at:.6f}", parent, prefix)


def show(pipe: Pipeline, record: dict[str, str], created_at: float) -> None:
    """Queue the commands that put a comment into its article's public thread, and tell its
    readers (service/store/live.py)."""
    _indexed(pipe, SHOW, record, created_at)
    live.publish(
        pipe, record["article"], live.PUBLISHED, record["id"], record.get("parent_id") or ""
    )


def hide(pipe: Pipeline, record: dict[str, str]) -> None:
    """Queue the commands that take a comment out of its article's public thread, and tell
    its readers."""
    _indexed(pipe, HIDE, record, 0.0)
    parent = record.get("parent_id") or ""
    live.publish(pipe, record["article"], live.REMOVED, record["id"], parent)


def refresh(pipe: Pipeline, article: str, comment_id: str = "") -> None:
    """The article's public thread changed (membership or text): readers' caches and ETags
    follow this counter. Live readers hear that `comment_id`'s text changed, or without one
    (an import) that the thread changed as a whole."""
    pipe.incr(keys.thread_version(article))
    live.publish(pipe, article, live.EDITED if comment_id else live.CHANGED, comment_id)
