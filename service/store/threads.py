"""Reading an article's public thread, with a per-process cache keyed by the thread version."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import redis.asyncio as aioredis

from service.core import keys
from service.core.records import PUBLIC_FIELDS, build_thread, public_view
from service.store import articles, live


@dataclass(slots=True)
class RenderedThread:
    version: int
    etag: str
    body: bytes
    checked: float = 0.0  # monotonic time the version was last confirmed
    # The article's state from its settings and first comment as read at `checked`
    # (articles.read_state): whether it is closed is decided per request from it
    # (`state.closed_at(now)`), a thread closing by time too.
    state: articles.ArticleState = articles.NEVER_READ
    _closed: tuple[bytes, str] | None = None

    def as_closed(self) -> tuple[bytes, str]:
        """Body and ETag of this view marked closed, built once."""
        if self._closed is None:
            self._closed = (b'{"closed":true,' + self.body[1:], self.etag[:-1] + '-closed"')
        return self._closed


# Renders one view of an article's thread (the whole thread, or one page of it).
Renderer = Callable[[aioredis.Redis, str], Awaitable["RenderedThread"]]


class ThreadCache:
    """Rendered threads by article. A version bump in Redis makes an entry stale. Within
    `fresh_s` of the last check an entry is served without asking Redis at all: readers may
    see a new comment up to that late, and popular threads cost no round trip per read.

    A stale entry is checked (and re-rendered if its version moved) by one request at a time;
    with a window set, requests meanwhile get the entry as it is (a window plus one render
    late at most), so a busy thread is rendered at most once per window however often it
    changes (each vote moves its version)."""

    def __init__(
        self, fresh_s: float = 1.0, close_after_days: int = 0, max_entries: int = 2048
    ) -> None:
        self._entries: OrderedDict[str, RenderedThread] = OrderedDict()
        self._checking: dict[str, asyncio.Future[RenderedThread]] = {}
        self._fresh_s, self._max = fresh_s, max_entries
        self._close_after_days = close_after_days

    async def get(
        self, redis: aioredis.Redis, article: str, view: str = "", render: Renderer | None = None
    ) -> RenderedThread:
        """The article's whole thread, or with `view` and `render` another view of it (a
        page), cached under the same version."""
        entry = f"{article}\x00{view}"
        cached = self._entries.get(entry)
        now = time.monotonic()
        if cached is not None and now - cached.checked < self._fresh_s:
            return cached
        checking = self._checking.get(entry) if self._fresh_s > 0 else None
        if checking is not None:
            if cached is not None:
                return cached
            await asyncio.wait([checking])  # a first render under way: share it
            if not checking.cancelled() and checking.exception() is None:
                return checking.result()
        done = self._checking[entry] = asyncio.get_running_loop().create_future()
        try:
            fresh = await self._check(redis, article, entry, cached, render, now)
        except Exception as exc:
            done.set_exception(exc)
            done.exception()  # retrieved: those waiting check it, nobody else must
            raise
        except BaseException:
            done.cancel()
            raise
        finally:
            if self._checking.get(entry) is done:
                del self._checking[entry]
        done.set_result(fresh)
        return fresh

    async def _check(
        self,
        redis: aioredis.Redis,
        article: str,
        entry: str,
        cached: RenderedThread | None,
        render: Renderer | None,
        now: float,
    ) -> RenderedThread:
        # One round trip: the version, and what says whether the thread is closed.
        async with redis.pipeline(transaction=False) as pipe:
            pipe.get(keys.thread_version(article))
            articles.read_state(pipe, article)
            raw_version, *facts = await pipe.execute()
        if cached is None or cached.version != int(raw_version or 0):
            cached = await (render or _render)(redis, article)
            self._entries[entry] = cached
        cached.checked = now
        cached.state = articles.state_of(facts, self._close_after_days, time.time())
        self._entries.move_to_end(entry)
        if len(self._entries) > self._max:
            self._entries.popitem(last=False)
        return cached


async def _render(redis: aioredis.Redis, article: str) -> RenderedThread:
    # Version, live position and membership read atomically, so neither the ETag nor the
    # live position names newer data than we serve.
    async with redis.pipeline(transaction=True) as pipe:
        pipe.get(keys.thread_version(article))
        live.queue_latest(pipe, article)
        pipe.zrange(keys.thread(article), 0, -1)
        raw_version, newest, ids = await pipe.execute()
    async with redis.pipeline(transaction=False) as pipe:
        for comment_id in ids:
            pipe.hmget(keys.comment(comment_id), PUBLIC_FIELDS)
        rows = await pipe.execute() if ids else []
    comments = [public_view(dict(zip(PUBLIC_FIELDS, row, strict=True))) for row in rows if row[0]]
    version = int(raw_version or 0)
    thread = {
        "article": article,
        "count": len(comments),
        "live": live.newest(newest),
        "comments": build_thread(comments),
    }
    body = json.dumps(
        thread,
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    etag = f'"{keys.article_tag(article)}-{version}"'
    return RenderedThread(version, etag, body)


def view_etag(article: str, version: int, view: str) -> str:
    """The ETag of one view (a page) of the thread at `version`."""
    digest = hashlib.sha256(view.encode()).hexdigest()[:12]
    return f'"{keys.article_tag(article)}-{version}-{digest}"'
