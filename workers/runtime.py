"""What job functions run with: the settings and the text model of the worker running them.

A worker process started by `comments worker` reads both once from its environment. A worker
embedded in another process (the tests, which drain queues in-process) brings its own, so the
same job code runs with settings passed in rather than patched into globals.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rq import SimpleWorker, Worker
from rq.job import Job
from rq.queue import Queue
from rq.timeouts import TimerDeathPenalty
from rq.worker import BaseWorker

from service.core.redaction import redact
from service.core.settings import Settings
from service.core.signing import Signer
from workers.learning import ModelSource
from workers.textmodel import TextModel


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    models: ModelSource
    signer: Signer

    @classmethod
    def of(cls, settings: Settings, baseline: TextModel | None = None) -> Runtime:
        return cls(
            settings,
            ModelSource(baseline or TextModel.load()),
            Signer(settings.secret_key, settings.old_secret_keys),
        )


_active: contextvars.ContextVar[Runtime | None] = contextvars.ContextVar("runtime", default=None)


@functools.cache
def from_environment() -> Runtime:
    """The runtime of a `comments worker` process, loaded once: forked work-horses and pool
    workers inherit it instead of loading the model again for every job."""
    return Runtime.of(Settings.from_env())


def current() -> Runtime:
    return _active.get() or from_environment()


@contextmanager
def using(runtime: Runtime) -> Iterator[None]:
    token = _active.set(runtime)
    try:
        yield
    finally:
        _active.reset(token)


class RedactedFailures(BaseWorker):
    """Stores a failed job's exception text redacted, as the logs are.

    RQ keeps that text (compressed, for the failure TTL) in the job, the failed registry and
    the job's results stream, and `comments status` shows it. Delivery code raises errors
    that never quote an address; this catches whatever else might. Every way RQ records a
    failure (a job that raised, a killed work-horse, a stuck job) passes through
    `handle_job_failure`."""

    def handle_job_failure(
        self,
        job: Job,
        queue: Queue,
        started_job_registry: Any = None,
        exc_string: str = "",
        execution: Any = None,
    ) -> None:
        super().handle_job_failure(job, queue, started_job_registry, redact(exc_string), execution)


class RedactingSimpleWorker(RedactedFailures, SimpleWorker):
    """`comments worker --worker-class simple`: jobs run in the worker process."""


class RedactingForkWorker(RedactedFailures, Worker):
    """`comments worker --worker-class fork`: each job runs in a forked work-horse."""


class EmbeddedWorker(RedactingSimpleWorker):
    """A worker that runs jobs in the calling thread of a process that owns its signals and
    its settings. Job timeouts use a timer thread instead of SIGALRM."""

    death_penalty_class = TimerDeathPenalty

    def __init__(self, *args: Any, runtime: Runtime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.runtime = runtime

    def _install_signal_handlers(self) -> None:
        """The host process keeps its own SIGINT/SIGTERM handling (and may not be the main
        thread, where only handlers can be installed)."""

    def execute_job(self, job: Job, queue: Queue) -> None:
        with using(self.runtime):
            super().execute_job(job, queue)
