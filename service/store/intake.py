"""Durable intake: comment records and their RQ jobs written together, in batches.

One enqueue per request costs several Redis round trips and tops out around 2-3k requests/s.
Instead, requests that arrive while a batch is being written wait in an inbox and go together
in the next MULTI/EXEC (group commit): batches grow with load, a lone request waits for one
round trip only, and each request is answered only after its own batch is in Redis. MULTI/EXEC
means a batch is all-or-nothing: a Redis failure leaves no record without its job or vice versa.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import redis

from service.core import keys
from service.core.logs import request_id
from service.core.settings import Settings
from service.queueing import jobs

log = logging.getLogger(__name__)


class RateLimited(Exception):
    """A submission over one of the configured limits."""

    def __init__(self, scope: str, retry_after: int) -> None:
        super().__init__(scope)
        self.scope, self.retry_after = scope, retry_after


# One round trip per batch: count every item against every limit, server-side.
COUNT_SCRIPT = """
local counts = {}
for i, key in ipairs(KEYS) do
  counts[i] = redis.call('INCR', key)
  if counts[i] == 1 then redis.call('EXPIRE', key, ARGV[i]) end
end
return counts
"""


@dataclass(slots=True)
class _Pending:
    comment_id: str
    record: dict[str, str]
    # Idempotent submissions may already be stored by an earlier attempt: check, don't overwrite.
    may_exist: bool
    request_id: str | None = None
    limited: RateLimited | None = None
    done: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class IntakeWriter:
    """Collects accepted comments and writes them to Redis in batches from one thread."""

    def __init__(self, connection: redis.Redis, settings: Settings) -> None:
        self._conn = connection
        self._settings = settings
        self._limits = {
            "ip": settings.limit_ip,
            "email": settings.limit_email,
            "article": settings.limit_article,
            "site": settings.limit_site,
        }
        self._count = connection.register_script(COUNT_SCRIPT)
        self._batch_max = settings.batch_max
        self._inbox: asyncio.Queue[_Pending] = asyncio.Queue()
        self._in_flight: dict[str, _Pending] = {}
        # redis-py and RQ are synchronous; one thread keeps batches ordered and off the loop.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="intake")
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="intake-writer")

    async def close(self) -> None:
        if self._task is not None:
            await self._inbox.join()  # requests still waiting get their batch written first
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._executor.shutdown(wait=True)

    async def store(self, comment_id: str, record: dict[str, str], *, may_exist: bool) -> None:
        """Return once the record and its job are in Redis; raise the Redis error otherwise."""
        pending = self._in_flight.get(comment_id)
        if pending is None:
            pending = _Pending(comment_id, record, may_exist, request_id.get())
            self._in_flight[comment_id] = pending
            self._inbox.put_nowait(pending)
        # shield: a client disconnecting must not cancel a write other requests share.
        await asyncio.shield(pending.done)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._inbox.get()]
            while len(batch) < self._batch_max and not self._inbox.empty():
                batch.append(self._inbox.get_nowait())
            try:
                await loop.run_in_executor(self._executor, self._write, batch)
            except Exception as exc:
                log.warning("intake batch of %d failed: %r", len(batch), exc)
                for item in batch:
                    item.done.set_exception(exc)
                    item.done.exception()  # mark retrieved: a disconnected client may never await
            else:
                for item in batch:
                    if item.limited is not None:
                        item.done.set_exception(item.limited)
                        item.done.exception()
                    else:
                        item.done.set_result(None)
            finally:
                for item in batch:
                    self._in_flight.pop(item.comment_id, None)
                    self._inbox.task_done()

    def _write(self, batch: Sequence[_Pending]) -> None:
        maybe = [item for item in batch if item.may_exist]
        existing: set[str] = set()
        if maybe:
            with self._conn.pipeline(transaction=False) as pipe:
                for item in maybe:
                    pipe.exists(keys.comment(item.comment_id))
                found = pipe.execute()
            existing = {item.comment_id for item, hit in zip(maybe, found, strict=True) if hit}
        candidates = [i for i in batch if i.comment_id not in existing]
        allowed = self._within_limits(candidates)
        fresh = {i.comment_id: i.record for i in allowed}
        origins = {i.comment_id: i.request_id for i in allowed if i.request_id}
        store_batch(self._conn, self._settings, fresh, origins)

    def _within_limits(self, items: Sequence[_Pending]) -> list[_Pending]:
        """Count the items; the ones over a limit are answered with RateLimited."""
        if not items:
            return []
        now = time.time()
        keys_, windows, checks = [], [], []
        for item in items:
            values = {
                "ip": item.record.get("ip", "unknown"),
                "email": item.record["email_hash"],
                "article": keys.article_tag(item.record["article"]),
                "site": "all",
            }
            for scope, (allowed, window) in self._limits.items():
                start = int(now // window)
                keys_.append(keys.rate(f"submit-{scope}", values[scope], start))
                windows.append(window)
                checks.append((item, scope, allowed, (start + 1) * window - now))
        counts = self._count(keys=keys_, args=windows)
        over: dict[str, RateLimited] = {}
        for (item, scope, allowed, retry), count in zip(checks, counts, strict=True):
            if int(count) > allowed and item.comment_id not in over:
                over[item.comment_id] = RateLimited(scope, int(retry) + 1)
        for item in items:
            if item.comment_id in over:
                item.limited = over[item.comment_id]
        return [i for i in items if i.comment_id not in over]


def store_batch(
    conn: redis.Redis,
    settings: Settings,
    records: dict[str, dict[str, str]],
    request_ids: dict[str, str] | None = None,
) -> None:
    """Comment records, their pending entries and their jobs: one transaction, all or nothing."""
    if not records:
        return
    with conn.pipeline(transaction=True) as pipe:
        now = time.time()
        for comment_id, record in records.items():
            pipe.hset(keys.comment(comment_id), mapping=record)  # type: ignore[arg-type]
            pipe.sadd(keys.by_email(record["email_hash"]), comment_id)
        pipe.zadd(keys.pending(), dict.fromkeys(records, now))
        pipe.zadd(keys.retention(), dict.fromkeys(records, now))
        jobs.enqueue(
            conn, settings, jobs.PROCESS_COMMENT, records, pipeline=pipe, request_ids=request_ids
        )
        pipe.execute()
