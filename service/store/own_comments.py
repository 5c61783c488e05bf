"""A commenter's own edits and deletions, within the edit window their token grants.

An edit is scored again from the start: the comment leaves the thread (or the moderators'
queue) and is pending until the worker decides on the new text, so a harmless comment cannot
be edited into spam behind the worker's back (Isso PR 1038). A deletion removes the record, as
an erasure does; replies stay readable at the top level.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

import redis
from redis.client import Pipeline
from redis.exceptions import WatchError

from service.core import keys
from service.core.records import decode_record
from service.core.settings import Settings
from service.core.statuses import Status, parse
from service.store import transitions

# What an author can still change: not what a moderator rejected or marked spam.
OWN = frozenset({Status.PENDING, Status.HELD, Status.APPROVED})


class Result(StrEnum):
    DONE = "done"
    MISSING = "missing"  # no such comment, or no longer the author's to change
    CLOSED = "closed"  # the edit window has passed


def edit(conn: redis.Redis, settings: Settings, comment_id: str, text: str, now: float) -> Result:
    """Replace the comment's text and send it to the worker again."""

    def change(pipe: Pipeline, record: dict[str, str], status: Status) -> None:
        key = keys.comment(comment_id)
        pipe.hsetnx(key, "original_comment", record["comment"])
        pipe.hset(key, mapping={"comment": text, "edited_by": "author", "edited_at": f"{now:.6f}"})
        if status is Status.APPROVED:
            # Leaving "approved" takes this comment off its commenter's approved count; the
            # worker counts it back, or fixing a typo in one's only approved comment would
            # meet the first-comment hold again.
            pipe.hset(key, "approved_before_edit", "1")
        if status is not Status.PENDING:  # pending: the queued job reads the new text
            transitions.move(conn, pipe, settings, record, Status.PENDING, by="author", now=now)

    return _while_owned(conn, settings, comment_id, now, change)


def delete(conn: redis.Redis, settings: Settings, comment_id: str, now: float) -> Result:
    """Remove the comment for good, as its author asked."""

    def change(pipe: Pipeline, record: dict[str, str], status: Status) -> None:
        transitions.move(conn, pipe, settings, record, Status.DELETED, by="author", now=now)
        pipe.delete(keys.comment(comment_id), keys.votes(comment_id), keys.reports(comment_id))
        pipe.srem(keys.by_email(record["email_hash"]), comment_id)
        pipe.zrem(keys.retention(), comment_id)

    return _while_owned(conn, settings, comment_id, now, change)


def _while_owned(
    conn: redis.Redis,
    settings: Settings,
    comment_id: str,
    now: float,
    change: Callable[[Pipeline, dict[str, str], Status], None],
) -> Result:
    """Apply `change` in one transaction if the comment is still its author's to change and
    inside the edit window (read under WATCH; looked at again if it changed meanwhile)."""
    key = keys.comment(comment_id)
    with conn.pipeline(transaction=True) as pipe:
        while True:
            try:
                pipe.watch(key)  # type: ignore[no-untyped-call]
                record = decode_record(pipe.hgetall(key))
                status = parse(record.get("status")) if record else None
                if status is None or status not in OWN:
                    return Result.MISSING
                if now > float(record.get("created_at") or 0) + settings.edit_window_s:
                    return Result.CLOSED
                pipe.multi()
                change(pipe, record, status)
                pipe.execute()
                return Result.DONE
            except WatchError:
                continue
