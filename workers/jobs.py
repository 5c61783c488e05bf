"""RQ job functions: thin, idempotent, ids in and out (RQ stores arguments in clear)."""

from __future__ import annotations

import functools
import time

from rq import get_current_job

from service.settings import Settings
from workers import decisions
from workers.textmodel import TextModel


@functools.cache
def _runtime() -> tuple[Settings, TextModel]:
    """Settings and the text model, loaded once per worker process."""
    return Settings.from_env(), TextModel.load()


def process_comment(comment_id: str) -> str:
    """Score and decide an accepted comment; returns its final status. Idempotent."""
    job = get_current_job()
    assert job is not None, "process_comment runs inside an RQ worker"
    settings, model = _runtime()
    return decisions.process(job.connection, comment_id, model, settings, time.time())
