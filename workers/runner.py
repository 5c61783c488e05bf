"""`comments worker`: one RQ worker, or a supervised pool of them, with the scheduler on."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import redis
from rq.exceptions import StopRequested
from rq.serializers import JSONSerializer
from rq.worker import BaseWorker
from rq.worker_pool import WorkerPool

from service.core import redis_urls
from service.core.settings import Settings, SettingsError
from service.queueing.queues import all_queues
from service.store import connections, migrations
from workers import runtime
from workers.sweep import Sweeper

log = logging.getLogger(__name__)
# Between a worker that quit because Redis failed and the next one.
RESTART_PAUSE_S = 1.0
# Both store failures redacted (runtime.RedactedFailures), in a pool as well.
WORKER_CLASSES: dict[str, type[BaseWorker]] = {
    "simple": runtime.RedactingSimpleWorker,
    "fork": runtime.RedactingForkWorker,
}


def run_workers(settings: Settings, processes: int, burst: bool, kind: str) -> None:
    """Run until SIGTERM/SIGINT (warm shutdown: the current job finishes) or, with burst,
    until the queue is empty."""
    if kind == "fork" and settings.redis_url and redis_urls.is_sentinel(settings.redis_url):
        # RQ's work-horse rebuilds a plain client from the parent's connection arguments,
        # which cannot say "ask the Sentinels": it would not find the primary.
        raise SettingsError("--worker-class fork does not work with redis+sentinel://; use simple")
    # Behind Sentinel, RQ's pool workers and scheduler rebuild their clients from this one's
    # arguments, which carry the Sentinel lookup along: after a failover they reconnect to
    # the promoted primary by themselves.
    conn = connections.sync_client(settings)
    migrations.require_readable(conn, "the worker")  # never against data it cannot read
    queues = [queue.name for queue in all_queues(conn, settings)]
    runtime.from_environment()  # loaded once, before workers fork
    if not burst:
        Sweeper(settings).start()
    worker_class = WORKER_CLASSES[kind]
    if processes == 1:
        _work(
            lambda: worker_class(queues, connection=conn, serializer=JSONSerializer),
            settings,
            burst,
        )
        return
    pool = WorkerPool(
        queues,
        connection=conn,
        num_workers=processes,
        worker_class=worker_class,
        serializer=JSONSerializer,
    )
    # Respawns a worker that dies (unless burst); every worker runs with the scheduler.
    pool.start(burst=burst, logging_level=settings.log_level)


def _work(new_worker: Callable[[], BaseWorker], settings: Settings, burst: bool) -> None:
    """One worker until it is told to stop. RQ's worker quits when Redis fails under it (a
    timeout, or an error while it records a job's end), as it does while Sentinel promotes a
    replica: a worker that was not told to stop is started again, after a pause, and it
    reconnects. (A pool's workers are restarted by the pool.)"""
    worker: BaseWorker | None = None
    while True:
        try:
            worker = new_worker()  # it talks to Redis already
            # The scheduler is what moves retried jobs back onto the queue after their backoff.
            worker.work(burst=burst, with_scheduler=True, logging_level=settings.log_level)
        except redis.RedisError as exc:
            if burst:
                raise
            log.warning("worker lost Redis (%r); starting again in %.0f s", exc, RESTART_PAUSE_S)
        else:
            if burst or _stop_requested(worker):
                return
            log.warning("worker quit (Redis failed); starting again in %.0f s", RESTART_PAUSE_S)
        if worker is not None and _stop_requested(worker):
            return
        try:
            time.sleep(RESTART_PAUSE_S)
        except StopRequested:  # SIGTERM meanwhile: RQ's handler is still installed
            return


def _stop_requested(worker: BaseWorker) -> bool:
    """Whether SIGTERM/SIGINT asked the worker to stop (RQ records when, on every such
    signal, busy or idle; it has no public accessor)."""
    return getattr(worker, "_shutdown_requested_date", None) is not None
