"""Sustained mixed load: 20 thread reads per post for 60 s, with workers deciding.

Prints reads/s and posts/s, latency percentiles, queue depth over time, each process's RSS at
start and end, and comments decided per second. BENCH_MIXED_WORKERS worker processes
(default 2) and BENCH_MIXED_SECONDS (default 60) change the set-up. Targets: reads >= 5,000/s,
the queue not growing without bound, API RSS growth under 10 %.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import redis

from service.core import keys
from service.core.form_token import TokenCheck
from service.core.records import RequestMeta, new_record
from service.core.sealing import EmailVault
from service.core.settings import Settings
from service.core.validation import Submission
from service.entry.embedded_redis import RedisServer, free_port
from service.queueing.queues import queue
from service.store import migrations, moderation
from service.store.intake import store_batch
from tests.bench.intake import SECRET, bench_env, start, stop, wait_ready

HERE = Path(__file__).resolve().parent
SECONDS = int(os.environ.get("BENCH_MIXED_SECONDS", "60"))
# Two worker processes: one cannot keep up with the posts on 2 cores while the API holds one.
WORKERS = int(os.environ.get("BENCH_MIXED_WORKERS", "2"))


def seed_thread(conn: redis.Redis, settings: Settings, n: int = 100) -> None:
    vault, records = EmailVault(SECRET), {}
    for i in range(n):
        sub = Submission(
            "bench-thread",
            f"Reader {i}",
            f"seed{i}@example.com",
            f"Seeded comment {i}: a reasonable view on the lunar station plans.",
        )
        meta = RequestMeta("10.1.0.1", "bench", "", time.time(), TokenCheck("valid", 60.0))
        cid = keys.new_comment_id("bench-thread")
        records[cid] = new_record(cid, sub, meta, vault)
    store_batch(conn, settings, records)
    conn.delete(queue(conn, settings).key, keys.pending())  # approved directly below
    for cid in records:
        outcome = moderation.apply(conn, settings, cid, "approve", "bench")
        assert outcome.result == moderation.DONE, outcome


def decided(conn: redis.Redis) -> int:
    return int(
        conn.zcard(keys.held())
        + conn.zcard(keys.spam_folder())
        + conn.zcard(keys.thread("bench-thread"))
    )


def rss(pid: int) -> float:
    """Of the process and its children (a worker pool's work horses)."""
    proc = psutil.Process(pid)
    return float(sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)])) / 2**20


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp, RedisServer(Path(tmp) / "redis") as server:
        settings = Settings(mode="production", redis_url=server.url, secret_key=SECRET)
        env = bench_env(server.url)
        conn = redis.Redis.from_url(server.url)
        migrations.ensure_readable(conn)  # as a fresh start does, before the seed writes
        seed_thread(conn, settings)
        port = free_port()
        api = start(["service.entry.cli", "api", "--host", "127.0.0.1", "--port", str(port)], env)
        worker = start(["service.entry.cli", "worker", "--processes", str(WORKERS)], env)
        redis_pid = server.process.pid if server.process else 0
        try:
            wait_ready(f"http://127.0.0.1:{port}/readyz")
            procs = {"api": api.pid, "worker": worker.pid, "redis": redis_pid}
            # Warm-up first, so "start" memory is the steady state, not the import footprint.
            subprocess.run(
                [
                    "wrk",
                    "-t1",
                    "-c64",
                    "-d5s",
                    "-s",
                    str(HERE / "mixed.lua"),
                    f"http://127.0.0.1:{port}",
                ],
                capture_output=True,
                check=True,
            )
            rss_start = {name: rss(pid) for name, pid in procs.items()}
            decided_start = decided(conn)
            load = subprocess.Popen(
                [
                    "wrk",
                    "-t1",
                    "-c64",
                    f"-d{SECONDS}s",
                    "-s",
                    str(HERE / "mixed.lua"),
                    f"http://127.0.0.1:{port}",
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            depths = []
            for t in range(0, SECONDS, 10):
                time.sleep(10)
                depths.append((t + 10, int(conn.llen(queue(conn, settings).key))))
            out, _ = load.communicate()
            rss_end = {name: rss(pid) for name, pid in procs.items()}
            made = decided(conn) - decided_start
        finally:
            stop(api)
            stop(worker)
        conn.close()
    line = next(ln for ln in out.splitlines() if ln.startswith("RESULT "))
    r = json.loads(line.removeprefix("RESULT "))
    seconds = r["duration_us"] / 1e6
    print(
        f"\nMixed load: wrk 1 thread, 64 connections, {SECONDS} s, 20 reads of a 100-comment "
        f"thread per post, {WORKERS} worker process(es), Redis AOF everysec, "
        f"{os.cpu_count()} cores\n"
    )
    print(
        f"thread reads: {r['reads'] / seconds:,.0f}/s (target >= 5,000)   "
        f"posts accepted: {r['posts'] / seconds:,.0f}/s   other answers: {r['bad']}"
    )
    print(
        f"latency, all requests: p50 {r['p50_us'] / 1000:.2f} ms, p99 {r['p99_us'] / 1000:.2f} ms, "
        f"max {r['max_us'] / 1000:.1f} ms"
    )
    print(f"comments decided: {made / seconds:,.0f}/s")
    print("queue depth every 10 s: " + ", ".join(f"{t}s={d}" for t, d in depths))
    for name in rss_start:
        growth = (rss_end[name] - rss_start[name]) / rss_start[name]
        print(f"RSS {name:7}: {rss_start[name]:6.1f} -> {rss_end[name]:6.1f} MiB ({growth:+.1%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
