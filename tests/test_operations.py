"""Operator commands: status, requeue-failed, purge-failed, against real jobs."""

from __future__ import annotations

import asyncio
import json

import redis
from rq.job import Job
from rq.serializers import JSONSerializer

from service.core import keys
from service.core.settings import Settings
from service.queueing import jobs
from service.queueing.queues import queue
from tests.helpers import Client, drain, run_cli, submit

# Any comment id: the notification's comment does not exist, the job only has to run.
SOME_ID = "0123456789abcdef-0123456789abcdef"


async def post(client: Client, text: str) -> str:
    return await submit(client, article="a", name="N", email="n@example.com", comment=text)


async def test_status_shows_depth_failures_and_undecided(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    for i in range(3):
        await post(client, f"Hello {i}")
    comments = queue(rconn, settings)
    comments.enqueue("workers.jobs.no_such_job", "x", job_id="broken-1")

    report = json.loads(await asyncio.to_thread(run_cli, settings, "status", "--json"))
    main = report["queues"][settings.queue_name]
    assert main["depth"] == 4
    assert main["oldest_job_age_s"] is not None, report
    assert report["oldest_undecided_comment_age_s"] >= 0
    assert report["workers"] == []

    await drain(settings)
    report = json.loads(await asyncio.to_thread(run_cli, settings, "status", "--json"))
    main = report["queues"][settings.queue_name]
    assert (main["depth"], main["failed"]) == (0, 1)
    [reason] = main["failed_by_reason"]
    assert "no_such_job" in reason
    assert report["oldest_undecided_comment_age_s"] is None
    assert report["held"] + report["spam_folder"] >= 1

    assert "requeued 1 failed jobs" in await asyncio.to_thread(run_cli, settings, "requeue-failed")
    assert comments.count == 1
    await drain(settings)  # fails again
    assert "deleted 1 failed jobs" in await asyncio.to_thread(run_cli, settings, "purge-failed")
    assert comments.failed_job_registry.count == 0
    assert not rconn.exists("rq:job:broken-1")


async def test_new_comments_are_taken_before_notifications(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    jobs.enqueue(rconn, settings, jobs.NOTIFY_EMAIL, [SOME_ID])
    ids = [await post(client, f"c{i}") for i in range(3)]
    await drain(settings)
    notification = Job.fetch(
        keys.notify_job("email", SOME_ID), connection=rconn, serializer=JSONSerializer
    )
    assert notification.started_at is not None
    # A finished decision job is deleted; when it decided is in the comment record.
    decided = [float(rconn.hget(keys.comment(i), "decided_at") or "inf") for i in ids]
    assert all(at <= notification.started_at.timestamp() for at in decided)
