"""Per-article settings admins choose in the workspace: comments closed, every comment
pre-moderated; and the site's default closing of threads some days after the article's
publication (COMMENTS_CLOSE_AFTER_DAYS), as WordPress, Coral and Disqus do.

When was it published: the date an admin gave, else the one an import brought (WordPress's post
date, Disqus's thread creation), else when the service first saw it, the creation time of its
earliest comment (the first one decided is remembered; an older published one counts too, for
threads from before that was kept). A date a reader's browser sends is not taken: anyone
could close any thread by sending an old one.

Whether a thread is closed is decided per request from the article's settings and its first
published comment (read beside the cached thread's version, and by the intake script for a
new comment), so a thread closes by time without anything being written.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio as aioredis

from service.core import keys

DAY_S = 86_400
# The `closed` field: explicitly closed, or explicitly open (an admin reopened a thread the
# site default had closed); absent: the site default decides.
CLOSED, OPEN = "1", "0"
AUDIT_MAX = 100_000


@dataclass(frozen=True, slots=True)
class ArticleState:
    closed: bool
    premoderate: bool
    explicit: str | None  # CLOSED, OPEN or None (the default)
    closes_at: float | None  # when the site default closes it (its age is known)
    published: float | None = None  # as an import or an admin said
    first_seen: float | None = None  # its earliest comment's creation time

    def closed_at(self, now: float) -> bool:
        """Whether the thread is closed at `now`, its settings as read (a thread closes by
        time too: a state read a while ago still answers for now)."""
        return _closed(self.explicit, self.closes_at, now)


# What a cache holds before it read anything: open, as an article nobody configured is.
NEVER_READ = ArticleState(False, False, None, None)
FIELDS = ["closed", "premoderate", "published", "first_seen"]


async def state(
    redis_: aioredis.Redis, article: str, close_after_days: int, now: float
) -> ArticleState:
    async with redis_.pipeline(transaction=False) as pipe:
        read_state(pipe, article)
        found = await pipe.execute()
    return state_of(found, close_after_days, now)


def read_state(pipe: aioredis.client.Pipeline, article: str) -> None:
    """Queue the reads `state_of` decides from (two replies), on a caller's pipeline: the
    thread cache reads them beside the thread's version."""
    pipe.hmget(keys.article_settings(article), FIELDS)
    pipe.zrange(keys.thread(article), 0, 0, withscores=True)


def state_of(found: Sequence[Any], close_after_days: int, now: float) -> ArticleState:
    """The state from the two replies `read_state` queued, at `now`."""
    (closed, premoderate, published, seen), first = found
    seen_at = [float(t) for t in (_text(seen), first[0][1] if first else None) if t]
    return _state(
        closed, premoderate, _time(published), min(seen_at, default=None), close_after_days, now
    )


def _state(
    closed: object,
    premoderate: object,
    published: float | None,
    first_seen: float | None,
    days: int,
    now: float,
) -> ArticleState:
    explicit = _text(closed)
    since = published if published is not None else first_seen
    closes_at = since + days * DAY_S if days > 0 and since is not None else None
    if explicit not in (CLOSED, OPEN):
        explicit = None
    return ArticleState(
        _closed(explicit, closes_at, now),
        _text(premoderate) == "1",
        explicit,
        closes_at,
        published,
        first_seen,
    )


def _closed(explicit: str | None, closes_at: float | None, now: float) -> bool:
    if explicit is not None:
        return explicit == CLOSED
    return closes_at is not None and now >= closes_at


def seen(pipe: redis.client.Pipeline, article: str, created_at: float) -> None:
    """Queue remembering when the service first saw the article, if nothing did before: a
    comment on it was created then (called as each comment is decided)."""
    pipe.hsetnx(keys.article_settings(article), "first_seen", f"{created_at:.3f}")


def imported_published(pipe: redis.client.Pipeline, article: str, published: float) -> None:
    """Queue an import's publication date for the article, kept only if it has none."""
    pipe.hsetnx(keys.article_settings(article), "published", f"{published:.3f}")


def set_published(conn: redis.Redis, article: str, actor: str, published: float | None) -> bool:
    """An admin's publication date (None: unknown, so first seen counts); audited. Whether
    anything changed."""
    key = keys.article_settings(article)
    if _time(conn.hget(key, "published")) == published:
        return False
    with conn.pipeline(transaction=True) as pipe:
        if published is None:
            pipe.hdel(key, "published")
        else:
            pipe.hset(key, "published", f"{published:.3f}")
        entry = {"ts": f"{time.time():.3f}", "actor": actor, "action": "published-date",
                 "article": article, "to": "unknown" if published is None else
                 time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(published))}  # fmt: skip
        pipe.xadd(keys.audit_log(), entry, maxlen=AUDIT_MAX, approximate=True)  # type: ignore[arg-type]
        pipe.execute()
    return True


def _time(value: object) -> float | None:
    text = _text(value)
    try:
        return float(text) if text else None
    except ValueError:
        return None


def premoderated(conn: redis.Redis, article: str) -> bool:
    """The worker's check: hold every comment on this article."""
    return _text(conn.hget(keys.article_settings(article), "premoderate")) == "1"


def update(
    conn: redis.Redis, article: str, actor: str, *, closed: str | None, premoderate: bool
) -> list[str]:
    """Set an article's settings (closed: CLOSED, OPEN or None for the site default); each
    change is audited. The changes made, as audit actions."""
    key = keys.article_settings(article)
    before_closed, before_pre = (_text(v) for v in conn.hmget(key, ["closed", "premoderate"]))
    now = time.time()
    done: list[str] = []
    with conn.pipeline(transaction=True) as pipe:
        if closed != (before_closed if before_closed in (CLOSED, OPEN) else None):
            if closed is None:
                pipe.hdel(key, "closed")
            else:
                pipe.hset(key, "closed", closed)
            done.append({CLOSED: "close", OPEN: "open", None: "default-closing"}[closed])
        if premoderate != (before_pre == "1"):
            if premoderate:
                pipe.hset(key, "premoderate", "1")
            else:
                pipe.hdel(key, "premoderate")
            done.append("premoderate" if premoderate else "no-premoderate")
        for action in done:
            entry = {"ts": f"{now:.3f}", "actor": actor, "action": action, "article": article}
            pipe.xadd(keys.audit_log(), entry, maxlen=AUDIT_MAX, approximate=True)  # type: ignore[arg-type]
        pipe.execute()
    return done


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.decode()
    return value if isinstance(value, str) else None
