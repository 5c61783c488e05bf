"""Worker throughput: comments decided per second beside RQ's no-op ceiling, same run.

For each worker class (forking Worker, non-forking SimpleWorker) and 1 and 2 processes, fills
the queue and times `comments worker --burst` draining it: once with real accepted comments
(scored, decided, written), once with no-op jobs. Process start-up is measured with an empty
queue and subtracted.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

from service.core import keys
from service.core.form_token import TokenCheck
from service.core.records import RequestMeta, new_record
from service.core.sealing import EmailVault
from service.core.settings import Settings
from service.core.validation import Submission
from service.entry.embedded_redis import RedisServer
from service.queueing.jobs import PROCESS_COMMENT
from service.queueing.queues import queue
from service.store.intake import store_batch
from tests.bench.intake import SECRET, bench_env

TEXTS = [
    "Cooperation between the agencies makes sense given how expensive landers are.",
    "The 1960s comparison is overdone; the budgets are nothing alike.",
    "Check out my channel for more space videos!!! subscribe",
    "I would like to see the docking standards they intend to use.",
]


def noop(value: str) -> str:
    return value


def fill_comments(conn: redis.Redis, settings: Settings, n: int) -> None:
    vault = EmailVault(SECRET)
    for start in range(0, n, 250):
        records = {}
        for i in range(start, min(n, start + 250)):
            article = f"bench-article-{i % 50}"
            sub = Submission(article, f"Reader {i}", f"reader{i}@example.com", TEXTS[i % 4])
            meta = RequestMeta(
                f"10.0.{i // 250}.{i % 250}",
                "bench",
                "",
                time.time(),
                TokenCheck("valid", 60.0, f"nonce{i}"),
            )
            cid = keys.new_comment_id(article)
            records[cid] = new_record(cid, sub, meta, vault)
        store_batch(conn, settings, records)


def fill_noop(conn: redis.Redis, settings: Settings, n: int) -> None:
    """No-op jobs queued as comment jobs are (same queue, timeout, retries, result TTL)."""
    lane = queue(conn, settings, PROCESS_COMMENT.lane)
    for start in range(0, n, 250):
        jobs = [
            PROCESS_COMMENT.prepare(str(i), settings)._replace(
                func="tests.bench.workers.noop", job_id=f"noop-{i}"
            )
            for i in range(start, min(n, start + 250))
        ]
        with conn.pipeline(transaction=True) as pipe:
            lane.enqueue_many(jobs, pipeline=pipe)
            pipe.execute()


def drain(env: dict[str, str], kind: str, processes: int) -> float:
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "service.entry.cli",
            "worker",
            "--burst",
            "--worker-class",
            kind,
            "--processes",
            str(processes),
        ],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp, RedisServer(Path(tmp) / "redis") as server:
        settings = Settings(mode="production", redis_url=server.url, secret_key=SECRET)
        env = bench_env(server.url)
        conn = redis.Redis.from_url(server.url)
        print(
            f"\nWorker benchmark: {os.cpu_count()} cores, Redis AOF everysec; "
            "start-up (empty queue) subtracted\n"
        )
        print(
            f"{'worker':8}{'procs':>6}{'jobs':>7}{'no-op jobs/s':>14}{'comments/s':>12}"
            f"{'of ceiling':>12}"
        )
        for kind, n in (("simple", 2000), ("fork", 400)):
            for processes in (1, 2):
                idle = drain(env, kind, processes)
                fill_noop(conn, settings, n)
                noop_rate = n / max(drain(env, kind, processes) - idle, 1e-3)
                fill_comments(conn, settings, n)
                comment_rate = n / max(drain(env, kind, processes) - idle, 1e-3)
                pending = conn.zcard(keys.pending())
                assert pending == 0, f"{pending} comments left undecided"
                print(
                    f"{kind:8}{processes:6d}{n:7d}{noop_rate:14,.0f}{comment_rate:12,.0f}"
                    f"{comment_rate / noop_rate:12.0%}"
                )
                conn.flushall()
        conn.close()
    print("target: comments/s >= 70 % of the no-op ceiling for the same worker class and count")
    return 0


if __name__ == "__main__":
    sys.exit(main())
