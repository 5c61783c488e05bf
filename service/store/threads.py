"""Reading an article's public thread, with a per-process cache keyed by the thread version."""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import redis.asyncio as aioredis

from service.core import keys
from service.core.records import PUBLIC_FIELDS, build_thread, public_view


@dataclass(slots=True)
class RenderedThread:
    version: int
    etag: str
    body: bytes
    checked: float = 0.0  # monotonic time the version was last confirmed


# Renders one view of an article's thread (the whole thread, or one page of it).
Renderer = Callable[[aioredis.Redis, str], Awaitable["RenderedThread"]]


class ThreadCache:
    """Rendered threads by article. A version bump in Redis makes an entry stale. Within
    `fresh_s` of the last check an entry is served without asking Redis at all: readers may
    see a new comment up to that late, and popular threads cost no round trip per read."""

    def __init__(self, fresh_s: float = 1.0, max_entries: int = 2048) -> None:
        self._entries: OrderedDict[str, RenderedThread] = OrderedDict()
        self._fresh_s, self._max = fresh_s, max_entries

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
        version = int(await redis.get(keys.thread_version(article)) or 0)
        if cached is not None and cached.version == version:
            cached.checked = now
            self._entries.move_to_end(entry)
            return cached
        rendered = await (render or _render)(redis, article)
        rendered.checked = now
        self._entries[entry] = rendered
        self._entries.move_to_end(entry)
        if len(self._entries) > self._max:
            self._entries.popitem(last=False)
        return rendered


async def _render(redis: aioredis.Redis, article: str) -> RenderedThread:
    # Version and membership read atomically, so the ETag never names newer data than we serve.
    async with redis.pipeline(transaction=True) as pipe:
        pipe.get(keys.thread_version(article))
        pipe.zrange(keys.thread(article), 0, -1)
        raw_version, ids = await pipe.execute()
    async with redis.pipeline(transaction=False) as pipe:
        for comment_id in ids:
            pipe.hmget(keys.comment(comment_id), PUBLIC_FIELDS)
        rows = await pipe.execute() if ids else []
    comments = [public_view(dict(zip(PUBLIC_FIELDS, row, strict=True))) for row in rows if row[0]]
    version = int(raw_version or 0)
    body = json.dumps(
        {"article": article, "count": len(comments), "comments": build_thread(comments)},
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    etag = f'"{keys.article_tag(article)}-{version}"'
    return RenderedThread(version, etag, body)


def view_etag(article: str, version: int, view: str) -> str:
    """The ETag of one view (a page) of the thread at `version`."""
    digest = hashlib.sha256(view.encode()).hexdigest()[:12]
    return f'"{keys.article_tag(article)}-{version}-{digest}"'
