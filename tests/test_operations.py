"""Operator commands: status, requeue-failed, purge-failed, against real jobs."""

from __future__ import annotations

import asyncio
import json

import redis
from rq import Queue
from rq.job import Job
from rq.serializers import JSONSerializer

from service.settings import Settings
from tests.conftest import Client, run_cli, run_worker_burst


async def test_status_shows_depth_failures_and_undecided(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    body = {"article": "a", "name": "N", "email": "n@example.com", "comment": "Hello"}
    for i in range(3):
        await client.post("/api/v1/comments", json=body | {"comment": f"Hello {i}"})
    queue = Queue(settings.queue_name, connection=rconn, serializer=JSONSerializer)
    queue.enqueue("workers.jobs.no_such_job", "x", job_id="broken-1")

    report = json.loads(await asyncio.to_thread(run_cli, settings, "status", "--json"))
    main = report["queues"][settings.queue_name]
    assert main["depth"] == 4
    assert main["oldest_job_age_s"] is not None, report
    assert report["oldest_undecided_comment_age_s"] >= 0
    assert report["workers"] == []

    await asyncio.to_thread(run_worker_burst, settings)
    report = json.loads(await asyncio.to_thread(run_cli, settings, "status", "--json"))
    main = report["queues"][settings.queue_name]
    assert (main["depth"], main["failed"]) == (0, 1)
    [reason] = main["failed_by_reason"]
    assert "no_such_job" in reason
    assert report["oldest_undecided_comment_age_s"] is None
    assert report["held"] + report["spam_folder"] >= 1

    assert "requeued 1 failed jobs" in await asyncio.to_thread(run_cli, settings, "requeue-failed")
    assert queue.count == 1
    await asyncio.to_thread(run_worker_burst, settings)  # fails again
    assert "deleted 1 failed jobs" in await asyncio.to_thread(run_cli, settings, "purge-failed")
    assert queue.failed_job_registry.count == 0
    assert not rconn.exists("rq:job:broken-1")


async def test_new_comments_are_taken_before_notifications(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    notify = Queue(f"{settings.queue_name}-notify", connection=rconn, serializer=JSONSerializer)
    notify.enqueue("workers.jobs.notify_email", "0123456789abcdef-0123456789abcdef", job_id="n-1")
    body = {"article": "a", "name": "N", "email": "n@example.com", "comment": "Hello"}
    ids = [
        (await (await client.post("/api/v1/comments", json=body | {"comment": f"c{i}"})).json())[
            "id"
        ]
        for i in range(3)
    ]
    await asyncio.to_thread(run_worker_burst, settings)
    jobs = {
        job_id: Job.fetch(job_id, connection=rconn, serializer=JSONSerializer)
        for job_id in ["n-1", *(f"process-{cid}" for cid in ids)]
    }
    notification_started = jobs.pop("n-1").started_at
    assert notification_started is not None
    assert all(j.ended_at is not None and j.ended_at <= notification_started for j in jobs.values())
