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
from rq import Queue, Retry
from rq.queue import EnqueueData
from rq.serializers import JSONSerializer

from service import keys
from service.logs import request_id
from service.settings import Settings

log = logging.getLogger(__name__)

# Referenced by name so the API process never imports worker code.
PROCESS_COMMENT = "workers.jobs.process_comment"


def comment_queue(connection: redis.Redis, settings: Settings) -> Queue:
    return Queue(settings.queue_name, connection=connection, serializer=JSONSerializer)


def notification_queue(connection: redis.Redis, settings: Settings) -> Queue:
    return Queue(
        keys.notify_queue(settings.queue_name), connection=connection, serializer=JSONSerializer
    )


def all_queues(connection: redis.Redis, settings: Settings) -> list[Queue]:
    """Every queue the workers serve, in priority order: new comments, then notifications."""
    return [comment_queue(connection, settings), notification_queue(connection, settings)]


def notification_job(func: str, comment_id: str, job_id: str, settings: Settings) -> EnqueueData:
    """A notification job: deterministic id (one per comment and kind), a day of backoff."""
    intervals = settings.notify_retry_intervals_s
    return Queue.prepare_data(
        func,
        args=(comment_id,),
        job_id=job_id,
        timeout=60,
        retry=Retry(max=len(intervals), interval=list(intervals)),
        result_ttl=3600,
    )


def retry_policy(settings: Settings) -> Retry:
    intervals = settings.job_retry_intervals_s
    return Retry(max=len(intervals), interval=list(intervals))


def process_job(
    comment_id: str, timeout: int, retry: Retry, origin: str | None = None
) -> EnqueueData:
    """The one job that decides a comment: deterministic id, timeout, retries, and the id
    of the request that caused it (for logs)."""
    return Queue.prepare_data(
        PROCESS_COMMENT,
        args=(comment_id,),
        job_id=keys.job_id(comment_id),
        timeout=timeout,
        retry=retry,
        result_ttl=600,
        meta={"request_id": origin} if origin else None,
    )


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
        self._queue = comment_queue(connection, settings)
        self._retry = retry_policy(settings)
        self._timeout = settings.job_timeout_s
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
        store_batch(self._conn, self._queue, fresh, self._timeout, self._retry, origins)

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
    queue: Queue,
    records: dict[str, dict[str, str]],
    timeout: int,
    retry: Retry,
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
        jobs = [process_job(cid, timeout, retry, (request_ids or {}).get(cid)) for cid in records]
        queue.enqueue_many(jobs, pipeline=pipe)
        pipe.execute()
