"""The safety net under RQ: re-enqueue comments that stayed pending too long.

RQ recovers a job whose worker died only after the job's heartbeat expires and a later
maintenance pass (minutes), and a job lost between dequeue and start takes two passes. The
sweep makes the guarantee ours: any comment still undecided after `stale_after_s` is enqueued
again. Deciding is idempotent, so a duplicate run is harmless.
"""

from __future__ import annotations

import logging
import threading
import time

import redis

from service.core import keys
from service.core.settings import Settings
from service.queueing import jobs
from service.store import connections
from service.store.privacy_data import forget_request_metadata
from workers import akismet, digests, learning
from workers.textmodel import TextModel

log = logging.getLogger(__name__)
BATCH = 500


def sweep(conn: redis.Redis, settings: Settings, now: float, stale_after_s: float) -> int:
    """Re-enqueue comments pending longer than stale_after_s; returns how many."""
    # One sweeper at a time across all workers; the lock expires if its holder dies.
    if not conn.set(keys.sweep_lock(), "1", nx=True, ex=60):
        return 0
    try:
        stale = [
            v.decode() if isinstance(v, bytes) else str(v)
            for v in conn.zrangebyscore(keys.pending(), "-inf", now - stale_after_s, 0, BATCH)
        ]
        if not stale:
            return 0
        with conn.pipeline(transaction=True) as pipe:
            jobs.enqueue(conn, settings, jobs.PROCESS_COMMENT, stale, pipeline=pipe)
            # Not again until another full period has passed.
            pipe.zadd(keys.pending(), dict.fromkeys(stale, now), xx=True)
            pipe.execute()
        log.warning("sweep re-enqueued %d comments pending over %.0f s", len(stale), stale_after_s)
        return len(stale)
    finally:
        conn.delete(keys.sweep_lock())


class Sweeper(threading.Thread):
    """Beside a worker, every `interval_s`: the sweep, IP retention and online learning.
    A daemon thread: it dies with the worker; locks keep one of each running cluster-wide."""

    def __init__(self, settings: Settings, interval_s: float = 60.0) -> None:
        super().__init__(name="sweeper", daemon=True)
        self.settings, self.interval_s = settings, interval_s
        self.stopped = threading.Event()

    def run(self) -> None:
        conn = connections.sync_client(self.settings)
        baseline, replay = TextModel.load(), learning.replay_examples()
        akismet.announce(self.settings)
        while not self.stopped.wait(self.interval_s):
            try:
                sweep(conn, self.settings, time.time(), self.settings.sweep_after_s)
                retention = self.settings.retention_days * 86400
                forget_request_metadata(conn, time.time() - retention)
                learning.learn(conn, baseline, replay)
                digests.schedule(conn, self.settings, time.time())
            except redis.RedisError as exc:  # Redis down: try again next period
                log.warning("sweep failed: %r", exc)
