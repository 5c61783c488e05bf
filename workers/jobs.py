"""RQ job functions: thin, idempotent, ids in and out (RQ stores arguments in clear)."""

from __future__ import annotations

import logging
import time

from rq import get_current_job

from service import keys

log = logging.getLogger(__name__)


def process_comment(comment_id: str) -> str:
    """Take an accepted comment through processing; safe to run any number of times.

    Scoring and the approve/hold/spam decision are not built yet: the comment is marked
    processed and stays pending (unpublished) until a decision exists.
    """
    job = get_current_job()
    assert job is not None, "process_comment runs inside an RQ worker"
    conn = job.connection
    key = keys.comment(comment_id)
    if not conn.exists(key):
        log.info("comment %s no longer exists; nothing to do", comment_id)
        return "missing"
    # HSETNX: a retried or duplicated job keeps the first processing time.
    conn.hsetnx(key, "processed_at", f"{time.time():.6f}")
    return "processed"
