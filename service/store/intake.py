"""Durable intake: comment records and their RQ jobs written together, in batches.

Requests that arrive while a batch is being written wait in an inbox and go together in the
next write (group commit): batches grow with load, a lone request waits for one round trip
only, and each request is answered only after its own batch is in Redis.

A batch is one Lua script, one round trip: it refuses comments of banned commenters and on
closed threads, skips comments an earlier attempt already stored (Idempotency-Key), counts every
comment against every abuse limit, and writes each allowed comment with its index entries and
its RQ job (service/queueing/job_hashes.py). A script runs atomically, and Redis refuses a
script for lack of memory only at its first write, so a batch is all or nothing: never a
record without its job or the reverse.

The checks live in the script, not in the request, because a round trip of its own was the
largest cost of accepting a comment: the request's write to Redis costs more CPU time than
everything it does in Python (profiled under load), and the batch shares one write among all.

With COMMENTS_REDIS_MIN_REPLICAS, the batch is answered only after that many replicas have
acknowledged it (WAIT): a failover to a replica then loses no comment that was answered 202.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import hiredis
import orjson
import redis
import redis.asyncio as aioredis
from redis.connection import HiredisRespSerializer
from redis.exceptions import RedisError
from redis.utils import HIREDIS_AVAILABLE

from service.core import keys
from service.core.logs import request_id
from service.core.settings import Settings
from service.queueing import jobs
from service.queueing.job_hashes import JobHashes, Value, timestamp
from service.store.articles import DAY_S

log = logging.getLogger(__name__)


class RateLimited(Exception):
    """A submission over one of the configured limits."""

    def __init__(self, scope: str, retry_after: int) -> None:
        super().__init__(scope)
        self.scope, self.retry_after = scope, retry_after


class Refused(Exception):
    """A submission the service does not take: its commenter is banned, or its thread closed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


BANNED, CLOSED = "banned", "closed"


@dataclass(frozen=True, slots=True)
class Earlier:
    """What an earlier attempt with the same Idempotency-Key stored ("" where it has none)."""

    fingerprint: str
    created_at: str


class NotReplicated(RedisError):
    """Fewer replicas than COMMENTS_REDIS_MIN_REPLICAS acknowledged a batch in time. The batch
    is on the primary and may survive, or not: the client is told to retry (Idempotency-Key
    makes that exact), as for a connection lost after the write was sent."""


# KEYS: pending, retention, the queue, RQ's set of queues; then per comment its record, its
# commenter's index, its job, its commenter's ban, its article's settings, its thread, and one
# counter per limit.
# ARGV: now, the jobs' time stamp, the number of limits, their allowances, their windows,
# whether to refuse banned commenters, whether to refuse closed threads, the seconds after its
# publication (else first seen) that the site closes a thread (0: never), the number of job
# fields all jobs share, those fields; then per comment its id, its job id, whether it may exist
# already, its record (JSON), and its job's data, description and meta.
# Returns per comment: 0 written, -2 its commenter banned, -3 its thread closed, the 1-based
# index of the first limit it is over (nothing written in these three cases), or
# {-1, fingerprint, created_at} when an earlier attempt stored it already.
# (Seven arguments a comment rather than ~90, one per field: the client encodes each argument
# in Python, and that was the largest cost of a batch.)
INTAKE_SCRIPT = """
local now, stamp, nlimits = ARGV[1], ARGV[2], tonumber(ARGV[3])
local allowed, windows = {}, {}
for s = 1, nlimits do
  allowed[s] = tonumber(ARGV[3 + s])
  windows[s] = ARGV[3 + nlimits + s]
end
local a = 4 + 2 * nlimits
local refuse_banned, refuse_closed = ARGV[a] == '1', ARGV[a + 1] == '1'
local close_after = tonumber(ARGV[a + 2])
a = a + 3
local shared = {}
for f = 1, tonumber(ARGV[a]) do shared[f] = ARGV[a + f] end
a = a + #shared + 1

-- As service/store/articles.py decides it: an admin's explicit choice, else the site default.
-- The site default counts from the publication date an admin gave, else from when the
-- article was first seen (its earliest comment, remembered or still in the thread).
local function closed(settings_key, thread_key)
  local found = redis.call('HMGET', settings_key, 'closed', 'published', 'first_seen')
  local explicit = found[1]
  if explicit == '1' then return true end
  if explicit == '0' or close_after <= 0 then return false end
  local since = tonumber(found[2])
  if since == nil then
    local first = redis.call('ZRANGE', thread_key, 0, 0, 'WITHSCORES')
    since = tonumber(found[3])
    if first[2] ~= nil and (since == nil or tonumber(first[2]) < since) then
      since = tonumber(first[2])
    end
  end
  return since ~= nil and tonumber(now) >= since + close_after
end

local k, i = 5, 0
local out, queued = {}, {}
while a <= #ARGV do
  i = i + 1
  local id, job_id, may_exist = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  local record, data, description, meta = ARGV[a + 3], ARGV[a + 4], ARGV[a + 5], ARGV[a + 6]
  a = a + 7
  local record_key, email_key, job_key = KEYS[k], KEYS[k + 1], KEYS[k + 2]
  local ban_key, settings_key, thread_key, counters = KEYS[k + 3], KEYS[k + 4], KEYS[k + 5], k + 6
  k = k + 6 + nlimits
  if refuse_banned and redis.call('EXISTS', ban_key) == 1 then
    out[i] = -2
  elseif refuse_closed and closed(settings_key, thread_key) then
    out[i] = -3
  elseif may_exist == '1' and redis.call('EXISTS', record_key) == 1 then
    local earlier = redis.call('HMGET', record_key, 'fingerprint', 'created_at')
    out[i] = {-1, earlier[1] or '', earlier[2] or ''}
  else
    local over = 0
    for s = 1, nlimits do
      local counter = KEYS[counters + s - 1]
      local count = redis.call('INCR', counter)
      if count == 1 then redis.call('EXPIRE', counter, windows[s]) end
      if over == 0 and count > allowed[s] then over = s end
    end
    out[i] = over
    if over == 0 then
      local fields = {}
      for name, value in pairs(cjson.decode(record)) do
        fields[#fields + 1] = name
        fields[#fields + 1] = value
      end
      redis.call('HSET', record_key, unpack(fields))
      redis.call('SADD', email_key, id)
      redis.call('ZADD', KEYS[1], now, id)
      redis.call('ZADD', KEYS[2], now, id)
      local job = {unpack(shared)}
      for _, part in ipairs({'created_at', stamp, 'enqueued_at', stamp, 'data', data,
                             'description', description}) do
        job[#job + 1] = part
      end
      if meta ~= '' then
        job[#job + 1] = 'meta'
        job[#job + 1] = meta
      end
      redis.call('HSET', job_key, unpack(job))
      queued[#queued + 1] = job_id
    end
  end
end
if #queued > 0 then
  redis.call('SADD', KEYS[4], KEYS[3])
  redis.call('RPUSH', KEYS[3], unpack(queued))
end
return out
"""
# RQ's set of every queue's key (rq.Queue.redis_queues_keys).
RQ_QUEUES_KEY = "rq:queues"
# Stands for a value in a key made once around it (no value contains it).
_MARK = "\x00"


def _around(key: str) -> tuple[str, str]:
    before, _, after = key.partition(_MARK)
    return before, after


@dataclass(frozen=True, slots=True)
class Limit:
    scope: str
    allowed: int
    window_s: int


@dataclass(frozen=True, slots=True)
class Checks:
    """What the script refuses before it writes: off for code that is not serving a request."""

    banned: bool = False
    closed: bool = False
    close_after_s: int = 0  # the site's default closing of threads (0: never)

    @classmethod
    def of(cls, settings: Settings) -> Checks:
        days = settings.close_after_days
        return cls(settings.banned_comments == "refuse", True, days * DAY_S if days > 0 else 0)


# The outcome of one comment's write: stored now (None), stored by an earlier attempt, or why not.
Outcome = Earlier | RateLimited | Refused | None


@dataclass(slots=True)
class _Pending:
    comment_id: str
    record: dict[str, str]
    # Idempotent submissions may already be stored by an earlier attempt: check, don't overwrite.
    may_exist: bool
    # The record as the script takes it, made by the request itself: a record that cannot be
    # encoded fails its own request, not the batch it would have joined.
    packed: bytes
    request_id: str | None
    # One future per request waiting for this comment (more than one only for concurrent
    # retries with the same Idempotency-Key). A request that is cancelled (its client went
    # away) cancels its own future only: the write, which other requests share, goes on.
    waiters: list[asyncio.Future[Earlier | None]]


class _Batch:
    """One run of the intake script: its keys and arguments, and how to read its answer."""

    def __init__(
        self,
        hashes: JobHashes,
        limits: Sequence[Limit],
        checks: Checks,
        now: float,
        min_replicas: int,
    ) -> None:
        self.hashes, self.limits, self.now = hashes, limits, now
        self.min_replicas = min_replicas
        self.keys: list[str] = [keys.pending(), keys.retention(), hashes.queue_key, RQ_QUEUES_KEY]
        self.args: list[Value] = [f"{now:.6f}", timestamp(now), len(limits)]
        self.args += [limit.allowed for limit in limits]
        self.args += [limit.window_s for limit in limits]
        self.args += [int(checks.banned), int(checks.closed), checks.close_after_s]
        self.args += [len(hashes.fixed), *hashes.fixed]
        # Each limit's counter key, made once a batch around the value it counts.
        self._counters = [
            (
                limit.scope,
                *_around(keys.rate(f"submit-{limit.scope}", _MARK, int(now // limit.window_s))),
            )
            for limit in limits
        ]

    def add(
        self,
        comment_id: str,
        record: Mapping[str, str],
        packed: bytes,
        may_exist: bool,
        request: str | None,
    ) -> None:
        job_id = self.hashes.job_id(comment_id)
        email_hash, article = record["email_hash"], record["article"]
        self.keys += [
            keys.comment(comment_id),
            keys.by_email(email_hash),
            self.hashes.key_of(job_id),
            keys.ban(email_hash),
            keys.article_settings(article),
            keys.thread(article),
        ]
        counted = {
            "ip": record.get("ip", "unknown"),
            "email": email_hash,
            "article": keys.comment_article_tag(comment_id),
            "site": "all",
        }
        self.keys += [before + counted[scope] + after for scope, before, after in self._counters]
        data, description, meta = self.hashes.varying(comment_id, request)
        self.args += [comment_id, job_id, int(may_exist), packed, data, description, meta]

    def outcome(self, answer: int | list[int | bytes]) -> Outcome:
        """What the script's answer for one comment means for its request."""
        if isinstance(answer, list):  # stored by an earlier attempt with the same key
            _, fingerprint, created_at = answer
            return Earlier(_text(fingerprint), _text(created_at))
        if answer == 0:
            return None
        if answer < 0:
            return Refused(BANNED if answer == -2 else CLOSED)
        limit = self.limits[answer - 1]
        end = (int(self.now // limit.window_s) + 1) * limit.window_s
        return RateLimited(limit.scope, int(end - self.now) + 1)

    def check_replicas(self, acknowledged: int) -> None:
        if acknowledged < self.min_replicas:
            raise NotReplicated(
                f"{acknowledged} of {self.min_replicas} replicas acknowledged the batch"
            )


class IntakeWriter:
    """Collects accepted comments and writes them to Redis in batches, one at a time."""

    def __init__(self, connection: aioredis.Redis, settings: Settings) -> None:
        self._conn = connection
        self._settings = settings
        self._limits = [
            Limit("ip", *settings.limit_ip),
            Limit("email", *settings.limit_email),
            Limit("article", *settings.limit_article),
            Limit("site", *settings.limit_site),
        ]
        self._checks = Checks.of(settings)
        self._script = connection.register_script(INTAKE_SCRIPT)
        self._hashes = JobHashes.of(jobs.PROCESS_COMMENT, settings)
        self._batch_max = settings.batch_max
        # A plain list, woken once per batch, and one unshielded future per request: an
        # asyncio.Queue and asyncio.shield per request cost 2 % of a submission's instructions
        # in the API (callgrind, 64 at a time).
        self._inbox: list[_Pending] = []
        self._in_flight: dict[str, _Pending] = {}
        self._wakeup: asyncio.Future[None] | None = None
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="intake-writer")

    async def close(self) -> None:
        """Write what requests still wait for, then stop."""
        if self._task is not None:
            self._closing = True
            self._wake()
            await self._task

    async def store(
        self, comment_id: str, record: dict[str, str], *, may_exist: bool
    ) -> Earlier | None:
        """Return once the record and its job are in Redis (None), or what an earlier attempt
        stored under this id (may_exist only); raise Refused, RateLimited, or the Redis error,
        with nothing written."""
        done: asyncio.Future[Earlier | None] = asyncio.get_running_loop().create_future()
        pending = self._in_flight.get(comment_id)
        if pending is None:
            packed = pack(record)
            pending = _Pending(comment_id, record, may_exist, packed, request_id.get(), [done])
            self._in_flight[comment_id] = pending
            self._inbox.append(pending)
            self._wake()
        else:
            pending.waiters.append(done)
        return await done

    def _wake(self) -> None:
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)

    async def _run(self) -> None:
        while self._inbox or not self._closing:
            if not self._inbox:
                self._wakeup = asyncio.get_running_loop().create_future()
                await self._wakeup
                continue
            items = self._inbox[: self._batch_max]
            del self._inbox[: self._batch_max]
            try:
                await self._write(items)
            except Exception as exc:
                log.warning("intake batch of %d failed: %r", len(items), exc)
                for item in items:
                    _settle(item, exc)
            finally:
                for item in items:
                    self._in_flight.pop(item.comment_id, None)

    async def _write(self, items: Sequence[_Pending]) -> None:
        batch = _Batch(
            self._hashes,
            self._limits,
            self._checks,
            time.time(),
            self._settings.redis_min_replicas,
        )
        for item in items:
            batch.add(item.comment_id, item.record, item.packed, item.may_exist, item.request_id)
        answers = await self._script(keys=batch.keys, args=batch.args)
        if batch.min_replicas:
            timeout_ms = int(self._settings.redis_replica_timeout_s * 1000)
            batch.check_replicas(await self._conn.wait(batch.min_replicas, timeout_ms))
        for item, answer in zip(items, answers, strict=True):
            _settle(item, batch.outcome(answer))


class _PackedInC:
    """A connection that packs commands with hiredis, as redis-py's synchronous connections do."""

    _packer = HiredisRespSerializer()

    def pack_command(self, *args: Value) -> list[bytes]:
        # A one-word command (EVALSHA, WAIT) goes to hiredis as it is: redis-py's serializer
        # first copies the arguments through a Python generator (to turn memoryviews into
        # bytes), which for a batch's ~500 arguments cost as much as packing them.
        if isinstance(args[0], str) and " " not in args[0]:
            try:
                # (hiredis's stub types the tuple as one of a single argument)
                return [hiredis.pack_command(args)]  # type: ignore[arg-type]
            except TypeError:
                pass  # a type hiredis does not take: redis-py converts it, or says why not
        # (redis-py annotates its arguments wrongly, as lists)
        return self._packer.pack(*args)  # type: ignore[arg-type,no-any-return]


def pack_in_c(client: aioredis.Redis) -> None:
    """Have a client's connections pack commands in C. redis-py's asyncio ones do it in Python,
    argument by argument: for the intake's batches, ~17 arguments a comment, that was 6 % of
    the API's CPU time under load, as much as validating the comment; going to hiredis
    without redis-py's copy of the arguments saved another 4 % of a submission's instructions
    (callgrind, 64 at a time)."""
    if HIREDIS_AVAILABLE:
        pool = client.connection_pool
        base = pool.connection_class  # a plain, TLS, Unix socket or Sentinel connection
        pool.connection_class = type(base.__name__, (_PackedInC, base), {})


def pack(record: dict[str, str]) -> bytes:
    """A record as the intake script's one JSON argument (TypeError if a value is not text
    Redis can store). orjson: a tenth of the instructions of the json module's encoder, which
    spent 4 % of the API's time on this alone."""
    return orjson.dumps(record)


def _text(value: bytes | int | None) -> str:
    return value.decode() if isinstance(value, bytes) else ""


def _settle(item: _Pending, result: Outcome | BaseException) -> None:
    for done in item.waiters:
        if done.done():  # its request was cancelled
            continue
        if not isinstance(result, BaseException):
            done.set_result(result)
            continue
        done.set_exception(result)
        done.exception()  # marked retrieved: a disconnected client may never await it


def store_batch(
    conn: redis.Redis,
    settings: Settings,
    records: dict[str, dict[str, str]],
    request_ids: dict[str, str] | None = None,
) -> None:
    """Comment records, their index entries and their jobs, all or nothing, without limits or
    checks: what the intake writer does for requests, for code that is not serving one."""
    if not records:
        return
    batch = _Batch(JobHashes.of(jobs.PROCESS_COMMENT, settings), (), Checks(), time.time(), 0)
    for comment_id, record in records.items():
        batch.add(comment_id, record, pack(record), False, (request_ids or {}).get(comment_id))
    conn.register_script(INTAKE_SCRIPT)(keys=batch.keys, args=batch.args)
