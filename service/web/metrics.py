"""GET /metrics in Prometheus text format.

The API's own request metrics live in this process. Worker-side counters (verdicts,
moderator actions, notifications sent) are kept in Redis by whoever does the work, so one
scrape of any API replica sees the whole system and workers need no metrics port. Queue
gauges are read from Redis at scrape time; while Redis is down a scrape still succeeds, with
`comments_redis_up 0` and without them. Labels are route templates and fixed words: never
an address, an IP, a token or a comment id.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from aiohttp import web
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from redis.exceptions import RedisError
from rq.job import Job
from rq.worker_registration import REDIS_WORKER_KEYS

from service.core import keys
from service.core.records import as_text
from service.queueing.queues import all_queues
from service.web.appkeys import METRICS, REDIS, SETTINGS, SYNC_REDIS
from service.web.metrics_registry import QueueFigures, StoreFigures

log = logging.getLogger(__name__)


routes = web.RouteTableDef()


@routes.get("/metrics")
async def metrics_handler(request: web.Request) -> web.Response:
    try:
        store = await _store_figures(request)
    except RedisError as exc:
        # A scrape still answers: Prometheus then has this process's figures and sees
        # comments_redis_up 0, instead of losing the whole target.
        log.warning("metrics: Redis unavailable, its figures are left out: %r", exc)
        store = None
    return web.Response(
        body=request.app[METRICS].exposition(store),
        headers={"Content-Type": CONTENT_TYPE_LATEST},
    )


async def _store_figures(request: web.Request) -> StoreFigures:
    """Queues, jobs, undecided comments, workers and the workers' counters, read now."""
    redis, settings, now = request.app[REDIS], request.app[SETTINGS], time.time()
    queues = []
    # RQ's own objects name its keys; they are only used for that here (no sync I/O).
    for queue in all_queues(request.app[SYNC_REDIS], settings):
        registries = (
            queue.failed_job_registry,
            queue.started_job_registry,
            queue.scheduled_job_registry,
        )
        async with redis.pipeline(transaction=False) as pipe:
            pipe.llen(queue.key)
            pipe.lindex(queue.key, 0)
            for registry in registries:
                pipe.zcard(registry.key)
            depth, first, *counts = await pipe.execute()
        enqueued = await redis.hget(Job.key_for(first), "enqueued_at") if first else None
        age = now - datetime.fromisoformat(as_text(enqueued)).timestamp() if enqueued else 0.0
        jobs = dict(zip(("failed", "started", "scheduled"), counts, strict=True))
        queues.append(QueueFigures(queue.name, depth, max(age, 0.0), jobs))
    stats = await redis.hgetall(keys.stats())
    return StoreFigures(
        queues=queues,
        undecided=await redis.zcard(keys.pending()),
        workers=await redis.scard(REDIS_WORKER_KEYS),
        worker_events={as_text(event): float(value) for event, value in stats.items()},
    )
