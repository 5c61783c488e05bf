"""Operator views and fixes: `comments status`, `requeue-failed`, `purge-failed`."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

import redis
from rq import Worker
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer

from service.core import keys
from service.core.redaction import redact
from service.core.settings import Settings
from service.queueing.queues import all_queues


def status(conn: redis.Redis, settings: Settings) -> dict[str, object]:
    """Everything an operator checks first, as plain data (printed or served as JSON)."""
    now = time.time()
    report: dict[str, object] = {"queues": {}}
    for queue in all_queues(conn, settings):
        ids = queue.get_job_ids(0, 1)  # (offset, length); registries take (start, end)
        oldest = Job.fetch(ids[0], connection=conn, serializer=JSONSerializer) if ids else None
        failed = queue.failed_job_registry
        reasons: Counter[str] = Counter()
        for job in Job.fetch_many(
            failed.get_job_ids(0, 199), connection=conn, serializer=JSONSerializer
        ):
            if job is not None:
                reasons[_failure_reason(job)] += 1
        report["queues"][queue.name] = {  # type: ignore[index]
            "depth": queue.count,
            "oldest_job_age_s": round(now - oldest.enqueued_at.timestamp(), 1)
            if oldest and oldest.enqueued_at
            else None,
            "started": queue.started_job_registry.count,
            "scheduled": queue.scheduled_job_registry.count,
            "failed": failed.count,
            "failed_by_reason": dict(reasons.most_common(10)),
        }
    workers = Worker.all(connection=conn)
    report["workers"] = [{"name": w.name, "state": str(w.get_state())} for w in workers]
    oldest_pending = conn.zrange(keys.pending(), 0, 0, withscores=True)
    report["oldest_undecided_comment_age_s"] = (
        round(now - float(oldest_pending[0][1]), 1) if oldest_pending else None
    )
    report["held"] = conn.zcard(keys.held())
    report["spam_folder"] = conn.zcard(keys.spam_folder())
    return report


def _failure_reason(job: Job) -> str:
    """The last line of the job's traceback, redacted: workers store failures redacted, but
    jobs failed by older code or another process's workers may still quote an address."""
    result = job.latest_result()
    text = (result.exc_string if result is not None else None) or "unknown"
    last = text.strip().splitlines() or ["unknown"]
    return redact(last[-1])[:120]


def requeue_failed(conn: redis.Redis, settings: Settings) -> int:
    return _each_failed(conn, settings, lambda registry, job_id: registry.requeue(job_id))


def purge_failed(conn: redis.Redis, settings: Settings) -> int:
    return _each_failed(
        conn, settings, lambda registry, job_id: registry.remove(job_id, delete_job=True)
    )


def _each_failed(
    conn: redis.Redis, settings: Settings, act: Callable[[FailedJobRegistry, str], object]
) -> int:
    count = 0
    for queue in all_queues(conn, settings):
        registry = queue.failed_job_registry
        for job_id in registry.get_job_ids():
            act(registry, job_id)
            count += 1
    return count
