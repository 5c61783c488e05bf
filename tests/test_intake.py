"""The intake writer's own ways: RQ jobs written as RQ writes them, replicas' acknowledgement,
and nothing of a decided comment's job left behind in Redis."""

from __future__ import annotations

import asyncio
import time
import zlib
from typing import Any

import redis
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer
from redis.connection import HiredisRespSerializer
from rq.job import Job
from rq.serializers import JSONSerializer

from service.core import keys
from service.core.settings import Settings
from service.queueing import jobs
from service.queueing.job_hashes import JobHashes, timestamp
from service.queueing.queues import queue
from service.store.intake import IntakeWriter, _PackedInC, store_batch
from service.web.app import create_app
from tests.helpers import Client, all_keys, drain, make_settings, stored_comments, submit

COMMENT_ID = "0123456789abcdef-fedcba9876543210"
SET_APART = {b"created_at", b"enqueued_at", b"data"}


def test_job_hashes_are_what_rq_writes(rconn: redis.Redis, settings: Settings) -> None:
    """Field by field, the job the intake script writes equals the one RQ's enqueue_many
    writes for the same comment and request (apart from the times, the call, which RQ
    compresses, and the fields RQ writes empty, which ours leaves out), for every job kind;
    and RQ reads the same job back from both."""
    for kind in jobs.ALL:
        rconn.flushall()
        jobs.enqueue(rconn, settings, kind, [COMMENT_ID], request_ids={COMMENT_ID: "req-1"})
        hashes = JobHashes.of(kind, settings)
        by_rq = rconn.hgetall(hashes.key(COMMENT_ID))
        rconn.rename(hashes.key(COMMENT_ID), hashes.key(COMMENT_ID) + ":rq")
        fields = hashes.fields(COMMENT_ID, "req-1", timestamp(time.time()))
        rconn.hset(
            hashes.key(COMMENT_ID), mapping=dict(zip(fields[::2], fields[1::2], strict=True))
        )
        ours = rconn.hgetall(hashes.key(COMMENT_ID))
        # RQ compresses the call; ours is stored as it is, which RQ reads too (Job.restore
        # takes a `data` that is no zlib stream as it stands): the same call either way.
        ours_data, rq_data = ours[b"data"], by_rq[b"data"]
        assert isinstance(ours_data, bytes)
        assert isinstance(rq_data, bytes)
        assert ours_data == zlib.decompress(rq_data)
        assert {k: v for k, v in ours.items() if k not in SET_APART} == {
            k: v for k, v in by_rq.items() if k not in SET_APART and v != b""
        }, kind.function
        assert set(by_rq) - set(ours) == {k for k, v in by_rq.items() if v == b""}
        assert hashes.queue_key == queue(rconn, settings, kind.lane).key
        job = Job.fetch(hashes.job_id(COMMENT_ID), connection=rconn, serializer=JSONSerializer)
        assert (job.func_name, job.args, job.meta) == (
            kind.path,
            [COMMENT_ID],
            {"request_id": "req-1"},
        )
        # Read back, the job RQ wrote and ours say the same (apart from the times).
        theirs = Job.fetch(hashes.job_id(COMMENT_ID) + ":rq", connection=rconn)
        assert _as_read(job) == _as_read(theirs), kind.function


def _as_read(job: Job) -> dict[str, object]:
    """What RQ made of a stored job, but for its id and times."""
    read = job.to_dict(include_meta=True)
    return {k: v for k, v in read.items() if k not in {"created_at", "enqueued_at", "data"}}


async def test_a_batch_waits_for_the_replicas_it_needs(
    rconn: redis.Redis, settings: Settings
) -> None:
    """With COMMENTS_REDIS_MIN_REPLICAS=1 and no replica, no comment is acknowledged: 503
    with Retry-After, as for Redis being down."""
    strict = settings.with_overrides(redis_min_replicas=1, redis_replica_timeout_s=0.1)
    async with TestClient(TestServer(create_app(strict))) as client:
        resp = await client.post(
            "/api/v1/comments",
            json={"article": "a", "name": "N", "email": "n@example.com", "comment": "Hello"},
        )
        assert resp.status == 503
        assert (await resp.json())["error"]["code"] == "storage_unavailable"
        assert resp.headers["Retry-After"]


async def test_a_decided_comment_leaves_no_job_behind(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    """The decision is in the comment record; RQ keeps neither its result nor its job."""
    ids = [await submit(client, email=f"m{i}@example.com") for i in range(3)]
    await drain(settings)
    records = stored_comments(rconn)
    assert all(records[i]["status"] in ("approved", "held", "spam") for i in ids)
    rq_keys = [k for k in all_keys(rconn) if k.startswith(b"rq:")]
    assert [k for k in rq_keys if b"process-" in k] == []
    assert not any(k.startswith((b"rq:results:", b"rq:finished:")) for k in rq_keys)


def _record(comment_id: str) -> dict[str, str]:
    return {"id": comment_id, "article": "a", "email_hash": "h" * 16, "status": "pending"}


def test_store_batch_writes_records_with_their_jobs(rconn: redis.Redis, settings: Settings) -> None:
    store_batch(rconn, make_settings(settings.redis_url or ""), {COMMENT_ID: _record(COMMENT_ID)})
    assert rconn.hget(keys.comment(COMMENT_ID), "status") == b"pending"
    assert queue(rconn, settings).get_job_ids() == [keys.process_job(COMMENT_ID)]
    assert rconn.sismember(keys.by_email("h" * 16), COMMENT_ID)
    assert rconn.zscore(keys.pending(), COMMENT_ID) is not None


async def test_header_bytes_that_are_not_utf8_are_stored_replaced(
    client: Client, rconn: redis.Redis
) -> None:
    """aiohttp keeps such bytes as lone surrogates, which Redis cannot take: once that was a
    500 for the request and for every other request in its batch."""
    body = b'{"article":"a","name":"N","email":"n@example.com","comment":"Hi"}'
    request = (
        b"POST /api/v1/comments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"User-Agent: bad\xff\xfeagent\r\nReferer: https://news.example.org/a\xff\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body
    )
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(request)
    others = asyncio.gather(*(submit(client, email=f"o{i}@example.com") for i in range(5)))
    answer = await reader.read()
    ids = await others
    writer.close()
    assert answer.startswith(b"HTTP/1.1 202"), answer[:100]
    records = stored_comments(rconn)
    assert all(i in records for i in ids)
    odd = next(r for r in records.values() if r["name"] == "N")
    assert odd["user_agent"] == "bad??agent"
    assert odd["referrer"].startswith("https://news.example.org/a")


async def test_a_request_gone_away_neither_stops_the_write_nor_fails_its_retry(
    rconn: redis.Redis, settings: Settings
) -> None:
    """A client that disconnects cancels its request: the comment is still written (another
    request may share the write), and a retry with the same id waiting beside it gets the
    answer, not the cancellation."""
    conn = aioredis.Redis.from_url(settings.redis_url or "")
    writer = IntakeWriter(conn, settings)
    await writer.start()
    try:
        first = asyncio.ensure_future(writer.store(COMMENT_ID, _record(COMMENT_ID), may_exist=True))
        retry = asyncio.ensure_future(writer.store(COMMENT_ID, _record(COMMENT_ID), may_exist=True))
        await asyncio.sleep(0)  # both are waiting for the one write
        first.cancel()
        assert await retry is None
        assert first.cancelled()
        assert rconn.hget(keys.comment(COMMENT_ID), "status") == b"pending"
        assert queue(rconn, settings).get_job_ids() == [keys.process_job(COMMENT_ID)]
    finally:
        await writer.close()
        await conn.aclose()


async def test_closing_the_writer_writes_what_is_still_waiting(
    rconn: redis.Redis, settings: Settings
) -> None:
    conn = aioredis.Redis.from_url(settings.redis_url or "")
    writer = IntakeWriter(conn, settings)
    await writer.start()
    ids = [f"0123456789abcdef-{i:016x}" for i in range(300)]  # more than one batch
    waiting = [asyncio.ensure_future(writer.store(i, _record(i), may_exist=False)) for i in ids]
    await asyncio.sleep(0)
    await writer.close()
    assert [w.result() for w in waiting] == [None] * len(ids)
    assert all(rconn.exists(keys.comment(i)) for i in ids)
    await conn.aclose()


def test_the_writers_packing_is_redis_pys() -> None:
    """Commands reach hiredis without redis-py's per-argument copy, byte for byte as redis-py
    would pack them: one-word commands, two-word ones, and argument types hiredis refuses."""
    ours, theirs = _PackedInC(), HiredisRespSerializer()
    commands: list[tuple[Any, ...]] = [
        ("EVALSHA", "f" * 40, 2, "k1", "k2", b"\x00\xff", 1, "é", -3),
        ("WAIT", 1, 100),
        ("SCRIPT LOAD", "return 1"),
        ("HSET", "h", "f", memoryview(b"view")),
        ("SET", "k", bytearray(b"array")),
    ]
    for command in commands:
        assert b"".join(ours.pack_command(*command)) == b"".join(theirs.pack(*command)), command
