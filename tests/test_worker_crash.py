"""A worker killed with SIGKILL mid-job loses nothing: every comment reaches a final state once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import redis
from aiohttp.test_utils import TestClient, TestServer
from rq.registry import StartedJobRegistry

from service.core import keys
from service.core.settings import Settings
from service.queueing.queues import queue
from service.web.app import create_app
from tests.helpers import (
    ARTICLE,
    Client,
    drain,
    run_cli,
    run_worker_burst,
    stored_comments,
    submit,
    worker_env,
)
from workers.sweep import sweep


def kill_mid_job(settings: Settings, conn: redis.Redis, attempts: int = 20) -> str | None:
    """Start a real worker and SIGKILL it the moment it starts a job; return that job."""
    started = StartedJobRegistry(queue=queue(conn, settings))
    earlier = set(started.get_job_ids())  # orphans of earlier kills
    for _ in range(attempts):
        worker = subprocess.Popen(
            [sys.executable, "-m", "service.entry.cli", "worker"],
            env=worker_env(settings) | {"COMMENTS_LOG_LEVEL": "WARNING"},
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        try:
            while time.monotonic() < deadline and not set(started.get_job_ids()) - earlier:
                time.sleep(0.0005)
        finally:
            # The whole group, as a crashing container takes it: the worker and the
            # scheduler process RQ runs beside it.
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        orphans = set(started.get_job_ids()) - earlier
        if orphans:
            return str(orphans.pop())
    return None


async def test_sigkilled_workers_lose_no_comment(rconn: redis.Redis, settings: Settings) -> None:
    ids = []
    async with TestClient(TestServer(create_app(settings))) as client:
        for i in range(150):
            text = f"Comment number {i} on the lunar station plans."
            ids.append(
                await submit(client, name=f"Reader {i}", email=f"r{i}@example.com", comment=text)
            )

    orphaned = []
    for _ in range(3):  # repeatedly, while a backlog is being worked through
        job_id = await asyncio.to_thread(kill_mid_job, settings, rconn)
        assert job_id is not None, "never caught a worker mid-job"
        orphaned.append(job_id)

    # The sweep (every minute beside each worker, here by the operator command) re-enqueues
    # what was pending too long; then any worker finishes the work.
    swept = await asyncio.to_thread(run_cli, settings, "sweep", "--older-than", "0")
    assert int(swept.split()[1]) >= len(orphaned)
    # A real worker process again, as after a crash in production.
    await asyncio.to_thread(run_worker_burst, settings)

    records = stored_comments(rconn)
    statuses = [records[cid]["status"] for cid in ids]
    assert all(s in ("approved", "held", "spam") for s in statuses), statuses
    for job_id in orphaned:
        cid = job_id.removeprefix("process-")
        assert records[cid]["status"] in ("approved", "held", "spam")
    # Decided exactly once: each comment sits in exactly one place, none is pending.
    placed = (
        rconn.zcard(keys.held())
        + rconn.zcard(keys.spam_folder())
        + rconn.zcard(keys.thread(ARTICLE))
    )
    assert placed == len(ids)
    assert rconn.zcard(keys.pending()) == 0


async def test_sweep_takes_only_stale_undecided_comments(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    old, new = [
        await submit(client, name="A", email="a@example.com", comment=text)
        for text in ("first", "second")
    ]
    comments = queue(rconn, settings)
    rconn.delete(comments.key)  # as if both jobs were lost
    rconn.zadd(keys.pending(), {old: time.time() - 3600})

    rconn.set(keys.sweep_lock(), "1")  # another sweeper is at work
    assert sweep(rconn, settings, time.time(), 600) == 0
    rconn.delete(keys.sweep_lock())

    assert sweep(rconn, settings, time.time(), 600) == 1
    assert comments.get_job_ids() == [keys.process_job(old)]
    assert sweep(rconn, settings, time.time(), 600) == 0  # not again within the period
    await drain(settings)
    assert rconn.zrange(keys.pending(), 0, -1) == [new.encode()]


async def test_a_comment_erased_before_processing_leaves_nothing_pending(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    cid = await submit(client, name="A", email="a@example.com", comment="Hello there")
    rconn.delete(keys.comment(cid))
    await drain(settings)
    assert rconn.zcard(keys.pending()) == 0
    assert sweep(rconn, settings, time.time() + 3600, 0) == 0
