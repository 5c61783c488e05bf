"""`comments worker`: one RQ worker, or a supervised pool of them, with the scheduler on."""

from __future__ import annotations

import redis
from rq.serializers import JSONSerializer
from rq.worker import BaseWorker
from rq.worker_pool import WorkerPool

from service.core.settings import Settings
from service.queueing.queues import all_queues
from workers import runtime
from workers.sweep import Sweeper

# Both store failures redacted (runtime.RedactedFailures), in a pool as well.
WORKER_CLASSES: dict[str, type[BaseWorker]] = {
    "simple": runtime.RedactingSimpleWorker,
    "fork": runtime.RedactingForkWorker,
}


def run_workers(settings: Settings, processes: int, burst: bool, kind: str) -> None:
    """Run until SIGTERM/SIGINT (warm shutdown: the current job finishes) or, with burst,
    until the queue is empty."""
    assert settings.redis_url
    conn = redis.Redis.from_url(settings.redis_url)
    queues = [queue.name for queue in all_queues(conn, settings)]
    runtime.from_environment()  # loaded once, before workers fork
    if not burst:
        Sweeper(settings).start()
    worker_class = WORKER_CLASSES[kind]
    if processes == 1:
        worker = worker_class(queues, connection=conn, serializer=JSONSerializer)
        # The scheduler is what moves retried jobs back onto the queue after their backoff.
        worker.work(burst=burst, with_scheduler=True, logging_level=settings.log_level)
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
