"""Each article's own status folders (keys.article_folder), for queues filtered by article.

Every writer keeps them beside the site-wide folders (store/transitions.move, imports). Data
from before they existed is listed in them once, in the background of an API process, the
first time a filtered queue is asked for: a pass over every site-wide folder takes about a
second per 10,000 comments, too long for a request on a large site. Until it has finished
(keys.article_folders_built), filtered queues read the site-wide folders, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from service.core import keys
from service.core.records import as_text
from service.store.transitions import FOLDERS

log = logging.getLogger(__name__)

# Lists a comment in its article's folder if it still has the status it was read with (a
# comment decided meanwhile was listed by that decision). KEYS: the record, the article's
# folder; ARGV: the status read.
LIST_IN_ARTICLE = """
local id, status, created = unpack(redis.call('HMGET', KEYS[1], 'id', 'status', 'created_at'))
if not id or status ~= ARGV[1] then return 0 end
return redis.call('ZADD', KEYS[2], 'NX', tonumber(created or '0') or 0, id)
"""
BATCH = 1000


class ArticleFolders:
    """Whether queues may read the article folders yet; lists older data in them once."""

    def __init__(self, redis_: aioredis.Redis) -> None:
        self._redis = redis_
        self._task: asyncio.Task[None] | None = None

    async def ready(self) -> bool:
        """True once every comment is in its article's folder; else starts listing them (in
        the background, once per process at a time) and says False."""
        if await self._redis.exists(keys.article_folders_built()):
            return True
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._build(), name="article-folders")
        return False

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _build(self) -> None:
        try:
            await build(self._redis)
        except RedisError as exc:  # asked again by the next filtered queue
            log.warning("listing comments in their article folders stopped: %r", exc)


async def build(redis_: aioredis.Redis) -> None:
    """List every comment of a site-wide folder in its article's folder too, then mark it
    done. Safe beside every writer, and to run twice."""
    script = redis_.register_script(LIST_IN_ARTICLE)
    for status, folder in FOLDERS.items():
        # ZSCAN: a comment in the folder throughout is seen, however the folder changes.
        cursor: int | None = None
        while cursor != 0:
            cursor, found = await redis_.zscan(folder(), cursor or 0, count=BATCH)
            ids = [as_text(cid) for cid, _ in found]
            async with redis_.pipeline(transaction=False) as pipe:
                for cid in ids:
                    pipe.hget(keys.comment(cid), "article")
                articles = await pipe.execute()
            async with redis_.pipeline(transaction=False) as pipe:
                for cid, article in zip(ids, articles, strict=True):
                    if article is not None:
                        theirs = keys.article_folder(as_text(article), status.value)
                        await script(
                            keys=[keys.comment(cid), theirs], args=[status.value], client=pipe
                        )
                await pipe.execute()
    await redis_.set(keys.article_folders_built(), "1")
